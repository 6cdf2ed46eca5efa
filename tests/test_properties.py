"""Invariants over random maps and random actions (hypothesis)."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from world import World, WorldConfig
from world import layout as L

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def bodies(draw):
    """0-3 body profiles, each field left out or drawn."""
    out = []
    for k in range(draw(st.integers(0, 3))):
        body = {"name": f"b{k}"}
        for field, values in (
            ("move_cost", st.integers(0, 3)),
            ("attack_cost", st.integers(0, 5)),
            ("attack_strength", st.sampled_from([0.0, 0.5, 1.0, 2.5])),
            ("max_energy", st.integers(1, 150)),
            ("max_inventory", st.integers(1, 6)),
            ("vision_radius", st.integers(0, 5)),
        ):
            if draw(st.booleans()):
                body[field] = draw(values)
        out.append(body)
    return out


@st.composite
def features(draw):
    """The optional features' config fields, each on or off."""
    postures = {
        "enabled": draw(st.booleans()),
        "rest_metabolism": draw(st.integers(0, 2)),
        "rest_move_period": draw(st.integers(1, 3)),
        "guard_shield_upkeep": draw(st.integers(0, 2)),
        "sprint_cells": draw(st.integers(1, 3)),
        "sprint_cost_factor": draw(st.integers(1, 3)),
    }
    rec = draw(recipes())
    names = ["diamond"] + [r["name"] for r in rec["resources"]]
    cost = draw(st.integers(0, 2))
    building = {
        "enabled": draw(st.booleans()),
        "block_resource": draw(st.sampled_from(names)),
        "block_cost": cost,
        "block_refund": draw(st.integers(0, cost)),
    }
    return {"bodies": draw(bodies()), "postures": postures, "building": building, **rec}


@st.composite
def recipes(draw, least=0):
    """`least`-3 resources and, with them, `least`-3 converters with random recipes."""
    n_res = draw(st.integers(least, 3))
    names = [f"r{k}" for k in range(n_res)]
    resources = [{"name": n, "max_inventory": draw(st.integers(1, 5))} for n in names]
    converters = []
    for k in range(draw(st.integers(least, 3)) if n_res else 0):
        units = st.dictionaries(st.sampled_from(names), st.integers(1, 3), max_size=n_res)
        converters.append(
            {
                "name": f"c{k}",
                "char": "xyz"[k],
                "inputs": draw(units),
                "outputs": draw(units),
                "energy_cost": draw(st.integers(0, 10)),
                "energy_gain": draw(st.integers(0, 20)),
                "cooldown": draw(st.integers(0, 3)),
            }
        )
    return {"resources": resources, "converters": converters}


@st.composite
def worlds(draw):
    kind = draw(st.sampled_from(["scatter", "rooms", "caves", "maze"]))
    n_agents = draw(st.integers(1, 8))
    cfg = WorldConfig(
        **draw(features()),
        n_agents=n_agents,
        width=draw(st.integers(7, 14)),
        height=draw(st.integers(7, 14)),
        max_steps=1000,
        start_energy=draw(st.integers(0, 100)),
        metabolism=draw(st.integers(0, 2)),
        freeze_steps=draw(st.integers(0, 5)),
        max_inventory=draw(st.integers(1, 4)),
        mine_start=1,
        mine_regen=draw(st.integers(1, 5)),
        charger_cooldown=draw(st.integers(0, 3)),
        freeze_immunity=draw(st.integers(1, 4)),
        stagger_start=draw(st.booleans()),
        map={"kind": kind, "mines": draw(st.integers(1, 4)), "chargers": 1, "altars": 1},
    )
    seed = draw(st.integers(0, 2**31))
    steps = draw(st.integers(1, 60))
    return cfg, seed, steps


def random_actions(cfg, seed, steps, n_envs=1):
    rng = np.random.default_rng(seed)
    return rng.integers(0, cfg.n_actions, (steps, n_envs, cfg.n_agents), np.int32)


