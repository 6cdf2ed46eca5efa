"""What each point of a sweep (`python -m evo.sweep`) came to: one number per run and outcome,
over the sweep's own dimensions, for phase diagrams and tables.

    from analysis.sweeps import sweep_summary
    s = sweep_summary("runs/out/sweep_hamilton", last=3)   # dims r, cost_ratio, kin, seed
    s.energy_to_twin.mean("seed")                          # help given to twins per agent-step

Every outcome is its generation value averaged over the run's last `last` complete
generations: `gene_<name>` (population mean of each gene), `fitness` (mean own hearts per
episode), the social metrics of `analysis.metrics` (efficiency, equality, peace,
energy given per agent-step), the signalling ones (signal level carried, honesty, signal
spending, bond rate) and, with `population.relatedness`, `energy_to_twin`, `energy_to_other`,
the realised `twin_pairs` and `twin_preference` (their ratio: above 1, help goes to kin).
Escalation is read from `trend_<gene>` and `trend_signal_level`: least-squares slopes per
generation over the whole run; selection on each gene from `selection_<gene>`, Price's
selection term (`analysis.metrics.selection_differential`) averaged over the run's
generations (those whose mean fitness is 0 have none and are skipped), which measures the
push of fitness on the gene without the drift the gene's path carries.
Runs without a complete generation are NaN.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from analysis import metrics as M
from analysis.archives import ArchiveError, open_archive, sweep_manifest
from evo.archive import complete_generations

# outcomes read from every generation of a run (the others: from its last `last`)
WHOLE_RUN = ("trend_", "selection_")

OUTCOMES = {
    "fitness": "mean own hearts per episode",
    "efficiency": "hearts per agent-step",
    "equality": "1 - Gini of hearts",
    "peace": "share of agent-steps not frozen",
    "energy_shared": "energy given per agent-step",
    "energy_to_twin": "energy given to an identical twin per agent-step",
    "energy_to_other": "energy given to a non-twin per agent-step",
    "twin_pairs": "realised share of twin pairs",
    "twin_preference": "energy given to a twin over energy given to a non-twin, per agent-step",
    "signal_level": "signal level carried per agent-step",
    "honesty": "correlation of signal carried with hearts made, over individuals",
    "signal_spending": "share of spent energy paid for signals",
    "bond_rate": "share of individuals with a mate bond",
    "trend_signal_level": "change of the signal level per generation (least squares, whole run)",
}


def run_outcomes(ds: xr.Dataset, last: int = 3) -> dict[str, float]:
    """One run's outcomes (see the module docstring), each averaged over its last `last`
    generations; an outcome the archive cannot give is left out."""
    if last < 1:
        raise ValueError(f"last: must be >= 1, got {last}")
    out: dict[str, float] = {}
    gens = ds.generation.values.astype(float)
    for name in ds.gene.values:  # selection, every generation of the run
        out[f"selection_{name}"] = float(M.selection_differential(ds, str(name)).mean())
    if len(gens) >= 2:  # escalation: does a gene (or the signal carried) rise over the run?
        for k, name in enumerate(ds.gene.values):
            mean = ds.genome.isel(gene=k).mean("individual").values
            out[f"trend_{name}"] = float(np.polyfit(gens, mean, 1)[0])
        try:
            level = M.signal_level(ds).values
            if np.isfinite(level).all():
                out["trend_signal_level"] = float(np.polyfit(gens, level, 1)[0])
        except M.MissingVariable:
            pass
    ds = ds.isel(generation=slice(-last, None))
    for k, name in enumerate(ds.gene.values):
        out[f"gene_{name}"] = float(ds.genome.isel(gene=k).mean())
    out["fitness"] = float(ds.fitness.mean())
    for name, fn in (("efficiency", M.efficiency), ("equality", M.equality), ("peace", M.peace)):
        try:
            out[name] = float(fn(ds).mean())
        except M.MissingVariable:
            pass
    try:
        rate = M.sharing_rate(ds)
        out["energy_shared"] = float((rate.energy_to_kin + rate.energy_to_nonkin).mean())
    except M.MissingVariable:
        pass
    for name, fn in (
        ("signal_level", M.signal_level), ("honesty", M.honesty),
        ("signal_spending", M.signal_spending), ("bond_rate", M.bond_rate),
    ):  # fmt: skip
        try:
            out[name] = float(fn(ds).mean(skipna=True))
        except M.MissingVariable:
            pass
    if "twin_group" in ds and (ds.twin_group >= 0).any():
        twins = M.twin_help(ds)
        for name in ("energy_to_twin", "energy_to_other", "twin_pairs"):
            out[name] = float(twins[name].mean(skipna=True))
        if out["energy_to_other"] > 0:
            out["twin_preference"] = out["energy_to_twin"] / out["energy_to_other"]
    return out


def sweep_summary(path: str | Path, last: int = 3) -> xr.Dataset:
    """Every run's outcomes as one Dataset over the sweep's dimensions (and `seed`)."""
    path = Path(path)
    dims, runs = sweep_manifest(path)
    coords = {d: list(dict.fromkeys(r["coords"][d] for r in runs)) for d in dims}
    shape = tuple(len(v) for v in coords.values())
    values: dict[str, np.ndarray] = {}
    for r in runs:
        store = path / r["folder"] / "archive.zarr"
        if complete_generations(store) == 0:
            continue
        at = tuple(coords[d].index(r["coords"][d]) for d in dims)
        for name, v in run_outcomes(open_archive(store), last).items():
            values.setdefault(name, np.full(shape, np.nan))[at] = v
    if not values:
        raise ArchiveError(f"{path}: no run of this sweep has a complete generation yet")
    out = xr.Dataset({k: (dims, v) for k, v in values.items()}, coords=coords)
    for name, var in out.data_vars.items():
        if name.startswith("trend_") and name not in OUTCOMES:
            what = f"change of the {name[6:]} gene's population mean per generation"
        elif name.startswith("selection_"):
            what = f"selection on the {name[10:]} gene: cov(gene, relative fitness) per generation"
        else:
            what = OUTCOMES.get(name, f"population mean of the {name[5:]} gene")
        var.attrs["description"] = what
    out.attrs.update(last_generations=last, sweep=str(path))
    return out
