"""The run report: every plot of `analysis.plots` as PNG plus an HTML page that shows them
under a summary table (run config, seed, wall time, versions).

    python -m analysis.report RUN_DIR [--out DIR] [--color-by GENE] [--db EVAL_DB]

RUN_DIR is what `python -m evo.run --out RUN_DIR` wrote (or its archive.zarr). The report
goes to RUN_DIR/report/ unless --out says otherwise: index.html and one PNG per figure.
Exit status 2, with one message, for a path that is not a readable archive.
"""

from __future__ import annotations

import argparse
import html
import json
import sys
import time
from pathlib import Path

import numpy as np
import xarray as xr

from analysis import metrics as M
from analysis import plots as P
from analysis.archives import ArchiveError, archive_path, open_archive

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


def page(title: str, rows: dict, config: dict, shown: list[str], absent: dict[str, str]) -> str:
    """The HTML page: summary table, the figures in FIGURES order, what is absent, config."""
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
    ]
    for stem in shown:
        name, caption = FIGURES[stem]
        parts += [
            f"<h2 id='{stem}'>{html.escape(name)}</h2>",
            f"<p>{html.escape(caption)}</p>",
            f"<img src='{stem}.png' alt='{html.escape(name)}'>",
        ]
    if absent:
        parts += ["<h2>Not in this archive</h2>", _table(absent)]
    parts += [
        "<h2>Run config</h2>",
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
    ds = open_archive(store)
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
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    try:
        index = write_report(args.run, args.out, args.color_by, args.db, args.generation)
    except (ArchiveError, ValueError) as err:
        print(f"analysis.report: {err}", file=sys.stderr)
        return 2
    print(f"report: {index} ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
