"""One scripted scene per rule: an ASCII map, a fixed action sequence, the exact state after.

Scene costs (tests/scenes.SCENE_COSTS, not the world's defaults): forward/back/use/shield/
mate/mark 1, attack 3, turns, shares, signal and noop 0, no metabolism; start energy 60.
"""

import numpy as np
import pytest
from scenes import act, agent, count, scene

from world import layout as L

OPEN = """
#####
#...#
#.^.#
#...#
#####
"""


def test_forward_back_and_walls_block_moves():
    w = scene(OPEN)
    act(w, a0="forward")
    assert agent(w, 0)["pos"] == (1, 2) and agent(w, 0)["energy"] == 59
    act(w, a0="forward")  # wall ahead: the move fails, the cost is still paid
    assert agent(w, 0)["pos"] == (1, 2) and agent(w, 0)["energy"] == 58
    act(w, a0="back")
    assert agent(w, 0)["pos"] == (2, 2) and agent(w, 0)["energy"] == 57


def test_turns_rotate_and_cost_nothing_by_default():
    w = scene(OPEN)
    act(w, a0="turn_right")
    assert agent(w, 0)["facing"] == L.EAST
    act(w, a0="turn_left")
    act(w, a0="turn_left")
    assert agent(w, 0)["facing"] == L.WEST and agent(w, 0)["energy"] == 60
    act(w, a0="forward")
    assert agent(w, 0)["pos"] == (2, 1)


def test_agents_and_objects_block_moves():
    w = scene("#####\n#.m.#\n#.^.#\n#.^.#\n#####")
    act(w, a0="forward")
    act(w, a1="forward")
    assert agent(w, 0)["pos"] == (2, 2) and agent(w, 1)["pos"] == (3, 2)


def test_use_mine_takes_one_diamond_until_empty():
    w = scene("#####\n#.m.#\n#.^.#\n#####", mine_start=1, mine_max=1, mine_regen=100)
    act(w, a0="use")
    assert agent(w, 0)["diamonds"] == 1 and w.state.mine_count[0, 1, 2] == 0
    act(w, a0="use")
    assert agent(w, 0)["diamonds"] == 1 and agent(w, 0)["energy"] == 58
    assert count(w, "diamonds_mined", 0) == 1


def test_mine_regrows_one_diamond_every_mine_regen_steps_up_to_max():
    w = scene("#####\n#.m.#\n#.^.#\n#####", mine_start=0, mine_max=2, mine_regen=3)
    for _ in range(2):
        act(w)
    assert w.state.mine_count[0, 1, 2] == 0
    act(w)
    assert w.state.mine_count[0, 1, 2] == 1
    for _ in range(10):
        act(w)
    assert w.state.mine_count[0, 1, 2] == 2


def test_inventory_is_capped():
    w = scene("#####\n#.m.#\n#.^.#\n#####", mine_start=3, mine_max=3, max_inventory=2)
    for _ in range(3):
        act(w, a0="use")
    assert agent(w, 0)["diamonds"] == 2 and w.state.mine_count[0, 1, 2] == 1


def test_charger_turns_a_diamond_into_energy_then_cools_down():
    w = scene("#####\n#.c.#\n#.^.#\n#####", charger_energy=25, charger_cooldown=2, max_energy=200)
    w.state.diamonds[0, 0] = 3
    act(w, a0="use")
    assert agent(w, 0)["diamonds"] == 2 and agent(w, 0)["energy"] == 60 - 1 + 25
    act(w, a0="use")  # cooling down: nothing happens
    assert agent(w, 0)["diamonds"] == 2 and agent(w, 0)["energy"] == 83
    act(w, a0="use")
    assert agent(w, 0)["diamonds"] == 1 and agent(w, 0)["energy"] == 82 + 25
    assert count(w, "diamonds_converted", 0) == 2


def test_charger_energy_is_capped_at_max_energy():
    w = scene("#####\n#.c.#\n#.^.#\n#####", max_energy=70)
    w.state.diamonds[0, 0] = 1
    act(w, a0="use")
    assert agent(w, 0)["energy"] == 70


