"""The rules of the world as `@njit` kernels over a batch of envs.

`step_serial` / `step_parallel(s, P, costs, actions)` advance every env of `s` one step in
place: agents act in a fresh random order from the env's RNG, then bodies and objects tick,
then finished envs reset, then observations are written. `reset_batch` starts new episodes.
Serial and parallel (`prange` over envs) drivers share the same per-env functions, so one env
stepped alone gives exactly what it gives inside a batch. The drivers first check every
action id and step nothing if one is outside the action set (`World.step` raises).

Every agent pays `metabolism` each step; an action's cost comes on top (costs are paid
before the effect; an agent that cannot pay does a noop). Costs are per agent slot
(`costs[i, a]`: a body may set its own move and attack costs); caps on energy and diamonds,
and a hit's freeze and shield drain, are the agent's body's (`body_*` arrays; the world's
numbers when there are no bodies).

Turn of agent i, action a:
  frozen            loses the turn (its frozen countdown drops by one); when the last frozen
                    turn is lost, i is immune for its next `freeze_immunity` turns
  forward / back    moves one cell if it is empty floor with no agent (sprint: up to
                    `sprint_cells`, stopping at the first blocked one; rest: only on steps
                    that are multiples of `rest_move_period`)
  turn_left/right   rotates
  use               mine in front: take a diamond (if the mine has one and i has room)
                    charger in front, ready: one diamond -> `charger_energy` energy
                    altar in front, ready: pays `altar_cost` energy -> one heart, reward
                    converter in front, ready: its recipe, if i holds the inputs and the
                    energy and has room for the outputs; then it rests `cooldown` steps
                    (a guard does not mine)
  attack            agent j in front: shield up -> j loses `shield_hit_drain` energy (shield
                    drops at 0 energy; the loss counts as j's energy spent); shield down and j
                    neither frozen nor immune -> j frozen `freeze_steps` turns and i takes as
                    many of j's diamonds as it can carry; a frozen or immune j is not hit again
                    (its freeze never restarts, so it always gets turns back to raise a shield)
  shield            toggles the shield
  share_energy      gives min(share_amount, own energy, room) energy to the agent in front;
                    it receives share_efficiency x that (rounded down)
  share_diamond     gives one diamond to the agent in front if it has room
  mate              chooses the agent in front; mutual choices within `mate_window` steps
                    form a bond if each accepts the other's signal (>= own choosiness) and
                    each pays `mate_cost`; attacking one's mate ends the bond
  signal            pays `signal_cost` to raise the visible signal one level
  mark_c            puts a marker of colour c on the floor cell in front; it is seen in the
                    next `marker_ttl` observations (markers drawn in an ASCII map never fade)
  posture_p         switches to posture p (stand, rest, guard, sprint)
  build             puts a block on the empty agent-free floor in front for `block_cost`
                    units of `block_resource`
  destroy           removes the block in front (never a map wall), refunding `block_refund`
                    units as far as i has room
End of step: metabolism (rest: `rest_metabolism`), shield upkeep (guard:
`guard_shield_upkeep`), signal decay; mines regrow, cooldowns (converters' too) and markers
count down; the rewards agents learn from are shared with kin and mates (kinship.sharing).
Observation: a mine reads 1 + its diamonds (0 where there is no mine).
"""

import numpy as np
from numba import njit, prange

from kinship.sharing import share_rewards, share_with_mates
from world import layout as L
from world.maps import build_map, place_agents
from world.rng import randint

# Posture ids (world.config.POSTURES).
STAND, REST, GUARD, SPRINT = 0, 1, 2, 3


@njit(cache=True, inline="always")
def _spend(s, b, i, amount):
    s.energy[b, i] -= amount
    s.counters[b, i, L.C_ENERGY_SPENT] += amount


