"""Cooperation metrics, one value per generation, computed from a run's archive Dataset.

Every function takes the Dataset of `analysis.open_archive` (or a hand-built one with the same
names) and returns an `xarray.DataArray` over `generation` (or a Dataset of several) whose
attrs carry `description`, `units` and `formula`. Sums run over the generation's individuals
i (their counters are already summed over their trials). A metric that needs a variable the
archive does not hold raises `MissingVariable` naming it.

Notation: h_i hearts, s_i agent-steps lived (counter `steps`), f_i frozen steps, t_i the sum
of the episode steps at which i's hearts were made (counter `heart_steps`), T the episode
length (config world.max_steps), G[t, a, b] the amount the agent in slot a gave to the one in
slot b in trial t, K[t, a, b] their kinship.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import xarray as xr

__all__ = [
    "METRICS",
    "MissingVariable",
    "behaviour_metrics",
    "bond_rate",
    "efficiency",
    "equality",
    "gini",
    "help_by_relatedness",
    "kin_selection",
    "peace",
    "selection_differential",
    "sharing_rate",
    "signal_spending",
    "sustainability",
]


class MissingVariable(KeyError):
    """The archive lacks a variable (or counter) a metric needs."""

    def __str__(self) -> str:
        return str(self.args[0])


def _counter(ds: xr.Dataset, name: str, metric: str) -> xr.DataArray:
    if "counters" not in ds:
        raise MissingVariable(f"{metric} needs the archive variable 'counters'")
    if name not in ds.counter.values:
        raise MissingVariable(
            f"{metric} needs counters[counter='{name}'], which this archive does not hold"
        )
    return ds.counters.sel(counter=name, drop=True).astype(np.float64)


def _variable(ds: xr.Dataset, name: str, metric: str) -> xr.DataArray:
    if name not in ds:
        raise MissingVariable(f"{metric} needs the archive variable '{name}', which is missing")
    return ds[name]


def _named(da: xr.DataArray, name: str, units: str, description: str, formula: str):
    da = da.rename(name)
    da.attrs = {"units": units, "description": description, "formula": formula}
    return da


def _ratio(num: xr.DataArray, den: xr.DataArray) -> xr.DataArray:
    """num / den, NaN where den is 0."""
    return (num / den.where(den != 0)).astype(np.float64)


def efficiency(ds: xr.Dataset) -> xr.DataArray:
    """Hearts per agent-step: E = sum_i h_i / sum_i s_i  [hearts per agent-step]."""
    hearts = _counter(ds, "hearts", "efficiency").sum("individual")
    steps = _counter(ds, "steps", "efficiency").sum("individual")
    return _named(
        _ratio(hearts, steps),
        "efficiency",
        "hearts per agent-step",
        "hearts made per agent-step lived",
        "sum_i h_i / sum_i s_i",
    )


def gini(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Gini coefficient along `axis`: sum_ij |x_i - x_j| / (2 n^2 mean(x)); 0 when every x
    is equal (including all zero), (n-1)/n when one member holds everything. x >= 0."""
    x = np.moveaxis(np.asarray(x, np.float64), axis, -1)
    n = x.shape[-1]
    diff = np.abs(x[..., :, None] - x[..., None, :]).sum((-1, -2))
    total = 2 * n * x.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, diff / np.where(total > 0, total, 1), 0.0)


def equality(ds: xr.Dataset) -> xr.DataArray:
    """Equality of hearts across the population: Q = 1 - Gini(h_1..h_P)  [1]; 1 when all
    individuals made the same number of hearts (also when none made any)."""
    hearts = _counter(ds, "hearts", "equality")
    g = xr.apply_ufunc(gini, hearts, input_core_dims=[["individual"]], dask="allowed")
    return _named(
        1.0 - g,
        "equality",
        "1",
        "1 - Gini coefficient of hearts over individuals",
        "1 - sum_ij |h_i - h_j| / (2 P sum_i h_i)",
    )


