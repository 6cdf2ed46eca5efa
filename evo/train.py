"""Train one group of agents with PPO and save what they learned.

    python -m evo.train runs/train.yaml --out runs/out/train

Shows a progress bar (agent-steps/s, hearts per agent-episode, losses), then writes
`DIR/policy.pt` + `DIR/policy.json` (checkpoint), `DIR/curve.csv` and `DIR/curve.json`
(one row per update) and prints a JSON summary.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from evo.checkpoint import save_checkpoint
from evo.config import load_train_config
from evo.ppo import resolve_device
from evo.trial import run_trial
from kinevo.config import ConfigError


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m evo.train", description=__doc__.split("\n")[0])
    ap.add_argument("config", help="YAML with world:, ppo:, kinship:, genes:, seed:")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--seed", type=int, help="overrides the config's seed")
    args = ap.parse_args(argv)
    try:
        cfg = load_train_config(args.config)
    except ConfigError as err:
        print(err, file=sys.stderr)
        sys.exit(2)
    try:
        resolve_device(cfg.ppo.device)
    except RuntimeError as err:  # cuda asked for where there is none
        print(f"{args.config}: {err}", file=sys.stderr)
        sys.exit(2)
    seed = cfg.seed if args.seed is None else args.seed
    world, ppo, kin = cfg.world, cfg.ppo, cfg.kinship
    N = world.n_agents
    genes = {k: np.full(N, v) for k, v in cfg.genes.items()}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    bar = tqdm(total=ppo.num_updates, desc="updates", unit="upd", file=sys.stderr)

    def progress(row: dict) -> None:
        bar.update(1)
        bar.set_postfix(
            sps=f"{row['agent_steps_per_s']:.0f}",
            hearts=f"{row['hearts_per_agent_episode']:.2f}",
            pg=f"{row['pg_loss']:.3f}",
            v=f"{row['v_loss']:.3f}",
            ent=f"{row['entropy']:.2f}",
        )

    try:
        result = run_trial(
            genes, np.arange(N), world, ppo, kin, seed, return_weights=True, callback=progress
        )
    finally:
        bar.close()

    ckpt = save_checkpoint(
        out / "policy",
        world,
        ppo,
        result.weights,
        genes={k: v.tolist() for k, v in genes.items()},
        uids=result.uids.tolist(),
        seed=seed,
        kinship=result.kinship.tolist(),
    )
    with open(out / "curve.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(result.curve[0]))
        writer.writeheader()
        writer.writerows(result.curve)
    (out / "curve.json").write_text(json.dumps(result.curve, indent=1))
    summary = {
        "checkpoint": str(ckpt),
        "agent_steps": result.agent_steps,
        "seconds": round(result.seconds, 1),
        "hearts_per_episode": [round(float(x), 3) for x in result.fitness],
        "nan_skips": result.nan_skips.tolist(),
        "bonds": len(result.bonds),
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