@njit(cache=True)
def reset_env(s, P, b):
    """Start a new episode in env b: map, objects, agents, and the first observation."""
    build_map(s, P, b)
    place_agents(s, P, b)
    for i in range(P.n_agents):
        s.energy[b, i] = min(P.start_energy, s.body_max_energy[b, i])
        s.diamonds[b, i] = 0
        s.posture[b, i] = 0
        for r in range(P.n_resources):
            s.inventory[b, i, r] = 0
        s.hearts[b, i] = 0
        s.shield[b, i] = 0
        s.frozen[b, i] = 0
        s.immune[b, i] = 0
        s.signal[b, i] = 0
        s.signal_timer[b, i] = 0
        s.bond[b, i] = -1
        s.mate_target[b, i] = -1
        s.mate_step[b, i] = -1
        s.acted[b, i] = L.NOOP
    s.step[b] = 0
    s.episode[b] += 1


@njit(cache=True)
def _try_bond(s, P, b, i, j):
    """i has just chosen j. A bond forms if j chose i within `mate_window` steps, neither is
    bonded, each accepts the other's signal (signal >= own choosiness) and each can pay."""
    if s.bond[b, i] >= 0 or s.bond[b, j] >= 0:
        return
    if s.mate_target[b, j] != i or s.step[b] - s.mate_step[b, j] > P.mate_window:
        return
    i_accepts = s.signal[b, j] >= s.choosiness[b, i]
    j_accepts = s.signal[b, i] >= s.choosiness[b, j]
    if not (i_accepts and j_accepts):
        if not i_accepts:
            s.counters[b, i, L.C_MATES_REFUSED] += 1
        if not j_accepts:
            s.counters[b, j, L.C_MATES_REFUSED] += 1
        return
    if s.energy[b, i] < P.mate_cost or s.energy[b, j] < P.mate_cost:
        return
    _spend(s, b, i, P.mate_cost)
    _spend(s, b, j, P.mate_cost)
    s.bond[b, i] = j
    s.bond[b, j] = i
    s.mate_target[b, i] = -1
    s.mate_target[b, j] = -1
    s.counters[b, i, L.C_BONDS_FORMED] += 1
    s.counters[b, j, L.C_BONDS_FORMED] += 1
    k = s.bond_log_len[b]
    if k < s.bond_log.shape[1]:
        s.bond_log[b, k, 0] = s.episode[b]
        s.bond_log[b, k, 1] = s.step[b]
        s.bond_log[b, k, 2] = min(i, j)
        s.bond_log[b, k, 3] = max(i, j)
    s.bond_log_len[b] = k + 1


@njit(cache=True)
def _convert(s, P, b, i, k, ty, tx):
    """Agent i uses converter kind k at (ty, tx): when it is ready and i holds the recipe's
    inputs and energy and has room for its outputs, inputs become outputs exactly."""
    if s.timer[b, ty, tx] != 0 or s.energy[b, i] < s.recipe_energy_cost[k]:
        return
    for r in range(P.n_resources):
        have = s.inventory[b, i, r] - s.recipe_inputs[k, r]
        if have < 0 or have + s.recipe_outputs[k, r] > s.resource_max[r]:
            return
    _spend(s, b, i, s.recipe_energy_cost[k])
    for r in range(P.n_resources):
        used, made = s.recipe_inputs[k, r], s.recipe_outputs[k, r]
        s.inventory[b, i, r] += made - used
        s.resources_used[b, i, r] += used
        s.resources_made[b, i, r] += made
        s.rewards[b, i] += made * s.resource_reward[r]
        if s.resource_heart[r] and made > 0:
            s.hearts[b, i] += made
            s.counters[b, i, L.C_HEARTS] += made
            s.counters[b, i, L.C_HEART_STEPS] += made * s.step[b]
    s.energy[b, i] = min(s.body_max_energy[b, i], s.energy[b, i] + s.recipe_energy_gain[k])
    s.converter_uses[b, i, k] += 1
    s.timer[b, ty, tx] = s.recipe_cooldown[k]


