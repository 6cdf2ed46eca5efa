"""Mate selection: bonds on mutual choice within a window, costly signals, shares, breakups."""

import numpy as np
from scenes import act, agent, count, scene

from world import World, WorldConfig

PAIR = """
######
#av..#
#.^..#
######
"""


def test_bond_forms_on_mutual_choice_and_each_pays_once():
    w = scene(PAIR, mate_cost=10, start_energy=60)
    act(w, a0="mate")
    assert w.state.bond[0].tolist() == [-1, -1]
    act(w, a1="mate")
    assert w.state.bond[0].tolist() == [1, 0]
    assert agent(w, 0)["energy"] == 60 - 1 - 10 and agent(w, 1)["energy"] == 60 - 1 - 10
    act(w, a0="mate", a1="mate")  # already bonded: no second payment
    assert agent(w, 0)["energy"] == 48 and agent(w, 1)["energy"] == 48
    assert count(w, "bonds_formed", 0) == 1 and count(w, "bonds_formed", 1) == 1
    assert w.read_bonds().tolist() == [[0, 1, 1, 0, 1]]  # env, episode, step, i, j
    assert w.read_bonds().shape == (0, 5)  # the log was cleared


def test_choices_outside_the_window_form_no_bond():
    w = scene(PAIR, mate_window=2)
    act(w, a0="mate")
    for _ in range(2):
        act(w)
    act(w, a1="mate")  # three steps later
    assert w.state.bond[0].tolist() == [-1, -1]
    act(w, a0="mate")  # one step after agent 1's choice
    assert w.state.bond[0].tolist() == [1, 0]


def test_bonded_partners_see_each_other_as_bonded():
    from world import layout as L

    w = scene(PAIR, vision_radius=2)
    act(w, a0="mate")
    act(w, a1="mate")
    assert w.obs[0, 0, 3, 2, L.CH_BONDED] == 255  # agent 1 is one row below agent 0
    assert w.obs[0, 1, 1, 2, L.CH_BONDED] == 255
    assert w.obs[0, 0, 2, 2, L.CH_BONDED] == 0


def test_mate_share_flows_while_bonded_and_stops_after_an_attack():
    w = scene(
        PAIR, mate_share=0.25, start_energy=100, altar_cost=10, altar_cooldown=0, freeze_steps=0
    )
    act(w, a0="mate")
    act(w, a1="mate")
    act(w, a0="turn_left")  # agent 0 faces the altar to its west... after turning from south
    act(w, a0="turn_left")
    act(w, a0="turn_left")
    assert agent(w, 0)["facing"] == 3
    act(w, a0="use")
    assert w.rewards[0].tolist() == [1.0, 0.0]
    assert w.learned_rewards[0].tolist() == [0.75, 0.25]
    act(w, a1="attack")  # agent 1 hits its mate: the bond ends
    assert w.state.bond[0].tolist() == [-1, -1] and count(w, "bonds_broken", 1) == 1
    act(w, a0="use")
    assert w.learned_rewards[0].tolist() == [1.0, 0.0]


def test_a_choosy_agent_refuses_a_partner_with_too_low_a_signal():
    w = scene(PAIR, signal_cost=5, signal_decay=0)
    w.set_genes(choosiness=[0.0, 2.0])
    act(w, a0="mate")
    act(w, a1="mate")
    assert w.state.bond[0].tolist() == [-1, -1] and count(w, "mates_refused", 1) == 1
    e0, e1 = agent(w, 0)["energy"], agent(w, 1)["energy"]
    assert (e0, e1) == (59, 59)  # no mate_cost paid
    act(w, a0="signal")
    act(w, a0="signal")  # agent 0's signal reaches agent 1's choosiness
    act(w, a0="mate")
    act(w, a1="mate")
    assert w.state.bond[0].tolist() == [1, 0]


def test_bonds_end_with_the_episode():
    w = scene(PAIR, max_steps=3)
    act(w, a0="mate")
    act(w, a1="mate")
    assert w.state.bond[0, 0] == 1
    act(w)
    assert w.dones[0] == 1 and w.state.bond[0].tolist() == [-1, -1]


def test_bonds_are_reproducible_under_a_seed():
    cfg = WorldConfig(
        n_agents=8,
        width=5,
        height=5,
        max_steps=60,
        mate_cost=0,
        mate_window=10,
        map={"mines": 1, "chargers": 0, "altars": 0, "wall_density": 0.0},
    )

    def run():
        w = World(cfg, n_envs=4, seed=5)
        w.reset()
        w.set_genes(choosiness=np.tile([0.0, 1.0], 4))
        rng = np.random.default_rng(1)
        logs = []
        for _ in range(300):
            a = rng.integers(0, cfg.n_actions, (4, 8), np.int32)
            a[rng.random((4, 8)) < 0.5] = w.action_names.index("mate")
            w.step(a)
            logs.append(w.read_bonds())
        return np.concatenate(logs)

    a, b = run(), run()
    assert len(a) > 0 and np.array_equal(a, b)


def test_the_bond_log_grows_instead_of_dropping_bonds_between_reads():
    # A bond forms every 3-step episode; 200 episodes between two reads, log size 1.
    w = scene(PAIR, max_steps=3, bond_log_size=1)
    for _ in range(200):
        act(w, a0="mate", a1="mate")
        act(w)
        act(w)
    bonds = w.read_bonds()
    assert count(w, "bonds_formed", 0) == 200
    assert len(bonds) == 200 and bonds[:, 1].tolist() == list(range(1, 201))
    assert w.read_bonds().shape == (0, 5)