def test_altar_turns_energy_into_a_heart_and_reward():
    w = scene("#####\n#.a.#\n#.^.#\n#####", altar_cost=30, altar_cooldown=3)
    act(w, a0="use")
    a = agent(w, 0)
    assert a["hearts"] == 1 and a["energy"] == 60 - 1 - 30
    assert w.rewards[0, 0] == 1.0
    act(w, a0="use")  # cooling down and too poor anyway
    assert agent(w, 0)["hearts"] == 1 and w.rewards[0, 0] == 0.0
    assert count(w, "hearts", 0) == 1 and count(w, "energy_spent", 0) == 32


def test_altar_needs_enough_energy():
    w = scene("#####\n#.a.#\n#.^.#\n#####", altar_cost=30, start_energy=20)
    act(w, a0="use")
    assert agent(w, 0)["hearts"] == 0 and agent(w, 0)["energy"] == 19


def test_heart_reward_is_configurable():
    w = scene("#####\n#.a.#\n#.^.#\n#####", heart_reward=2.5)
    act(w, a0="use")
    assert w.rewards[0, 0] == 2.5


FACING = """
######
#.v..#
#.^..#
######
"""


def test_attack_freezes_an_unshielded_target_and_takes_its_diamonds():
    w = scene(FACING, freeze_steps=4)
    w.state.diamonds[0, 1] = 2
    act(w, a0="attack")
    assert agent(w, 0)["diamonds"] == 2 and agent(w, 0)["energy"] == 57
    assert agent(w, 1)["diamonds"] == 0
    assert count(w, "attacks_made", 0) == 1 and count(w, "attacks_received", 1) == 1
    assert count(w, "diamonds_stolen", 0) == 2 and count(w, "diamonds_lost", 1) == 2
    # The target loses exactly freeze_steps turns, whether it acted before the hit or not:
    # if its turn in the hit's step came after the hit, that turn was the first one lost.
    lost_in_hit_step = count(w, "frozen_steps", 1)
    turns = 0
    while agent(w, 1)["facing"] == L.NORTH:
        act(w, a1="turn_right")
        turns += 1
        assert turns < 10
    assert count(w, "frozen_steps", 1) == 4
    assert turns == 4 - lost_in_hit_step + 1


def test_frozen_agent_cannot_act_and_pays_nothing():
    w = scene(FACING, freeze_steps=5)
    w.state.frozen[0, 1] = 3
    for _ in range(3):
        act(w, a1="turn_right")
    assert agent(w, 1)["facing"] == L.NORTH and agent(w, 1)["frozen"] == 0
    assert count(w, "frozen_steps", 1) == 3
    act(w, a1="turn_right")
    assert agent(w, 1)["facing"] == L.EAST


def test_a_hit_on_a_frozen_target_does_not_restart_its_freeze():
    w = scene(FACING, freeze_steps=4, start_energy=100)
    act(w, a0="attack")
    left = agent(w, 1)["frozen"]
    assert left > 0
    act(w, a0="attack")
    assert agent(w, 1)["frozen"] == left - 1


def _runs(w, steps, **moves):
    """Step `steps` times with fixed moves; return the victim's (agent 1) runs of frozen and
    of free turns, in order, as (frozen?, length) pairs."""
    runs = []
    for _ in range(steps):
        before = count(w, "frozen_steps", 1)
        act(w, **moves)
        frozen = count(w, "frozen_steps", 1) > before
        if runs and runs[-1][0] == frozen:
            runs[-1][1] += 1
        else:
            runs.append([frozen, 1])
    return runs


def test_a_victim_hit_every_step_always_gets_turns_back():
    # Before immunity, one hit every step (or every freeze_steps) kept the target frozen for
    # the whole episode. Now every freeze is followed by `freeze_immunity` free turns.
    w = scene(FACING, freeze_steps=5, freeze_immunity=2, start_energy=1000, max_energy=1000)
    runs = _runs(w, 120, a0="attack", a1="turn_right")
    assert count(w, "attacks_made", 0) == 120
    assert max(n for frozen, n in runs if frozen) <= 5  # never longer than one freeze
    between = [n for frozen, n in runs[1:-1] if not frozen]  # free runs between two freezes
    assert len(between) >= 10 and min(between) >= 2