@njit(cache=True)
def _build(s, P, b, i, ty, tx):
    """Agent i puts a block on the empty, agent-free floor cell in front, paying `cost` units
    of `block_resource` (diamonds or a resource)."""
    if s.grid[b, ty, tx] != L.EMPTY or s.agent_at[b, ty, tx] >= 0:
        return
    r = P.block_resource_index
    if r < 0:
        if s.diamonds[b, i] < P.block_cost:
            return
        s.diamonds[b, i] -= P.block_cost
    else:
        if s.inventory[b, i, r] < P.block_cost:
            return
        s.inventory[b, i, r] -= P.block_cost
    s.grid[b, ty, tx] = L.BLOCK
    s.marker[b, ty, tx] = -1  # a block covers the marker
    s.marker_ttl[b, ty, tx] = 0
    s.blocks_built[b, i] += 1


@njit(cache=True)
def _destroy(s, P, b, i, ty, tx):
    """Agent i removes the block in front (map walls stay) and gets back `refund` units, as
    many as it has room for. A block drawn in the map refunds too: it is a deposit the map
    placed, as a mine's diamonds are."""
    if s.grid[b, ty, tx] != L.BLOCK:
        return
    s.grid[b, ty, tx] = L.EMPTY
    r = P.block_resource_index
    if r < 0:
        back = min(P.block_refund, s.body_max_inventory[b, i] - s.diamonds[b, i])
        s.diamonds[b, i] += back
    else:
        back = min(P.block_refund, s.resource_max[r] - s.inventory[b, i, r])
        s.inventory[b, i, r] += back
    s.block_refunds[b, i] += back
    s.blocks_destroyed[b, i] += 1