def sustainability(ds: xr.Dataset) -> xr.DataArray:
    """When in the episode hearts are made: the mean heart time as a fraction of the episode,
    S = sum_i t_i / (T * sum_i h_i)  [fraction of episode]. Near 1: hearts keep coming to the
    end (resources last); small: an early burst. NaN for a generation without hearts."""
    hearts = _counter(ds, "hearts", "sustainability").sum("individual")
    when = _counter(ds, "heart_steps", "sustainability").sum("individual")
    T = _max_steps(ds, "sustainability")
    return _named(
        _ratio(when, hearts * T),
        "sustainability",
        "fraction of episode",
        "mean episode step at which hearts were made, over the episode length",
        "sum_i t_i / (T sum_i h_i)",
    )


def _max_steps(ds: xr.Dataset, metric: str) -> float:
    try:
        return float(ds.attrs["config"]["world"]["max_steps"])
    except (KeyError, TypeError):
        raise MissingVariable(f"{metric} needs attrs['config']['world']['max_steps']") from None


def peace(ds: xr.Dataset) -> xr.DataArray:
    """Share of agent-steps not spent frozen: Z = 1 - sum_i f_i / sum_i s_i  [1]."""
    frozen = _counter(ds, "frozen_steps", "peace").sum("individual")
    steps = _counter(ds, "steps", "peace").sum("individual")
    return _named(
        1.0 - _ratio(frozen, steps),
        "peace",
        "1",
        "share of agent-steps not frozen",
        "1 - sum_i f_i / sum_i s_i",
    )


def _kin_mask(ds: xr.Dataset, kin_threshold: float) -> tuple[xr.DataArray, xr.DataArray]:
    """(kin, nonkin) boolean masks over (generation, trial, slot, slot_other), off-diagonal
    pairs of filled slots only."""
    k = ds.kinship
    other = ds.slot != ds.slot_other
    filled = (ds.trial_uids >= 0) & (ds.trial_uids.rename(slot="slot_other") >= 0)
    dims = ("generation", "trial", "slot", "slot_other")
    pair = (other & filled).transpose(*dims)
    return (pair & (k > kin_threshold)).transpose(*dims), (pair & (k <= kin_threshold)).transpose(
        *dims
    )


def sharing_rate(ds: xr.Dataset, kin_threshold: float = 0.0) -> xr.Dataset:
    """Energy and diamonds given per agent-step, split by whether the receiver is kin
    (K > kin_threshold) or not [energy units, resp. diamonds, per agent-step]:

    energy_to_kin = sum_{t, a != b, K[t,a,b] > k0} E[t,a,b] / sum_i s_i, likewise
    energy_to_nonkin (K <= k0), diamonds_to_kin, diamonds_to_nonkin with D for E, where E and
    D are the trial-level `energy_given` and `diamonds_given`."""
    steps = _counter(ds, "steps", "sharing_rate").sum("individual")
    kin, non = _kin_mask(ds, kin_threshold)
    out = {}
    for var, label, units in (
        ("energy_given", "energy", "energy per agent-step"),
        ("diamonds_given", "diamonds", "diamonds per agent-step"),
    ):
        given = _variable(ds, var, "sharing_rate").astype(np.float64)
        for mask, who in ((kin, "kin"), (non, "nonkin")):
            total = given.where(mask, 0.0).sum(("trial", "slot", "slot_other"))
            name = f"{label}_to_{who}"
            out[name] = _named(
                _ratio(total, steps),
                name,
                units,
                f"{label} given to {'kin' if who == 'kin' else 'non-kin'} "
                f"(K {'>' if who == 'kin' else '<='} {kin_threshold}) per agent-step",
                f"sum over pairs a != b with that kinship of {var} / sum_i s_i",
            )
    return xr.Dataset(out)


