"""The run report: every plot of `analysis.plots` as PNG plus an HTML page that shows them
under a summary table (run config, seed, wall time, versions).

    python -m analysis.report RUN_DIR [--out DIR] [--color-by GENE] [--db EVAL_DB]
    python -m analysis.report SWEEP_DIR [--out DIR] [--last 3]

RUN_DIR is what `python -m evo.run --out RUN_DIR` wrote (or its archive.zarr). The report
goes to RUN_DIR/report/ unless --out says otherwise: index.html and one PNG per figure.
SWEEP_DIR is what `python -m evo.sweep` wrote (it holds sweep.json): a table of every point's
outcomes and, where the sweep has `r` and `cost_ratio` dimensions, phase diagrams.
Exit status 2, with one message, for a path that is not a readable archive.
"""

from __future__ import annotations

import argparse
import html
import itertools
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
import xarray as xr

from analysis import metrics as M
from analysis import plots as P
from analysis.archives import ArchiveError, archive_path, open_archive
from analysis.sweeps import WHOLE_RUN
from kinevo.faults import is_url

# file stem -> (title, caption); the order of the page.
FIGURES = {
    "fitness": ("Fitness", "Best and mean fitness (own hearts per episode) per generation."),
    "genes": ("Genes", "Every individual's gene values and the population mean."),
    "metrics": ("Behaviour metrics", "Cooperation metrics per generation (analysis.metrics)."),
    "kin_selection": (
        "Kin selection",
        "Help given against relatedness; the r B > C threshold beside the observed trend.",
    ),
    "lineage": ("Lineage", "Who descends from whom; solid: parent a, dashed: parent b."),
    "kinship_network": ("Kinship network", "Kin that shared a trial in one generation."),
    "mate_network": ("Mate bonds", "Mate bonds in one generation."),
    "heatmap": ("Policy x task", "Eval scores from the eval database."),
}


def figures(
    ds: xr.Dataset,
    color_by: str = "fitness",
    db: str | Path | None = None,
    generation: int = -1,
) -> tuple[dict[str, object], dict[str, str]]:
    """{stem: matplotlib Figure} for every figure the archive can give, and {stem or metric:
    why it is absent} for the others. `generation` (default the last) is the one whose
    kinship and mate networks and kin-selection view are drawn."""
    ds = ds.load()
    figs, absent = {}, {}
    gen = int(P.select_generation(ds, generation).generation)
    figs["fitness"] = P.fitness_plot(ds)
    figs["genes"] = P.gene_plot(ds)
    values, missing = M.behaviour_metrics(ds)
    absent.update(missing)
    figs["metrics"] = P.metrics_plot(values)
    try:
        pairs = M.help_by_relatedness(ds)
        figs["kin_selection"] = P.kin_selection_plot(pairs, M.kin_selection(ds), gen)
    except M.MissingVariable as err:
        absent["kin_selection"] = str(err)
    figs["lineage"] = P.lineage_plot(ds, color_by)
    figs["kinship_network"] = P.kinship_network_plot(ds, gen)
    figs["mate_network"] = P.mate_network_plot(ds, gen)
    if db is not None:
        from analysis.heatmap import heatmap_figure

        figs["heatmap"] = heatmap_figure(db)
    return figs, absent


def summary(ds: xr.Dataset) -> dict[str, object]:
    """The summary table's rows: run facts, then the seed, wall time and package versions."""
    cfg = ds.attrs.get("config", {})
    pop = cfg.get("population", {})
    seconds = float(ds.seconds.sum()) if "seconds" in ds else float("nan")
    fit = ds.fitness.values
    rows = {
        "archive": ds.attrs.get("path", ""),
        "generations": int(ds.sizes["generation"]),
        "population": int(ds.sizes["individual"]),
        "agents per trial": pop.get("agents_per_trial", ds.sizes.get("slot")),
        "genes": ", ".join(map(str, ds.gene.values)),
        "seed": ds.attrs.get("seed"),
        "wall time (s)": round(seconds, 1),
        "best fitness, last generation (hearts per episode)": round(float(fit[-1].max()), 3),
        "mean fitness, last generation (hearts per episode)": round(float(fit[-1].mean()), 3),
    }
    for k, v in sorted(ds.attrs.items()):
        if k.startswith("version_"):
            rows[k.removeprefix("version_")] = v
    return rows


def _table(rows: dict) -> str:
    cells = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in rows.items()
    )
    return f"<table>{cells}</table>"