@njit(cache=True)
def _act(s, P, b, i, a):
    """Carry out action a of agent i (already paid for)."""
    f = s.facing[b, i]
    if a == L.FORWARD or a == L.BACK:
        d = f if a == L.FORWARD else (f + 2) % 4
        cells = 1
        if P.postures_on:
            if s.posture[b, i] == REST and s.step[b] % P.rest_move_period != 0:
                return
            if s.posture[b, i] == SPRINT:
                cells = P.sprint_cells
        for _ in range(cells):  # a sprint stops at the first blocked cell
            ny, nx = s.ay[b, i] + L.DY[d], s.ax[b, i] + L.DX[d]
            if s.grid[b, ny, nx] != L.EMPTY or s.agent_at[b, ny, nx] >= 0:
                return
            s.agent_at[b, s.ay[b, i], s.ax[b, i]] = -1
            s.agent_at[b, ny, nx] = i
            s.ay[b, i] = ny
            s.ax[b, i] = nx
        return
    if a == L.TURN_LEFT:
        s.facing[b, i] = (f + 3) % 4
        return
    if a == L.TURN_RIGHT:
        s.facing[b, i] = (f + 1) % 4
        return
    if a == L.SHIELD:
        s.shield[b, i] = 1 - s.shield[b, i]
        return
    if a == L.SIGNAL:
        if s.signal[b, i] < P.max_signal and s.energy[b, i] >= P.signal_cost:
            _spend(s, b, i, P.signal_cost)
            s.counters[b, i, L.C_SIGNAL_SPENT] += P.signal_cost
            s.signal[b, i] += 1
            s.signal_timer[b, i] = 0
        return

    ty, tx = s.ay[b, i] + L.DY[f], s.ax[b, i] + L.DX[f]
    j = s.agent_at[b, ty, tx]
    cell = s.grid[b, ty, tx]
    if a == L.USE:
        if cell == L.MINE:
            if P.postures_on and s.posture[b, i] == GUARD:
                return  # guards do not mine
            if s.mine_count[b, ty, tx] > 0 and s.diamonds[b, i] < s.body_max_inventory[b, i]:
                s.mine_count[b, ty, tx] -= 1
                s.diamonds[b, i] += 1
                s.counters[b, i, L.C_MINED] += 1
        elif cell == L.CHARGER:
            if s.timer[b, ty, tx] == 0 and s.diamonds[b, i] > 0:
                s.diamonds[b, i] -= 1
                s.energy[b, i] = min(s.body_max_energy[b, i], s.energy[b, i] + P.charger_energy)
                s.counters[b, i, L.C_CONVERTED] += 1
                s.timer[b, ty, tx] = P.charger_cooldown
        elif cell == L.ALTAR:
            if s.timer[b, ty, tx] == 0 and s.energy[b, i] >= P.altar_cost:
                _spend(s, b, i, P.altar_cost)
                s.hearts[b, i] += 1
                s.counters[b, i, L.C_HEARTS] += 1
                s.counters[b, i, L.C_HEART_STEPS] += s.step[b]
                s.rewards[b, i] += P.heart_reward
                s.timer[b, ty, tx] = P.altar_cooldown
        elif cell >= L.CONVERTER0:
            _convert(s, P, b, i, cell - L.CONVERTER0, ty, tx)
    elif a == L.ATTACK:
        if j >= 0:
            s.counters[b, i, L.C_ATTACKS_MADE] += 1
            s.counters[b, j, L.C_ATTACKS_RECEIVED] += 1
            if s.bond[b, i] == j:  # attacking one's mate ends the bond
                s.bond[b, i] = -1
                s.bond[b, j] = -1
                s.counters[b, i, L.C_BONDS_BROKEN] += 1
            if s.shield[b, j] == 1:
                _spend(s, b, j, min(s.energy[b, j], s.body_drain[b, i]))
                s.counters[b, j, L.C_BLOCKED] += 1
                if s.energy[b, j] == 0:
                    s.shield[b, j] = 0
            elif s.frozen[b, j] == 0 and s.immune[b, j] == 0:
                s.frozen[b, j] = s.body_freeze[b, i]
                take = min(s.diamonds[b, j], s.body_max_inventory[b, i] - s.diamonds[b, i])
                s.diamonds[b, j] -= take
                s.diamonds[b, i] += take
                s.counters[b, i, L.C_STOLEN] += take
                s.counters[b, j, L.C_LOST] += take
    elif a == L.SHARE_ENERGY:
        if j >= 0:
            room = s.body_max_energy[b, j] - s.energy[b, j]
            amount = min(P.share_amount, s.energy[b, i])
            if P.share_efficiency > 0.0:  # give no more than the receiver has room for
                amount = min(amount, int(room / P.share_efficiency))
            received = min(int(amount * P.share_efficiency + 1e-9), room)
            s.energy[b, i] -= amount
            s.energy[b, j] += received
            s.counters[b, i, L.C_ENERGY_GIVEN] += amount
            s.counters[b, j, L.C_ENERGY_RECEIVED] += received
            s.energy_given[b, i, j] += amount
    elif a == L.SHARE_DIAMOND:
        if j >= 0 and s.diamonds[b, i] > 0 and s.diamonds[b, j] < s.body_max_inventory[b, j]:
            s.diamonds[b, i] -= 1
            s.diamonds[b, j] += 1
            s.counters[b, i, L.C_DIAMONDS_GIVEN] += 1
            s.counters[b, j, L.C_DIAMONDS_RECEIVED] += 1
            s.diamonds_given[b, i, j] += 1
    elif a == L.MATE:
        s.mate_target[b, i] = j
        s.mate_step[b, i] = s.step[b]
        s.counters[b, i, L.C_MATE_ATTEMPTS] += 1
        if j >= 0:
            _try_bond(s, P, b, i, j)
    elif a < L.MARK0 + P.n_marker_colors:
        if cell == L.EMPTY:
            s.marker[b, ty, tx] = a - L.MARK0
            # one more: this step's own tick counts one down before the first observation
            s.marker_ttl[b, ty, tx] = P.marker_ttl + 1
            s.counters[b, i, L.C_MARKERS] += 1
    elif a == P.act_build:
        _build(s, P, b, i, ty, tx)
    elif a == P.act_destroy:
        _destroy(s, P, b, i, ty, tx)
    else:  # posture_<p>
        s.posture[b, i] = a - P.act_posture0