def bond_rate(ds: xr.Dataset) -> xr.DataArray:
    """Share of individuals that formed a mate bond: B = #{i : mate_i != -1} / P  [1]."""
    mate = _variable(ds, "mate", "bond_rate")
    return _named(
        (mate >= 0).mean("individual").astype(np.float64),
        "bond_rate",
        "1",
        "share of individuals with a mate bond",
        "#{i : mate_i >= 0} / P",
    )


def signal_spending(ds: xr.Dataset) -> xr.DataArray:
    """Share of all energy spent that went on signals: sum_i signal_spent_i / sum_i
    energy_spent_i  [1]."""
    sig = _counter(ds, "signal_spent", "signal_spending").sum("individual")
    spent = _counter(ds, "energy_spent", "signal_spending").sum("individual")
    return _named(
        _ratio(sig, spent),
        "signal_spending",
        "1",
        "share of spent energy paid for signals",
        "sum_i signal_spent_i / sum_i energy_spent_i",
    )


def signal_level(ds: xr.Dataset) -> xr.DataArray:
    """Mean signal level an agent carries: sum_i signal_steps_i / sum_i s_i  [levels]."""
    level = _counter(ds, "signal_steps", "signal_level").sum("individual")
    steps = _counter(ds, "steps", "signal_level").sum("individual")
    return _named(
        _ratio(level, steps),
        "signal_level",
        "levels",
        "signal level carried, averaged over agent-steps",
        "sum_i signal_steps_i / sum_i s_i",
    )


def honesty(ds: xr.Dataset) -> xr.DataArray:
    """How honest signals are: the Pearson correlation over individuals between the signal
    each carried (signal_steps_i / s_i) and its own ability (hearts_i / s_i)  [1]; NaN where
    either does not vary."""
    level = _counter(ds, "signal_steps", "honesty")
    hearts = _counter(ds, "hearts", "honesty")
    steps = _counter(ds, "steps", "honesty")
    x, y = _ratio(level, steps).fillna(0.0), _ratio(hearts, steps).fillna(0.0)
    dx, dy = x - x.mean("individual"), y - y.mean("individual")
    den = np.sqrt((dx**2).sum("individual") * (dy**2).sum("individual"))
    return _named(
        _ratio((dx * dy).sum("individual"), den),
        "honesty",
        "1",
        "correlation over individuals of the signal carried and the hearts made per step",
        "corr_i(signal_steps_i / s_i, hearts_i / s_i)",
    )


def help_by_relatedness(ds: xr.Dataset, diamond_value: float | None = None) -> xr.Dataset:
    """Every ordered pair (giver a, receiver b != a) of every trial, flattened along `pair`,
    with `generation`, `relatedness` r = K[t,a,b] and `help` = E[t,a,b] + v D[t,a,b] (energy
    given plus diamonds given valued at v energy each; v defaults to the config's
    world.charger_energy, what a charger makes of a diamond)  [energy units per trial]."""
    energy = _variable(ds, "energy_given", "help_by_relatedness").astype(np.float64)
    diamonds = _variable(ds, "diamonds_given", "help_by_relatedness").astype(np.float64)
    if diamond_value is None:
        diamond_value = float(ds.attrs.get("config", {}).get("world", {}).get("charger_energy", 1))
    kin, non = _kin_mask(ds, -np.inf)
    pair = (kin | non).values
    dims = ("generation", "trial", "slot", "slot_other")
    help_ = (energy + diamond_value * diamonds).transpose(*dims).values[pair]
    r = ds.kinship.transpose(*dims).values.astype(np.float64)[pair]
    gen = np.broadcast_to(ds.generation.values[:, None, None, None], pair.shape)[pair]
    out = xr.Dataset(
        {
            "generation": ("pair", gen),
            "relatedness": ("pair", r, {"units": "1", "description": "kinship K of the pair"}),
            "help": ("pair", help_, {"units": "energy", "description": "help given a -> b"}),
        }
    )
    out.attrs["diamond_value"] = diamond_value
    return out