def test_freeze_immunity_ends_after_freeze_immunity_turns():
    w = scene(FACING, freeze_steps=1, freeze_immunity=3, start_energy=1000, max_energy=1000)
    runs = _runs(w, 60, a0="attack")
    between = [n for frozen, n in runs[1:-1] if not frozen]
    # immune for its next 3 turns; the attacker may need one more step to land the hit
    assert len(between) >= 5 and all(3 <= n <= 4 for n in between), runs


def test_a_frozen_victim_gets_to_raise_its_shield_and_then_blocks():
    w = scene(FACING, freeze_steps=10, freeze_immunity=1, start_energy=1000, max_energy=1000)
    w.state.frozen[0, 1] = 10  # frozen before the attacker starts hitting it every step
    for _ in range(40):
        act(w, a0="attack", a1="shield" if agent(w, 1)["shield"] == 0 else "noop")
    assert agent(w, 1)["shield"] == 1 and agent(w, 1)["frozen"] == 0
    assert count(w, "attacks_blocked", 1) > 0


def test_thief_takes_only_what_it_can_carry():
    w = scene(FACING, max_inventory=5)
    w.state.diamonds[0, 0] = 4
    w.state.diamonds[0, 1] = 3
    act(w, a0="attack")
    assert agent(w, 0)["diamonds"] == 5 and agent(w, 1)["diamonds"] == 2


def test_shield_absorbs_a_hit_by_draining_energy():
    w = scene(FACING, shield_upkeep=1, shield_hit_drain=10)
    w.state.diamonds[0, 1] = 2
    act(w, a1="shield")
    assert agent(w, 1)["shield"] == 1 and agent(w, 1)["energy"] == 60 - 1 - 1
    act(w, a0="attack")
    b = agent(w, 1)
    assert b["frozen"] == 0 and b["diamonds"] == 2 and b["energy"] == 58 - 10 - 1
    assert count(w, "attacks_blocked", 1) == 1 and count(w, "shield_steps", 1) == 2


def test_energy_a_shield_loses_to_hits_counts_as_spent():
    w = scene(FACING, shield_upkeep=0, shield_hit_drain=10)
    w.state.shield[0, 1] = 1
    act(w, a0="attack")
    assert agent(w, 1)["energy"] == 50 and count(w, "energy_spent", 1) == 10
    w.state.energy[0, 1] = 4
    act(w, a0="attack")  # only what it has
    assert agent(w, 1)["energy"] == 0 and count(w, "energy_spent", 1) == 14


def test_shield_drops_at_zero_energy():
    w = scene(FACING, shield_upkeep=1, shield_hit_drain=10)
    w.state.shield[0, 1] = 1
    w.state.energy[0, 1] = 6
    act(w, a0="attack")
    assert agent(w, 1)["energy"] == 0 and agent(w, 1)["shield"] == 0


def test_shield_upkeep_drains_until_the_shield_drops():
    w = scene(OPEN, shield_upkeep=2, start_energy=7)
    act(w, a0="shield")  # pays 1 for the action, 2 upkeep: 4 left
    assert agent(w, 0)["energy"] == 4
    act(w)
    act(w)
    assert agent(w, 0)["energy"] == 0 and agent(w, 0)["shield"] == 0


def test_toggling_the_shield_lowers_it():
    w = scene(OPEN, shield_upkeep=0)
    act(w, a0="shield")
    act(w, a0="shield")
    assert agent(w, 0)["shield"] == 0 and agent(w, 0)["energy"] == 58


def test_share_energy_gives_share_amount_capped_by_room():
    w = scene(FACING, share_amount=10, max_energy=100)
    act(w, a0="share_energy")
    assert agent(w, 0)["energy"] == 50 and agent(w, 1)["energy"] == 70
    w.state.energy[0, 1] = 95
    act(w, a0="share_energy")
    assert agent(w, 0)["energy"] == 45 and agent(w, 1)["energy"] == 100
    assert count(w, "energy_shared_given", 0) == 15 and count(w, "energy_shared_received", 1) == 15