@njit(cache=True)
def _tick(s, P, b):
    """End of step: bodies pay upkeep, objects regrow and cool down, markers fade."""
    for i in range(P.n_agents):
        metabolism, upkeep = P.metabolism, P.shield_upkeep
        if P.postures_on:
            if s.posture[b, i] == REST:
                metabolism = P.rest_metabolism
            elif s.posture[b, i] == GUARD:
                upkeep = P.guard_shield_upkeep
        _spend(s, b, i, min(s.energy[b, i], metabolism))
        if s.shield[b, i] == 1:
            _spend(s, b, i, min(s.energy[b, i], upkeep))
            s.counters[b, i, L.C_SHIELD_STEPS] += 1
            if s.energy[b, i] == 0:
                s.shield[b, i] = 0
        if P.signal_decay > 0 and s.signal[b, i] > 0:
            s.signal_timer[b, i] += 1
            if s.signal_timer[b, i] >= P.signal_decay:
                s.signal[b, i] -= 1
                s.signal_timer[b, i] = 0
    H, W = P.grid_height, P.grid_width
    for y in range(H):
        for x in range(W):
            cell = s.grid[b, y, x]
            if cell == L.MINE:
                if s.mine_count[b, y, x] < P.mine_max:
                    s.timer[b, y, x] += 1
                    if s.timer[b, y, x] >= P.mine_regen:
                        s.mine_count[b, y, x] += 1
                        s.timer[b, y, x] = 0
            elif cell == L.CHARGER or cell == L.ALTAR or cell >= L.CONVERTER0:
                if s.timer[b, y, x] > 0:
                    s.timer[b, y, x] -= 1
            if s.marker_ttl[b, y, x] > 0:  # 0: no marker, or one drawn in the map
                s.marker_ttl[b, y, x] -= 1
                if s.marker_ttl[b, y, x] == 0:
                    s.marker[b, y, x] = -1


@njit(cache=True, inline="always")
def _cost(s, P, costs, b, i, a):
    """Energy for action a of agent i: its slot's (body's) cost, times the sprint factor for a
    sprinting move."""
    c = costs[i, a]
    if P.postures_on and s.posture[b, i] == SPRINT and (a == L.FORWARD or a == L.BACK):
        c *= P.sprint_cost_factor
    return c


@njit(cache=True)
def step_env(s, P, costs, actions, b):
    """Advance env b one step with `actions[b, i]` (ids already checked by the driver)."""
    N = P.n_agents
    for i in range(N):
        s.rewards[b, i] = 0.0
        s.order[b, i] = i
    s.dones[b] = 0
    for i in range(N - 1, 0, -1):  # Fisher-Yates shuffle: a fresh acting order every step
        k = randint(s.rng, b, i + 1)
        s.order[b, i], s.order[b, k] = s.order[b, k], s.order[b, i]
    for k in range(N):
        i = s.order[b, k]
        a = actions[b, i]
        if s.frozen[b, i] > 0:
            s.frozen[b, i] -= 1
            s.counters[b, i, L.C_FROZEN_STEPS] += 1
            if s.frozen[b, i] == 0:
                s.immune[b, i] = P.freeze_immunity
            a = L.NOOP
        else:
            if s.immune[b, i] > 0:
                s.immune[b, i] -= 1
            if s.energy[b, i] == 0 or s.energy[b, i] < _cost(s, P, costs, b, i, a):
                a = L.NOOP
        s.acted[b, i] = a
        s.counters[b, i, L.C_STEPS] += 1
        s.counters[b, i, L.C_SIGNAL_STEPS] += s.signal[b, i]
        _spend(s, b, i, min(_cost(s, P, costs, b, i, a), s.energy[b, i]))
        if a != L.NOOP:
            _act(s, P, b, i, a)
    _tick(s, P, b)
    share_rewards(
        s.rewards[b], s.kinship[b], s.kin_weight[b], P.reward_sharing, s.learned_rewards[b]
    )
    share_with_mates(s.learned_rewards[b], s.bond[b], P.mate_share)
    s.step[b] += 1
    if s.step[b] >= P.max_steps:
        s.dones[b] = 1
        reset_env(s, P, b)