def twin_help(ds: xr.Dataset) -> xr.Dataset:
    """Help by true relatedness under `population.relatedness`, per generation: energy given
    to an identical twin and to a partner that is not one, per agent-step of the givers of
    each kind [energy per agent-step], and `twin_pairs`, the share of (giver, receiver) pairs
    that are twins (with 2 agents a trial, the share of givers that had one) [1]. Reads
    `twin_group`, not K, so it also holds for the kin-blind control (whose K says nothing
    about who is a twin)."""
    for name in ("twin_group", "energy_given", "trial_uids", "uid"):
        _variable(ds, name, "twin_help")
    steps = _counter(ds, "steps", "twin_help").values
    given = ds.energy_given.transpose("generation", "trial", "slot", "slot_other").values
    trial_uids = ds.trial_uids.transpose("generation", "trial", "slot").values
    uids, groups = ds.uid.values, ds.twin_group.values
    G = len(ds.generation)
    cols = {k: np.full(G, np.nan) for k in ("energy_to_twin", "energy_to_other", "twin_pairs")}
    S = trial_uids.shape[2]
    for g in range(G):
        order = np.argsort(uids[g])
        at = np.clip(np.searchsorted(uids[g], trial_uids[g], sorter=order), 0, len(order) - 1)
        rows = np.where(uids[g][order[at]] == trial_uids[g], order[at], -1)  # [trial, slot]
        filled = rows >= 0
        group = np.where(filled, groups[g][rows], -1)
        pair = filled[:, :, None] & filled[:, None, :] & ~np.eye(S, dtype=bool)  # giver, receiver
        twin = pair & (group[:, :, None] >= 0) & (group[:, :, None] == group[:, None, :])
        giver_steps = np.broadcast_to(np.where(filled, steps[g][rows], 0)[:, :, None], pair.shape)
        for mask, name in ((twin, "energy_to_twin"), (pair & ~twin, "energy_to_other")):
            spent = giver_steps[mask].sum()
            if spent > 0:
                cols[name][g] = given[g][mask].sum() / spent
        cols["twin_pairs"][g] = twin.sum() / pair.sum() if pair.any() else np.nan
    out = xr.Dataset(coords={"generation": ds.generation.values})
    out["energy_to_twin"] = _named(
        xr.DataArray(cols["energy_to_twin"], dims="generation"), "energy_to_twin",
        "energy per agent-step", "energy given to an identical twin per agent-step of the givers "
        "that had one", "sum of energy_given to twins / sum of those givers' steps",
    )  # fmt: skip
    out["energy_to_other"] = _named(
        xr.DataArray(cols["energy_to_other"], dims="generation"), "energy_to_other",
        "energy per agent-step", "energy given to a partner that is not a twin per agent-step",
        "sum of energy_given to non-twins / sum of those givers' steps",
    )  # fmt: skip
    out["twin_pairs"] = _named(
        xr.DataArray(cols["twin_pairs"], dims="generation"), "twin_pairs", "1",
        "share of (giver, receiver) pairs that are identical twins (the realised r)",
        "pairs with equal twin_group >= 0 / all pairs",
    )  # fmt: skip
    return out


def selection_differential(ds: xr.Dataset, gene: str) -> xr.DataArray:
    """Selection on a gene, per generation: Price's selection term S = cov_i(z_i, f_i / f̄),
    the covariance over individuals of the gene's value z_i with relative fitness (fitness
    over the generation's mean)  [gene units per generation]. It is the change in the
    gene's mean that selection alone would make were offspring in proportion to fitness:
    positive where carriers of more of the gene did better. The GA's tournaments turn rank,
    not fitness, into offspring, so S gives the direction and a scale, not the realised step.
    NaN where mean fitness is 0."""
    genome = _variable(ds, "genome", "selection_differential")
    fitness = _variable(ds, "fitness", "selection_differential").astype(np.float64)
    if gene not in genome.gene.values:
        raise MissingVariable(
            f"selection_differential: no gene {gene!r}; the archive has {list(genome.gene.values)}"
        )
    z = genome.sel(gene=gene, drop=True).astype(np.float64)
    w = _ratio(fitness, fitness.mean("individual"))
    cov = ((z - z.mean("individual")) * (w - w.mean("individual"))).mean("individual")
    return _named(
        cov,
        f"selection_{gene}",
        "gene units per generation",
        f"selection on the {gene} gene: covariance of the gene with relative fitness",
        "mean_i (z_i - z̄) (f_i / f̄ - 1)",
    )


