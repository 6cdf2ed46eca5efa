"""Evaluate a checkpoint: run episodes with its agents and print their scores.

    python -m evo.sim runs/out/train/policy.pt --episodes 16 --gif runs/out/sim.gif

Prints JSON: own hearts per agent-episode for the trained agents and, in the same run and
worlds, for uniformly random agents, plus every behaviour counter.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from evo.checkpoint import CheckpointError, load_checkpoint
from evo.evaluate import PolicyActor, play_episodes


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m evo.sim", description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint", help="NAME.pt (with NAME.json beside it)")
    ap.add_argument("--episodes", type=int, default=16)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--greedy", action="store_true", help="take the most likely action")
    ap.add_argument("--gif", help="save the first episode as a GIF")
    args = ap.parse_args(argv)
    try:
        ck = load_checkpoint(args.checkpoint)
    except CheckpointError as err:
        print(err, file=sys.stderr)
        sys.exit(2)
    kin = ck.extra.get("kinship")
    kinship = np.asarray(kin, np.float32) if kin is not None else None
    frames = [] if args.gif else None
    actor = PolicyActor(ck, args.episodes, seed=args.seed, greedy=args.greedy)
    trained = play_episodes(ck.world, actor, args.episodes, args.seed, kinship, frames)
    random = play_episodes(ck.world, None, args.episodes, args.seed, kinship)
    report = {"trained": trained, "random": random}
    if args.gif:
        from world.render import save_gif

        report["gif"] = str(save_gif(frames, args.gif))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