@njit(cache=True)
def observe_env(s, P, b):
    """Write env b's observations: each agent's (2r+1)^2 window of feature planes, with the
    observer-specific kinship and bond channels, and its own-state vector."""
    r = P.vision_radius
    V = 2 * r + 1
    C = P.n_channels
    H, W = P.grid_height, P.grid_width
    Wp = W + 2 * r
    # Flat views and index arithmetic: no per-cell array views in the hot loops. The padding
    # around the map (walls) was written at reset; only map cells are rewritten.
    feat = s.features[b].reshape(-1)
    for y in range(H):
        base = ((y + r) * Wp + r) * C
        feat[base : base + W * C] = 0
        for x in range(W):
            cell = s.grid[b, y, x]
            k = base + x * C
            if cell == L.WALL:
                feat[k + L.CH_WALL] = 255
            elif cell == L.MINE:
                feat[k + L.CH_MINE] = min(255, 1 + s.mine_count[b, y, x])
            elif cell == L.CHARGER:
                feat[k + L.CH_CHARGER] = 255 if s.timer[b, y, x] == 0 else 128
            elif cell == L.ALTAR:
                feat[k + L.CH_ALTAR] = 255 if s.timer[b, y, x] == 0 else 128
            elif cell == L.BLOCK:
                feat[k + L.CH_WALL] = 255
                if P.ch_block >= 0:
                    feat[k + P.ch_block] = 255
            elif cell >= L.CONVERTER0:
                c = P.ch_converter0 + cell - L.CONVERTER0
                feat[k + c] = 255 if s.timer[b, y, x] == 0 else 128
            if s.marker[b, y, x] >= 0:
                feat[k + L.CH_MARKER] = s.marker[b, y, x] + 1
    N = P.n_agents
    for j in range(N):
        k = ((s.ay[b, j] + r) * Wp + s.ax[b, j] + r) * C
        feat[k + L.CH_AGENT] = 255
        feat[k + L.CH_FACING] = s.facing[b, j] + 1
        feat[k + L.CH_SHIELD] = 255 if s.shield[b, j] == 1 else 0
        feat[k + L.CH_FROZEN] = min(255, s.frozen[b, j])
        feat[k + L.CH_ENERGY] = 1 + min(
            P.energy_buckets - 1,
            s.energy[b, j] * P.energy_buckets // (s.body_max_energy[b, j] + 1),
        )
        feat[k + L.CH_SIGNAL] = min(255, s.signal[b, j])
        if P.postures_on:
            feat[k + P.ch_posture] = s.posture[b, j]
    row = V * C
    for i in range(N):
        y0, x0 = s.ay[b, i], s.ax[b, i]
        dst = s.obs[b, i].reshape(-1)
        for dy in range(V):
            src = ((y0 + dy) * Wp + x0) * C
            dst[dy * row : (dy + 1) * row] = feat[src : src + row]
        for j in range(N):
            dy = s.ay[b, j] - y0 + r
            dx = s.ax[b, j] - x0 + r
            if 0 <= dy < V and 0 <= dx < V:
                k = (dy * V + dx) * C
                dst[k + L.CH_KIN] = np.uint8(min(255.0, max(0.0, s.kinship[b, i, j] * 255.0 + 0.5)))
                if s.bond[b, i] == j:
                    dst[k + L.CH_BONDED] = 255
        if s.body_vision[b, i] < r:
            _blind_beyond(dst, r, s.body_vision[b, i], C)
        v = s.self_obs[b, i]
        v[0] = s.energy[b, i] / s.body_max_energy[b, i]
        v[1] = s.diamonds[b, i] / s.body_max_inventory[b, i]
        v[2] = s.shield[b, i]
        v[3] = s.frozen[b, i] / max(1, P.max_freeze)
        v[4] = s.signal[b, i] / P.max_signal
        for d in range(4):
            v[5 + d] = 1.0 if s.facing[b, i] == d else 0.0
        v[9] = min(1.0, s.hearts[b, i] / 10.0)
        v[10] = s.step[b] / P.max_steps
        if P.postures_on:
            v[P.self_posture] = s.posture[b, i] / 3.0
        for q in range(P.n_resources):
            v[P.self_inventory0 + q] = s.inventory[b, i, q] / s.resource_max[q]