def page(
    title: str,
    rows: dict,
    config: dict,
    shown: list[str],
    absent: dict[str, str],
    captions: dict[str, tuple[str, str]] | None = None,
    extra_html: str = "",
) -> str:
    """The HTML page: summary table, `extra_html`, the figures in `shown` order (titles and
    captions from `captions`, default FIGURES), what is absent, config."""
    captions = FIGURES if captions is None else captions
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>",
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}",
        "table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:3px 8px;"
        "text-align:left;font-size:14px}img{max-width:100%;border:1px solid #eee}"
        "pre{background:#f6f6f6;padding:1em;font-size:12px;overflow:auto}",
        "</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        "<h2>Summary</h2>",
        _table(rows),
        extra_html,
    ]
    for stem in shown:
        name, caption = captions[stem]
        parts += [
            f"<h2 id='{stem}'>{html.escape(name)}</h2>",
            f"<p>{html.escape(caption)}</p>",
            f"<img src='{stem}.png' alt='{html.escape(name)}'>",
        ]
    if absent:
        parts += ["<h2>Not in this archive</h2>", _table(absent)]
    parts += [
        "<h2>Run config</h2>" if config else "",
        f"<pre>{html.escape(json.dumps(config, indent=2, default=str))}</pre>",
        "</body></html>",
    ]
    return "\n".join(parts)


def write_report(
    run: str | Path,
    out: str | Path | None = None,
    color_by: str = "fitness",
    db: str | Path | None = None,
    generation: int = -1,
) -> Path:
    """Write index.html and the PNGs for the run at `run`; returns the page's path."""
    store = archive_path(run)
    if is_url(store) and out is None:
        raise ValueError(f"{store}: an archive at a URL has no run folder; give --out")
    ds = open_archive(store)
    if is_url(store):
        run_dir = Path(store.rstrip("/").rsplit("/", 1)[-1])  # only its name is used
    else:
        run_dir = store.parent if store.name == "archive.zarr" else store
    out = Path(out) if out is not None else run_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    figs, absent = figures(ds, color_by, db, generation)
    for stem, fig in figs.items():
        P.save(fig, out / f"{stem}.png")
    shown = [s for s in FIGURES if s in figs]
    text = page(
        f"kinevo run {run_dir.name}", summary(ds), ds.attrs.get("config", {}), shown, absent
    )
    index = out / "index.html"
    index.write_text(text)
    return index


# outcomes drawn as phase diagrams when a sweep has `r` and `cost_ratio` dimensions
PHASE = {
    "gene_kin_weight": "Evolved kin_weight gene (population mean)",
    "trend_kin_weight": "Change of the kin_weight gene per generation",
    "selection_kin_weight": "Selection on kin_weight (Price)",
    "twin_preference": "Help to twins over help to non-twins",
    "energy_to_twin": "Help given to identical twins (energy per agent-step)",
    "energy_to_other": "Help given to non-twins (energy per agent-step)",
    "energy_shared": "All help given (energy per agent-step)",
    "fitness": "Fitness (own hearts per episode)",
    "efficiency": "Efficiency (hearts per agent-step)",
    "equality": "Equality (1 - Gini of hearts)",
    "peace": "Peace (share of agent-steps not frozen)",
}


# outcomes drawn against the sweep's first dimension otherwise (those the sweep holds)
OUTCOME_PLOTS = (
    "gene_choosiness", "trend_choosiness", "selection_choosiness", "trend_kin_weight",
    "selection_kin_weight", "signal_level",
    "trend_signal_level", "honesty", "signal_spending", "bond_rate", "gene_kin_weight",
    "energy_shared", "fitness", "efficiency", "equality", "peace",
)  # fmt: skip