@SETTINGS
@given(worlds())
def test_invariants_hold_at_every_step(case):
    cfg, seed, steps = case
    w = World(cfg, seed=seed)
    w.reset()
    s = w.state
    grid0 = s.grid.copy()
    n_mines = int((grid0 == L.MINE).sum())
    idx = {name: L.COUNTERS.index(name) for name in L.COUNTERS}
    frozen_run = np.zeros(cfg.n_agents, int)  # turns lost in a row
    for actions in random_actions(cfg, seed, steps):
        frozen_before = s.frozen[0].copy()
        energy_before = s.energy[0].copy()
        received_before = s.counters[0, :, idx["energy_shared_received"]].copy()
        mines_before = int(s.mine_count[0].sum())
        mined_before = int(s.counters[0, :, idx["diamonds_mined"]].sum())
        w.step(actions)
        if w.dones[0]:  # a staggered first episode ended: a new map, new counters' baseline
            break
        assert ((s.energy >= 0) & (s.energy <= s.body_max_energy)).all()
        assert ((s.diamonds >= 0) & (s.diamonds <= s.body_max_inventory)).all()
        assert ((s.signal >= 0) & (s.signal <= cfg.max_signal)).all()
        assert ((s.frozen >= 0) & (s.frozen <= w.params.max_freeze)).all()
        assert ((s.posture >= 0) & (s.posture <= (3 if cfg.postures.enabled else 0))).all()
        # one agent per cell, never on a wall or object, and the index agrees
        cells = set(zip(s.ay[0].tolist(), s.ax[0].tolist(), strict=True))
        assert len(cells) == cfg.n_agents
        assert (s.grid[0, s.ay[0], s.ax[0]] == L.EMPTY).all()
        assert (s.agent_at[0, s.ay[0], s.ax[0]] == np.arange(cfg.n_agents)).all()
        assert (s.agent_at[0] >= 0).sum() == cfg.n_agents
        # walls and objects never move; only built blocks come and go, on floor cells
        changed = s.grid != grid0
        assert np.isin(s.grid[changed], (L.EMPTY, L.BLOCK)).all()
        assert np.isin(grid0[changed], (L.EMPTY, L.BLOCK)).all()
        blocks = int((s.grid == L.BLOCK).sum()) - int((grid0 == L.BLOCK).sum())
        assert blocks == int(s.blocks_built.sum() - s.blocks_destroyed.sum())
        if not cfg.building.enabled:
            assert not changed.any()
        # diamonds: carried = mined - converted (+ what blocks took or gave back); mines lose
        # exactly what was mined, plus regrowth
        mined = int(s.counters[0, :, idx["diamonds_mined"]].sum())
        converted = int(s.counters[0, :, idx["diamonds_converted"]].sum())
        assert int(s.diamonds.sum()) == mined - converted + int(_block_units(w, "diamond").sum())
        regrown = int(s.mine_count[0].sum()) - mines_before + (mined - mined_before)
        assert 0 <= regrown <= n_mines
        # resources: every converter use moved exactly its recipe, nothing else made or lost
        net = s.recipe_outputs.astype(int) - s.recipe_inputs.astype(int)  # [K, R]
        uses = s.converter_uses[0]  # [N, K]
        assert np.array_equal(s.resources_made[0], uses @ s.recipe_outputs.astype(int))
        assert np.array_equal(s.resources_used[0], uses @ s.recipe_inputs.astype(int))
        assert np.array_equal(s.inventory[0], uses @ net + _block_units(w, "resource"))
        assert ((s.inventory[0] >= 0) & (s.inventory[0] <= s.resource_max)).all()
        # frozen agents, and exhausted agents nobody gave energy to, only noop
        assert (s.acted[0][frozen_before > 0] == L.NOOP).all()
        # no agent stays frozen longer than one freeze: hits on frozen agents do not restart it
        frozen_run = np.where(frozen_before > 0, frozen_run + 1, 0)
        assert (frozen_run <= w.params.max_freeze).all()
        starving = (energy_before == 0) & (
            s.counters[0, :, idx["energy_shared_received"]] == received_before
        )
        assert (s.acted[0][starving] == L.NOOP).all()


def _block_units(w, kind):
    """Net units of the building resource that agents put into or took back from blocks (as
    [N, R] for kind "resource", [N] for "diamond"); zero when it is of the other kind."""
    s, cfg = w.state, w.config
    n = s.block_refunds[0] - s.blocks_built[0] * cfg.building.block_cost
    r = w.params.block_resource_index
    if kind == "diamond":
        return n if r < 0 else np.zeros_like(n)
    out = np.zeros((cfg.n_agents, len(cfg.resources)), int)
    if r >= 0:
        out[:, r] = n
    return out


def _trajectory(world, actions):
    world.reset()
    out = []
    for a in actions:
        world.step(a)
        out.append((world.obs.copy(), world.self_obs.copy(), world.rewards.copy()))
    out.append(tuple(a.copy() for a in world.state if isinstance(a, np.ndarray)))
    return out


def _same(a, b):
    for x, y in zip(a, b, strict=True):
        for u, v in zip(x, y, strict=True):
            assert np.array_equal(u, v)


@SETTINGS
@given(worlds())
def test_same_seed_gives_identical_trajectories(case):
    cfg, seed, steps = case
    actions = random_actions(cfg, seed, steps)
    _same(_trajectory(World(cfg, seed=seed), actions), _trajectory(World(cfg, seed=seed), actions))


