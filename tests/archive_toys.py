"""Hand-built archive Datasets with known answers, for the analysis tests."""

import numpy as np
import xarray as xr

COUNTERS = (
    "hearts", "steps", "heart_steps", "frozen_steps", "signal_spent", "energy_spent",
    "energy_shared_given", "bonds_formed",
)  # fmt: skip


def toy_archive(**counters) -> xr.Dataset:
    """Two generations of four individuals in two trials of two slots.

    Generation 0: founders uids 0-3; generation 1: uid 0 kept (elite), uids 4-6 children.
    Trial 0 holds individuals 0 and 1 (kin, K = 0.5), trial 1 holds 2 and 3 (K = 0).
    `counters` overrides a counter: name -> int[2, 4]."""
    G, P, T, S = 2, 4, 2, 2
    values = {
        "hearts": [[1, 1, 1, 1], [4, 0, 0, 0]],
        "steps": [[100, 100, 100, 100], [100, 100, 100, 100]],
        "heart_steps": [[10, 20, 30, 40], [200, 0, 0, 0]],
        "frozen_steps": [[0, 0, 0, 0], [10, 20, 30, 40]],
        "signal_spent": [[0, 0, 0, 0], [5, 5, 0, 0]],
        "energy_spent": [[10, 10, 10, 10], [10, 10, 0, 0]],
        "energy_shared_given": [[0, 0, 0, 0], [0, 0, 0, 0]],
        "bonds_formed": [[0, 0, 0, 0], [1, 1, 0, 0]],
    }
    values.update(counters)
    counts = np.stack([np.asarray(values[c], np.int64) for c in COUNTERS], axis=-1)
    kin = np.zeros((G, T, S, S), np.float32)
    kin[:, :, 0, 0] = kin[:, :, 1, 1] = 1.0
    kin[:, 0, 0, 1] = kin[:, 0, 1, 0] = 0.5
    energy = np.zeros((G, T, S, S), np.int64)
    diamonds = np.zeros((G, T, S, S), np.int64)
    energy[1, 0, 0, 1] = 30  # kin: slot 0 gives 30 energy to slot 1 in trial 0
    energy[1, 1, 1, 0] = 10  # non-kin
    diamonds[1, 0, 1, 0] = 2  # kin
    uid = np.array([[0, 1, 2, 3], [0, 4, 5, 6]])
    genome = np.array([[[0.1, 1.0], [0.2, 2.0], [0.3, 3.0], [0.4, 4.0]],
                       [[0.1, 1.0], [0.5, 2.5], [0.6, 3.5], [0.7, 1.5]]])  # fmt: skip
    fitness = np.array([[1.0, 2.0, 3.0, 4.0], [4.0, 5.0, 6.0, 7.0]])
    ds = xr.Dataset(
        {
            "genome": (("generation", "individual", "gene"), genome),
            "fitness": (("generation", "individual"), fitness),
            "parent_a": (("generation", "individual"), [[-1, -1, -1, -1], [-1, 0, 1, 3]]),
            "parent_b": (("generation", "individual"), [[-1, -1, -1, -1], [-1, 1, 2, 0]]),
            "born": (("generation", "individual"), [[0, 0, 0, 0], [0, 1, 1, 1]]),
            "mate": (("generation", "individual"), [[-1, -1, -1, -1], [4, 0, -1, -1]]),
            "counters": (("generation", "individual", "counter"), counts),
            "trial_uids": (("generation", "trial", "slot"), uid.reshape(G, T, S)),
            "kinship": (("generation", "trial", "slot", "slot_other"), kin),
            "energy_given": (("generation", "trial", "slot", "slot_other"), energy),
            "diamonds_given": (("generation", "trial", "slot", "slot_other"), diamonds),
            "best_fitness": ("generation", fitness.max(1)),
            "mean_fitness": ("generation", fitness.mean(1)),
            "seconds": ("generation", [1.5, 2.5]),
        },
        coords={
            "generation": np.arange(G),
            "individual": np.arange(P),
            "gene": ["kin_weight", "learning_rate"],
            "counter": list(COUNTERS),
            "trial": np.arange(T),
            "slot": np.arange(S),
            "slot_other": np.arange(S),
            "uid": (("generation", "individual"), uid),
        },
        attrs={"config": {"world": {"max_steps": 100, "charger_energy": 5}}, "seed": 7},
    )
    return ds