def kin_selection(
    ds: xr.Dataset, benefit_cost_ratio: float = 1.0, diamond_value: float | None = None
) -> xr.Dataset:
    """A Hamilton's-rule check per generation: the observed trend of help against relatedness
    beside the r B > C prediction.

    Observed: `slope` and `intercept` of the least-squares line help = intercept + slope r over
    the generation's pairs [energy per unit of r]; `help_kin` and `help_nonkin`, the mean help
    to pairs with r > r* and r <= r*. Predicted: help is favoured where r B > C, i.e. above
    r* = C / B = 1 / benefit_cost_ratio (`threshold`); a plain transfer has B = C (r* = 1, so
    nobody but a clone is worth helping) unless the receiver turns the gift into more hearts
    than the giver would. `agrees` is true where the observed help is larger above r* than
    below it (NaN when a side has no pairs)."""
    pairs = help_by_relatedness(ds, diamond_value)
    threshold = 1.0 / benefit_cost_ratio
    gens = ds.generation.values
    cols = {
        k: np.full(len(gens), np.nan) for k in ("slope", "intercept", "help_kin", "help_nonkin")
    }
    for n, g in enumerate(gens):
        sel = pairs.generation.values == g
        r, h = pairs.relatedness.values[sel], pairs.help.values[sel]
        if len(r) >= 2 and np.ptp(r) > 0:
            cols["slope"][n], cols["intercept"][n] = np.polyfit(r, h, 1)
        above = r > threshold
        if above.any():
            cols["help_kin"][n] = h[above].mean()
        if (~above).any():
            cols["help_nonkin"][n] = h[~above].mean()
    agrees = np.where(
        np.isnan(cols["help_kin"]) | np.isnan(cols["help_nonkin"]),
        np.nan,
        (cols["help_kin"] > cols["help_nonkin"]).astype(float),
    )
    out = xr.Dataset(
        {k: ("generation", v, {"units": "energy"}) for k, v in cols.items()},
        coords={"generation": gens},
    )
    out["slope"].attrs["units"] = "energy per unit relatedness"
    out["agrees"] = ("generation", agrees, {"units": "1"})
    out.attrs.update(threshold=threshold, benefit_cost_ratio=benefit_cost_ratio)
    return out


# name -> function; behaviour_metrics computes every one the archive can give.
METRICS: dict[str, Callable[[xr.Dataset], xr.DataArray | xr.Dataset]] = {
    "efficiency": efficiency,
    "equality": equality,
    "sustainability": sustainability,
    "peace": peace,
    "sharing_rate": sharing_rate,
    "bond_rate": bond_rate,
    "signal_spending": signal_spending,
    "signal_level": signal_level,
    "honesty": honesty,
}


def behaviour_metrics(ds: xr.Dataset) -> tuple[xr.Dataset, dict[str, str]]:
    """Every metric in METRICS that the archive holds the variables for, as one Dataset over
    `generation` (loaded), and {metric: why it is missing} for the others."""
    out, missing = {}, {}
    for name, fn in METRICS.items():
        try:
            value = fn(ds)
        except MissingVariable as err:
            missing[name] = str(err)
            continue
        if isinstance(value, xr.Dataset):
            out.update(value.data_vars)
        else:
            out[name] = value
    return xr.Dataset(out).load(), missing