def sweep_figures(
    s: xr.Dataset, runs: xr.Dataset | None = None
) -> dict[str, tuple[object, str, str]]:
    """{stem: (Figure, title, caption)}. With `r` and `cost_ratio` among the sweep's dims: one
    phase diagram per outcome of PHASE and per value of each other dimension, seeds
    averaged. Otherwise: each outcome of OUTCOME_PLOTS against the first dimension, and, from
    `runs` (`open_sweep`), every gene's population mean and the signal level per generation."""
    if not {"r", "cost_ratio"} <= set(s.dims):
        figs = {}
        dims = [d for d in s.dims if d != "seed"]
        last = s.attrs.get("last_generations")
        for name in OUTCOME_PLOTS:
            if name not in s:
                continue
            what = s[name].attrs.get("description", name)
            caption = f"{what}: mean over seeds (bars: lowest to highest seed)" + (
                "" if name.startswith(WHOLE_RUN) else f", each run's last {last} generations"
            )
            figs[f"outcome_{name}"] = (
                P.sweep_outcome_plot(s[name], dims[0], title=name),
                name,
                caption + ".",
            )
        if runs is not None:
            genome = runs.genome.mean("individual")
            series = {f"gene {g}": genome.sel(gene=g) for g in runs.gene.values}
            try:
                series["signal level"] = M.signal_level(runs)
            except M.MissingVariable:
                pass
            for label, value in series.items():
                stem = "trajectory_" + re.sub(r"\W", "_", label)
                caption = f"{label} per generation at every sweep point, mean over seeds."
                figs[stem] = (P.sweep_trajectory_plot(value.rename(label)), label, caption)
        return figs
    n_seeds = s.sizes.get("seed", 1)
    twins = "twin_pairs" in s  # relatedness by twins: a known twin has its own line, B = C
    s = s.mean("seed") if "seed" in s.dims else s
    others = [d for d in s.dims if d not in ("r", "cost_ratio")]
    figs = {}
    for name, what in PHASE.items():
        if name not in s:
            continue
        for combo in itertools.product(*(s[d].values.tolist() for d in others)):
            where = dict(zip(others, combo, strict=True))
            label = ", ".join(f"{d} = {x}" for d, x in where.items())
            value = s[name].sel(where).rename(name)
            title = what + (f" ({label})" if label else "")
            stem = "phase_" + "_".join([name, *(f"{d}-{x}" for d, x in where.items())])
            over = (
                "every generation of each run"
                if name.startswith(WHOLE_RUN)
                else f"each run's last {s.attrs.get('last_generations')} generations"
            )
            caption = (
                f"{what} over relatedness r and C/B, the mean of {n_seeds} seed(s) and of "
                f"{over}; the dashed line is r B = C, where helping whoever stands there "
                "starts to pay"
                + (
                    "; the dotted line is B = C, where helping a partner known to be a twin "
                    "starts to pay (the line for agents that tell twins apart)."
                    if twins
                    else "."
                )
            )
            figs[re.sub(r"[^A-Za-z0-9_.-]", "_", stem)] = (
                P.phase_diagram_plot(value, title=title, twin_line=twins),
                title,
                caption,
            )
    return figs


def write_sweep_report(sweep: str | Path, out: str | Path | None = None, last: int = 3) -> Path:
    """index.html and PNGs for a sweep folder (`python -m evo.sweep`): a table of every
    point's outcomes (analysis.sweeps) and the phase diagrams of `sweep_figures`."""
    from analysis.sweeps import sweep_summary

    sweep = Path(sweep)
    s = sweep_summary(sweep, last)
    out = Path(out) if out is not None else sweep / "report"
    out.mkdir(parents=True, exist_ok=True)
    from analysis.archives import open_sweep, sweep_manifest

    figs = sweep_figures(s, open_sweep(sweep))
    for stem, (fig, _, _) in figs.items():
        P.save(fig, out / f"{stem}.png")
    table = s.to_dataframe().round(4).reset_index()
    extra = "<h2>Every point (last generations' mean)</h2>" + table.to_html(index=False)
    rows = {
        "sweep": str(sweep),
        "dimensions": ", ".join(f"{d} ({s.sizes[d]})" for d in s.dims),
        "runs": len(sweep_manifest(sweep)[1]),
        "generations averaged": last,
    }
    captions = {stem: (title, caption) for stem, (_, title, caption) in figs.items()}
    text = page(f"kinevo sweep {sweep.name}", rows, {}, list(figs), {}, captions, extra)
    index = out / "index.html"
    index.write_text(text)
    return index


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m analysis.report", description=__doc__.split("\n")[0]
    )
    ap.add_argument("run", help="run folder (evo.run --out) or its archive.zarr")
    ap.add_argument("--out", help="report folder (default RUN_DIR/report)")
    ap.add_argument("--color-by", default="fitness", help="lineage node colour: fitness or a gene")
    ap.add_argument("--db", help="eval database (SQLite) for the policy x task heatmap")
    ap.add_argument(
        "--generation",
        type=int,
        default=-1,
        help="generation of the kinship and mate networks (default: the last)",
    )
    ap.add_argument(
        "--last", type=int, default=3, help="sweeps: generations each point's outcomes average"
    )
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    try:
        if (Path(args.run) / "sweep.json").is_file():
            index = write_sweep_report(args.run, args.out, args.last)
        else:
            index = write_report(args.run, args.out, args.color_by, args.db, args.generation)
    except (ArchiveError, ValueError) as err:
        print(f"analysis.report: {err}", file=sys.stderr)
        return 2
    print(f"report: {index} ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