@pytest.mark.parametrize(
    "efficiency, room, paid, got",
    [(2.0, 40, 10, 20), (0.5, 40, 10, 5), (0.0, 40, 10, 0), (1.5, 5, 3, 4), (3.0, 0, 0, 0),
     (0.7, 40, 10, 7)],
)  # fmt: skip
def test_share_efficiency_multiplies_what_the_receiver_gets_and_room_caps_what_is_paid(
    efficiency, room, paid, got
):
    w = scene(FACING, share_amount=10, max_energy=100, share_efficiency=efficiency)
    w.state.energy[0, 1] = 100 - room
    act(w, a0="share_energy")
    assert agent(w, 0)["energy"] == 60 - paid and agent(w, 1)["energy"] == 100 - room + got
    assert count(w, "energy_shared_given", 0) == paid
    assert count(w, "energy_shared_received", 1) == got


def test_share_diamond_gives_one_if_the_receiver_has_room():
    w = scene(FACING, max_inventory=2)
    w.state.diamonds[0, 0] = 2
    w.state.diamonds[0, 1] = 1
    act(w, a0="share_diamond")
    assert agent(w, 0)["diamonds"] == 1 and agent(w, 1)["diamonds"] == 2
    act(w, a0="share_diamond")  # receiver full
    assert agent(w, 0)["diamonds"] == 1 and agent(w, 1)["diamonds"] == 2
    assert count(w, "diamonds_shared_given", 0) == 1


def test_share_with_nobody_in_front_does_nothing():
    w = scene(OPEN)
    w.state.diamonds[0, 0] = 1
    act(w, a0="share_energy")
    act(w, a0="share_diamond")
    assert agent(w, 0)["energy"] == 60 and agent(w, 0)["diamonds"] == 1


def _marker_seen(w, i=0):
    return int(w.obs[0, i, ..., L.CH_MARKER].max())


def test_markers_are_placed_in_front_and_seen_for_exactly_ttl_observations():
    for ttl in (1, 2, 3):
        w = scene(OPEN, n_marker_colors=3, marker_ttl=ttl)
        act(w, a0="mark_1")
        assert agent(w, 0)["energy"] == 59 and count(w, "markers_placed", 0) == 1
        seen = 0
        for _ in range(ttl + 3):
            if w.state.marker[0, 1, 2] == 1:
                assert _marker_seen(w) == 2
                seen += 1
            act(w)
        assert seen == ttl and w.state.marker[0, 1, 2] == -1 and _marker_seen(w) == 0


def test_markers_drawn_in_an_ascii_map_never_fade():
    # Drawn markers are part of the scene (signposts in an eval map), like its walls.
    w = scene("#####\n#.2.#\n#.^.#\n#####", marker_ttl=2)
    for _ in range(10):
        act(w)
    assert w.state.marker[0, 1, 2] == 1 and _marker_seen(w) == 2


def test_a_marker_placed_over_a_drawn_one_fades_like_any_placed_marker():
    w = scene("#####\n#.2.#\n#.^.#\n#####", marker_ttl=2)
    act(w, a0="mark_0")
    assert w.state.marker[0, 1, 2] == 0
    act(w)
    act(w)
    assert w.state.marker[0, 1, 2] == -1


def test_markers_are_not_placed_on_walls_and_agents_walk_over_them():
    w = scene(OPEN, marker_ttl=50)
    act(w, a0="mark_0")
    act(w, a0="forward")
    assert agent(w, 0)["pos"] == (1, 2) and w.state.marker[0, 1, 2] == 0
    act(w, a0="mark_2")  # wall in front
    assert (w.state.marker[0] == 2).sum() == 0


def test_signal_costs_energy_caps_and_decays():
    w = scene(OPEN, signal_cost=5, max_signal=2, signal_decay=3)
    act(w, a0="signal")
    act(w, a0="signal")
    act(w, a0="signal")  # at max: no effect, no payment
    a = agent(w, 0)
    assert a["signal"] == 2 and a["energy"] == 50 and count(w, "signal_spent", 0) == 10
    act(w)
    act(w)
    assert agent(w, 0)["signal"] == 1
    # the level each step began with: 0, 1, 2, then 2 and 1 as it decays
    assert count(w, "signal_steps", 0) == 0 + 1 + 2 + 2 + 1


def test_mate_records_the_choice_of_the_agent_in_front():
    w = scene(FACING)
    act(w, a0="mate")
    assert w.state.mate_target[0, 0] == 1 and w.state.mate_step[0, 0] == 0
    assert count(w, "mate_attempts", 0) == 1 and w.state.bond[0, 0] == -1