@settings(max_examples=10, deadline=None)
@given(worlds())
def test_envs_stepped_together_equal_each_env_stepped_alone(case):
    cfg, seed, steps = case
    cfg = cfg.model_copy(update={"max_steps": 7})  # include auto-resets
    n = 3
    together = World(cfg, n_envs=n, seed=seed)
    actions = random_actions(cfg, seed, steps, n_envs=n)
    together.reset()
    alone = [World(cfg, n_envs=1, env_seeds=together._env_seeds[b : b + 1]) for b in range(n)]
    for w in alone:
        w.reset()
    for a in actions:
        together.step(a)
        for b, w in enumerate(alone):
            w.step(a[b : b + 1])
    for b, w in enumerate(alone):
        for name, x in w.env_state(0).items():
            assert np.array_equal(x, together.env_state(b)[name]), name


RING = """
#######
#xyzxy#
#z...z#
#y...x#
#x...y#
#zyxzx#
#######
"""


@settings(max_examples=20, deadline=None)
@given(recipes(least=1), st.integers(1, 6), st.integers(0, 2**31), st.integers(10, 120))
def test_converters_conserve_resources_per_recipe(rec, n_agents, seed, steps):
    """Agents in a room walled by converters, mostly turning and using: whatever they hold is
    exactly what their converter uses made minus what they used, per resource."""
    chars = "xyz"[: len(rec["converters"])]
    text = "".join(c if c not in "xyz" or c in chars else "#" for c in RING)
    cfg = WorldConfig(
        n_agents=n_agents,
        map={"kind": "ascii", "ascii": text},
        max_steps=1000,
        metabolism=0,
        action_costs={"use": 0, "turn_left": 0, "turn_right": 0, "forward": 0},
        **rec,
    )
    w = World(cfg, seed=seed)
    w.reset()
    s = w.state
    rng = np.random.default_rng(seed)
    names = ["use", "use", "use", "turn_left", "turn_right", "forward", "attack"]
    ids = np.array([cfg.action_names.index(a) for a in names], np.int32)
    net = s.recipe_outputs.astype(int) - s.recipe_inputs.astype(int)
    for _ in range(steps):
        inv, uses = s.inventory[0].astype(int), s.converter_uses[0].copy()
        w.step(rng.choice(ids, (1, n_agents)).astype(np.int32))
        assert np.array_equal(s.inventory[0] - inv, (s.converter_uses[0] - uses) @ net)
        assert ((s.inventory[0] >= 0) & (s.inventory[0] <= s.resource_max)).all()
    assert np.array_equal(s.resources_made[0] - s.resources_used[0], s.inventory[0])


@settings(max_examples=20, deadline=None)
@given(
    st.integers(1, 6),
    st.integers(0, 2),
    st.booleans(),
    st.integers(0, 2**31),
    st.integers(10, 150),
)
def test_building_never_traps_anything_in_a_block_and_conserves_its_resource(
    n_agents, cost, refund_all, seed, steps
):
    """Agents in a small room with a mine, mostly building, destroying and walking: no agent
    or object is ever inside a block, every block was built by someone or drawn in the map,
    and what agents carry is what they mined minus what blocks took plus what destroyed blocks
    gave back (the drawn block's refund is a deposit of the map's, as mined diamonds are)."""
    text = "#######\n#.....#\n#..m..#\n#.....#\n#...%.#\n#######"
    cfg = WorldConfig(
        n_agents=n_agents,
        map={"kind": "ascii", "ascii": text},
        max_steps=1000,
        metabolism=0,
        mine_start=3,
        mine_regen=1,
        action_costs={"build": 0, "destroy": 0, "use": 0, "forward": 0, "turn_left": 0},
        building={"enabled": True, "block_cost": cost, "block_refund": cost if refund_all else 0},
    )
    w = World(cfg, seed=seed)
    w.reset()
    s = w.state
    grid0 = s.grid[0].copy()
    rng = np.random.default_rng(seed)
    names = ["build", "build", "destroy", "use", "use", "forward", "turn_left", "attack"]
    ids = np.array([cfg.action_names.index(a) for a in names], np.int32)
    for _ in range(steps):
        w.step(rng.choice(ids, (1, n_agents)).astype(np.int32))
        g = s.grid[0]
        assert (g[s.ay[0], s.ax[0]] == L.EMPTY).all()
        changed = g != grid0
        assert np.isin(grid0[changed], (L.EMPTY, L.BLOCK)).all()
        assert np.isin(g[changed], (L.EMPTY, L.BLOCK)).all()
        assert (g == L.MINE).sum() == 1 and (g == L.WALL).sum() == (grid0 == L.WALL).sum()
        assert (g == L.BLOCK).sum() == 1 + s.blocks_built.sum() - s.blocks_destroyed.sum()
        assert (s.marker[0][g == L.BLOCK] < 0).all()
        mined = int(w.counter("diamonds_mined").sum())
        held = int(s.diamonds.sum())
        assert held == mined - cost * int(s.blocks_built.sum()) + int(s.block_refunds.sum())
        assert (s.block_refunds <= cost * s.blocks_destroyed).all()
