"""Hand-built archive Datasets with known answers, for the analysis tests."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import xarray as xr

COUNTERS = (
    "hearts", "steps", "heart_steps", "frozen_steps", "signal_spent", "energy_spent",
    "energy_shared_given", "bonds_formed", "signal_steps",
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
        "signal_steps": [[0, 0, 0, 0], [300, 100, 0, 0]],
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


def write_fake_run(run_dir, generations: int = 3, population: int = 4, slots: int = 2):
    """A run folder with a real Zarr archive (evo.archive writes it) of made-up values for
    every variable of the current schema: `run_dir/archive.zarr`. Fast (no training)."""
    from pathlib import Path

    from evo.archive import GIVEN, VARIABLES, append_generation, generation_dataset
    from world.layout import COUNTERS as WORLD_COUNTERS

    run_dir = Path(run_dir)
    rng = np.random.default_rng(0)
    genes = ["kin_weight", "learning_rate"]
    trials = population // slots
    sizes = {"individual": population, "gene": len(genes), "counter": len(WORLD_COUNTERS),
             "trial": trials, "slot": slots, "slot_other": slots}  # fmt: skip
    uids = np.arange(population)
    next_uid = population
    config = {"seed": 3, "population": {"size": population, "agents_per_trial": slots},
              "world": {"max_steps": 32, "charger_energy": 5}}  # fmt: skip
    for g in range(generations):
        values = {}
        for name in GIVEN:
            var = VARIABLES[name]
            shape = tuple(sizes.get(d, 3) for d in var.dims[1:])  # other dims: size 3
            if np.dtype(var.dtype).kind == "f":
                values[name] = rng.random(shape).astype(var.dtype) * 3
            else:
                values[name] = rng.integers(0, 5, shape).astype(var.dtype)
        if g == 0:
            parents = np.full((2, population), -1)
            born = np.zeros(population, int)
        else:
            old = uids
            children = np.arange(next_uid, next_uid + population - 1)
            next_uid += population - 1
            uids = np.concatenate([old[:1], children])  # one elite
            parents = np.stack([rng.choice(old, population), rng.choice(old, population)])
            parents[:, 0] = -1
            born = np.r_[0, np.full(population - 1, g)]
        kin = np.tile(np.eye(slots, dtype=np.float32), (trials, 1, 1))
        kin[:, 0, 1] = kin[:, 1, 0] = 0.5
        values.update(
            uid=uids, parent_a=parents[0], parent_b=parents[1], born=born,
            mate=np.r_[uids[1], uids[0], np.full(population - 2, -1)],
            trial_uids=uids.reshape(trials, slots), kinship=kin,
        )  # fmt: skip
        values["best_fitness"] = float(values["fitness"].max())
        values["mean_fitness"] = float(values["fitness"].mean())
        ds = generation_dataset(g, values, genes)
        attrs = {"config": json.dumps(config), "seed": 3, "version_kinevo": "test"}
        append_generation(run_dir / "archive.zarr", ds, attrs)
    return run_dir


def smoke_run(run_dir) -> Path:
    """A real `evo.run runs/smoke.yaml` into `run_dir` (slow tests: about a minute)."""
    root = Path(__file__).parents[1]
    r = subprocess.run(
        [sys.executable, "-m", "evo.run", "runs/smoke.yaml", "--out", str(run_dir), "--quiet",
         "--workers", "1"], capture_output=True, text=True, cwd=root, timeout=600,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return Path(run_dir)
