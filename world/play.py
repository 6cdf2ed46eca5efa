"""Drive one agent from the keyboard in a terminal (curses).

    python -m world.play                       # a random scatter map
    python -m world.play maze                  # any map kind: scatter, rooms, caves, maze
    python -m world.play world/scenes/arena.txt --agents 4
    python -m world.play --config runs/world.yaml

    python -m world.play --policy runs/out/train/policy.pt

You are agent 0 (highlighted). The other agents act uniformly at random from the play
session's seeded generator, or, with `--policy`, as the checkpoint's trained agents do (the
world then comes from the checkpoint; loading it is the one place `world` reaches into `evo`,
and only when asked). Keys are listed on screen (`KEYS` below).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from world import layout as L
from world.config import (
    MAP_KINDS,
    ConfigError,
    WorldConfig,
    load_world_config,
    world_config_from_dict,
)
from world.env import World
from world.render import to_ascii

KEYS = {
    "w": L.FORWARD,
    "s": L.BACK,
    "a": L.TURN_LEFT,
    "d": L.TURN_RIGHT,
    " ": L.USE,
    "e": L.USE,
    "f": L.ATTACK,
    "q": L.SHIELD,
    "g": L.SHARE_ENERGY,
    "h": L.SHARE_DIAMOND,
    "m": L.MATE,
    "n": L.SIGNAL,
    ".": L.NOOP,
    **{str(c + 1): L.MARK0 + c for c in range(9)},
}
# Keys of the optional features' actions, by name (bound only when the feature is on).
FEATURE_KEYS = {
    "z": "posture_stand",
    "r": "posture_rest",
    "t": "posture_guard",
    "y": "posture_sprint",
    "b": "build",
    "v": "destroy",
}
QUIT = ("x", "\x1b")
HELP = (
    "w/s forward/back  a/d turn  space use  f attack  q shield  g give energy  "
    "h give diamond  m mate  n signal  1-9 mark  . wait  x quit"
    "  [postures: z stand r rest t guard y sprint] [building: b build v destroy]"
)


class PlaySession:
    """The game without the terminal: `press(key)` steps the world once for a known key."""

    def __init__(self, world: World, player: int = 0, seed: int = 0, others=None):
        """others: optional `others(world) -> int32[1, N]` choosing the other agents' actions
        (a trained policy); uniformly random when None."""
        self.world = world
        self.player = player
        self.others = others
        self.rng = np.random.default_rng(seed)
        self.total_reward = 0.0
        self.steps = 0
        world.reset()

    def action_for(self, key: str) -> int | None:
        names = self.world.action_names
        if key in FEATURE_KEYS:
            return names.index(FEATURE_KEYS[key]) if FEATURE_KEYS[key] in names else None
        a = KEYS.get(key)
        if a is None or a >= L.MARK0 + self.world.config.n_marker_colors:
            return None  # a mark colour the world does not have
        return a

    def press(self, key: str) -> bool:
        """Apply one key; returns False when the player asked to quit."""
        if key in QUIT:
            return False
        a = self.action_for(key)
        if a is None:
            return True
        w = self.world
        if self.others is None:
            actions = self.rng.integers(0, w.n_actions, (1, w.n_agents), np.int32)
        else:
            actions = np.array(self.others(w), dtype=np.int32)
        actions[0, self.player] = a
        w.step(actions)
        if self.others is not None and hasattr(self.others, "observe_dones"):
            self.others.observe_dones(w)
        self.total_reward += float(w.rewards[0, self.player])
        self.steps += 1
        return True

    def screen(self) -> list[str]:
        w, s, i = self.world, self.world.state, self.player
        lines = to_ascii(w).splitlines()
        lines.append("")
        lines.append(
            f"you: energy {s.energy[0, i]}/{w.config.max_energy}  diamonds {s.diamonds[0, i]}"
            f"/{w.config.max_inventory}  hearts {s.hearts[0, i]}  shield "
            f"{'UP' if s.shield[0, i] else 'down'}  frozen {s.frozen[0, i]}  signal "
            f"{s.signal[0, i]}  step {s.step[0]}/{w.config.max_steps}  reward {self.total_reward:g}"
        )
        lines.append(HELP)
        return lines


def _run_curses(session: PlaySession) -> None:
    import curses

    def loop(stdscr):
        curses.curs_set(0)
        curses.use_default_colors()
        curses.init_pair(1, curses.COLOR_YELLOW, -1)
        while True:
            stdscr.erase()
            rows, cols = stdscr.getmaxyx()
            s = session.world.state
            py, px = int(s.ay[0, session.player]), int(s.ax[0, session.player])
            for y, line in enumerate(session.screen()[: rows - 1]):
                stdscr.addnstr(y, 0, line, cols - 1)
            if py < rows - 1 and px < cols - 1:
                ch = to_ascii(session.world).splitlines()[py][px]
                stdscr.addstr(py, px, ch, curses.color_pair(1) | curses.A_BOLD | curses.A_REVERSE)
            stdscr.refresh()
            k = stdscr.getch()
            key = {
                curses.KEY_UP: "w",
                curses.KEY_DOWN: "s",
                curses.KEY_LEFT: "a",
                curses.KEY_RIGHT: "d",
            }.get(k, chr(k) if 0 <= k < 256 else "")
            if not session.press(key):
                return

    curses.wrapper(loop)


def config_for(map_arg: str | None, config_path: str | None, agents: int | None) -> WorldConfig:
    data = {}
    if config_path:
        data = load_world_config(config_path).model_dump()
    if map_arg:
        if map_arg in MAP_KINDS and map_arg != "ascii":
            data.setdefault("map", {})["kind"] = map_arg
        else:
            path = Path(map_arg)
            if not path.is_file():
                kinds = ", ".join(k for k in MAP_KINDS if k != "ascii")
                raise ConfigError([f"{map_arg}: MAP must be a map file or one of {kinds}"])
            m = data.setdefault("map", {})
            m.update(kind="ascii", ascii_file=str(path), ascii=None)
    if agents is not None:
        data["n_agents"] = agents
    return world_config_from_dict(data, source=config_path or "world.play")


def _policy_players(path: str, seed: int):
    from evo.checkpoint import load_checkpoint
    from evo.evaluate import PolicyActor

    ck = load_checkpoint(path)  # CheckpointError is a ValueError
    return ck.world, PolicyActor(ck, n_envs=1, seed=seed)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m world.play", description="play one agent")
    ap.add_argument("map", nargs="?", help="ASCII map file or map kind (scatter, rooms, ...)")
    ap.add_argument("--config", help="YAML file with a world: section")
    ap.add_argument("--agents", type=int, help="number of agents (you are agent 0)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--policy", help="checkpoint (NAME.pt) whose agents play beside you")
    args = ap.parse_args(argv)
    others = None
    try:
        if args.policy:
            cfg, others = _policy_players(args.policy, args.seed)
        else:
            cfg = config_for(args.map, args.config, args.agents)
        world = World(cfg, n_envs=1, seed=args.seed)
    except (ConfigError, ValueError) as err:
        print(err, file=sys.stderr)
        sys.exit(2)
    session = PlaySession(world, player=0, seed=args.seed, others=others)
    if not sys.stdin.isatty():
        sys.exit("world.play needs an interactive terminal")
    _run_curses(session)
    print(
        f"steps {session.steps}, hearts {world.state.hearts[0, 0]}, reward {session.total_reward:g}"
    )


if __name__ == "__main__":
    main()