def test_metabolism_is_paid_every_step_and_energy_never_goes_negative():
    w = scene(OPEN, metabolism=2, start_energy=5)
    act(w)
    assert agent(w, 0)["energy"] == 3
    act(w)
    act(w)
    assert agent(w, 0)["energy"] == 0
    assert count(w, "energy_spent", 0) == 5


def test_exhausted_agent_can_only_noop():
    w = scene(OPEN, start_energy=0)
    act(w, a0="forward")
    act(w, a0="turn_right")  # costs nothing, but an agent at 0 energy cannot act at all
    a = agent(w, 0)
    assert a["pos"] == (2, 2) and a["facing"] == L.NORTH
    assert w.state.acted[0, 0] == L.NOOP


def test_an_action_that_cannot_be_paid_is_a_noop():
    w = scene(FACING, start_energy=2)
    act(w, a0="attack")  # costs 3
    assert agent(w, 1)["frozen"] == 0 and agent(w, 0)["energy"] == 2


def test_acting_order_is_random_and_fair():
    # Two agents step into the same cell; who gets it depends on the env's random order.
    w = scene("#####\n#>.<#\n#####")
    from world import World

    many = World(w.config, n_envs=400, seed=3)
    many.reset()
    many.step(np.full((400, 2), L.FORWARD, np.int32))
    first_wins = (many.state.ax[:, 0] == 2).sum()
    second_wins = (many.state.ax[:, 1] == 2).sum()
    assert first_wins + second_wins == 400
    assert 150 < first_wins < 250


def test_episode_ends_at_max_steps_and_the_env_resets_itself():
    w = scene(OPEN, max_steps=3)
    act(w, a0="forward")
    act(w, a0="turn_right")
    assert w.dones[0] == 0
    act(w, a0="forward")
    assert w.dones[0] == 1
    a = agent(w, 0)
    assert a["pos"] == (2, 2) and a["energy"] == 60 and a["facing"] == L.NORTH
    assert w.state.step[0] == 0 and w.state.episode[0] == 2
    assert count(w, "energy_spent", 0) == 2  # counters run on across episodes
    act(w)
    assert w.dones[0] == 0


def test_every_action_costs_energy_with_the_default_costs():
    # The world's own defaults (not the scene economy): metabolism plus the action's cost.
    from world import WorldConfig

    defaults = WorldConfig()
    prices = {}
    for name in defaults.model_copy(update={"n_marker_colors": 1}).action_names:
        w = scene(
            FACING,
            metabolism=defaults.metabolism,
            action_costs=dict(defaults.action_costs),
            n_marker_colors=1,
        )
        act(w, a0=name)
        prices[name] = 60 - agent(w, 0)["energy"]
    assert all(p >= 1 for p in prices.values()), prices
    assert all(p > prices["noop"] for name, p in prices.items() if name != "noop"), prices


def test_every_agent_step_is_counted_frozen_or_not():
    w = scene(FACING, freeze_steps=2)
    act(w, a0="attack")  # agent 1 frozen for its next 2 turns
    act(w)
    act(w)
    assert count(w, "steps", 0) == 3 and count(w, "steps", 1) == 3


def test_heart_steps_sums_the_episode_step_of_each_heart():
    w = scene("#####\n#.a.#\n#.^.#\n#####", altar_cost=5, altar_cooldown=0)
    act(w)  # step 0
    act(w, a0="use")  # step 1: a heart
    act(w)  # step 2
    act(w, a0="use")  # step 3: a heart
    assert count(w, "hearts", 0) == 2 and count(w, "heart_steps", 0) == 1 + 3


def test_gifts_are_recorded_by_giver_and_receiver():
    w = scene(FACING, share_amount=10)
    w.state.diamonds[0, 0] = 1
    act(w, a0="share_energy")
    act(w, a0="share_diamond")
    assert w.state.energy_given[0].tolist() == [[0, 10], [0, 0]]
    assert w.state.diamonds_given[0].tolist() == [[0, 1], [0, 0]]
    w.reset()
    assert w.state.energy_given.sum() == 0 and w.state.diamonds_given.sum() == 0