@njit(cache=True)
def _blind_beyond(dst, r, sight, C):
    """Zero every channel of the window cells farther than `sight` from the centre (in the
    larger of the row and column distances): a body's shorter sight."""
    V = 2 * r + 1
    row = V * C
    for dy in range(V):
        if abs(dy - r) > sight:
            dst[dy * row : (dy + 1) * row] = 0
        else:  # the cells left and right of the seen square
            dst[dy * row : dy * row + (r - sight) * C] = 0
            dst[dy * row + (r + sight + 1) * C : (dy + 1) * row] = 0


@njit(cache=True)
def _pad_walls(s, P, b):
    feat = s.features[b]
    feat[:, :, :] = 0
    feat[:, :, L.CH_WALL] = 255


@njit(cache=True)
def reset_batch(s, P, seeds):
    """Seed every env's RNG and start its first episode (serial: resets are rare)."""
    for b in range(s.rng.shape[0]):
        s.rng[b] = seeds[b]
        s.episode[b] = 0
        s.counters[b] = 0
        s.energy_given[b] = 0
        s.diamonds_given[b] = 0
        s.rewards[b] = 0.0
        s.learned_rewards[b] = 0.0
        s.bond_log_len[b] = 0
        s.dones[b] = 0
        _pad_walls(s, P, b)
        reset_env(s, P, b)
        if P.stagger_start:  # the first episode starts part-way, so envs do not reset together
            s.step[b] = randint(s.rng, b, P.max_steps)
        observe_env(s, P, b)


@njit(cache=True)
def _first_bad_action(actions, n_actions):
    """Flat index of the first action id outside [0, n_actions), or -1."""
    n = actions.shape[1]
    for b in range(actions.shape[0]):
        for i in range(n):
            a = actions[b, i]
            if a < 0 or a >= n_actions:
                return b * n + i
    return -1


@njit(cache=True, inline="always")
def _log_short(s, P, b):
    """Is env b's bond log short of room for a step (at most N / 2 bonds form per step; N
    rows leave a margin)?"""
    return s.bond_log.shape[1] - s.bond_log_len[b] < P.n_agents


# The drivers return 0, or -(1 + k) where the flat action index k is outside the action set
# (nothing was stepped), or the number of envs whose bond log `World` must grow.
@njit(cache=True)
def step_serial(s, P, costs, actions):
    """Step every env in the calling thread."""
    bad = _first_bad_action(actions, costs.shape[1])
    if bad >= 0:
        return -1 - bad
    short = 0
    for b in range(s.rng.shape[0]):
        step_env(s, P, costs, actions, b)
        observe_env(s, P, b)
        if _log_short(s, P, b):
            short += 1
    return short


@njit(cache=True, parallel=True)
def step_parallel(s, P, costs, actions):
    """Step envs in parallel, one env per task."""
    bad = _first_bad_action(actions, costs.shape[1])
    if bad >= 0:
        return -1 - bad
    short = 0
    for b in prange(s.rng.shape[0]):
        step_env(s, P, costs, actions, b)
        observe_env(s, P, b)
        if _log_short(s, P, b):
            short += 1
    return short
