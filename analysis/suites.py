"""Eval suites: small seeded scenes, each with a score in [0, 1] and a scripted solver.

A task is data (`Task`: an ASCII map, the rule numbers it changes, which slots the evaluated
policy plays) plus two small pieces of code picked by its `kind`: an outcome rule that says,
step by step, whether an episode has succeeded (+1), failed (-1) or is undecided (0), and a
scripted solver that reads the world state (a baseline with privileged sight, not a learner).
The score is the fraction of episodes that succeeded; an episode still undecided at its end
has failed. A task that its scripted solver cannot solve is a broken task (`check_tasks`).

Suites (the issue's list): navigation (reach the marked cell), maze, object_use (mine ->
charger -> altar), in_context (a cue at the start says which of two altars counts; from the
junction the cue is out of sight, so solving it takes memory), cooperation (one agent can
make a heart only with the other's energy) and competition (one diamond against a random
stranger). Map legend: `world.state.parse_ascii` ('#' wall, 'm' mine, 'c' charger, 'a' altar,
'^>v<@' spawns, digit d a marker of colour d-1). The policy's own observation shape is kept:
`vision_radius` and `n_marker_colors` come from the checkpoint's world.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from world import layout as L
from world.config import WorldConfig
from world.env import World
from world.state import parse_ascii

__all__ = ["SUITES", "TASKS", "Task", "check_tasks", "play_task", "tasks_of"]

# The energy economy every scene is designed for, pinned here so that a change of the world's
# defaults cannot make a task unsolvable or trivial: moving and using cost 1, turning and
# sharing are free, no metabolism; markers drawn on the map do not fade within an episode.
SCENE_COSTS = {
    "noop": 0, "forward": 1, "back": 1, "turn_left": 0, "turn_right": 0, "use": 1, "attack": 3,
    "shield": 1, "share_energy": 0, "share_diamond": 0, "mate": 1, "signal": 0, "mark": 1,
}  # fmt: skip
BASE_RULES = {"marker_ttl": 30000, "metabolism": 0, "action_costs": SCENE_COSTS}


@dataclass(frozen=True)
class Task:
    suite: str
    name: str
    kind: str  # outcome rule and solver: reach, object_use, in_context, cooperation, competition
    maps: tuple[str, ...]  # variants; episodes are split evenly between them
    max_steps: int
    rules: dict = field(default_factory=dict)  # WorldConfig fields this scene changes
    policy_slots: tuple[int, ...] = (0,)  # slots the evaluated actor plays; others: a stranger
    about: str = ""

    @property
    def key(self) -> str:
        return f"{self.suite}/{self.name}"

    def world_config(self, variant: int = 0, like: WorldConfig | None = None) -> WorldConfig:
        """The scene's world; `like` gives the observation shape and action set (vision
        radius, markers, and the optional features that add actions, channels or own-state
        features: postures, resources and converters, building)."""
        text = self.maps[variant]
        n = sum(text.count(c) for c in "@^>v<")
        shape = {}
        if like is not None:
            shape = {
                "vision_radius": like.vision_radius,
                "n_marker_colors": like.n_marker_colors,
                "postures": like.postures,
                "resources": like.resources,
                "converters": like.converters,
                "building": like.building,
            }
        return WorldConfig(
            n_agents=n,
            max_steps=self.max_steps,
            map={"kind": "ascii", "ascii": text},
            **{**BASE_RULES, **self.rules, **shape},
        )


# fmt: off
TASKS: tuple[Task, ...] = (
    Task("navigation", "open_room", "reach", ("""
#########
#^......#
#.......#
#.......#
#.......#
#.......#
#......1#
#########""",), max_steps=40, about="walk to the marked cell across an empty room"),
    Task("navigation", "around_wall", "reach", ("""
###########
#...#.....#
#.^.#..1..#
#...#.....#
#...#.....#
#.........#
###########""",), max_steps=50, about="the marked cell is behind a wall"),
    Task("maze", "small", "reach", ("""
###########
#^..#.....#
###.#.###.#
#...#...#.#
#.#####.#.#
#.#.....#.#
#.#.#####.#
#...#...#.#
#####.#.#.#
#1....#...#
###########""",), max_steps=120, about="a hand-drawn maze, goal marked at the far end"),
    Task("object_use", "mine_charge_altar", "object_use", ("""
#######
#m...c#
#.....#
#..^..#
#.....#
#a....#
#######""",), max_steps=80,
         rules={"start_energy": 25, "altar_cost": 30, "charger_energy": 25, "mine_start": 1},
         about="start energy is short of a heart: mine, charge, then make a heart"),
    Task("in_context", "cued_altar", "in_context", tuple("""
#################
#a.............a#
########.########
########.########
########.########
########.########
########.########
########.########
########.########
########X########
########^########
#################""".replace("X", cue) for cue in "12"), max_steps=60,
         rules={"start_energy": 50, "altar_cost": 30},
         about="marker 1 at the start: the left altar counts, marker 2: the right; "
               "energy suffices for one heart and the cue is out of sight at the junction"),
    Task("cooperation", "share_to_altar", "cooperation", ("""
##########
#>...<..a#
##########""",), max_steps=40, policy_slots=(0, 1),
         rules={"start_energy": 25, "altar_cost": 30, "share_amount": 10},
         about="neither agent has the energy for a heart; the one by the altar can make one "
               "only with energy the other shares (the corridor is one cell wide)"),
    Task("competition", "one_diamond", "competition", ("""
#########
#>..m..<#
#########""",), max_steps=30, policy_slots=(0,),
         rules={"mine_start": 1, "mine_max": 1, "mine_regen": 30000},
         about="one diamond between the agent and a random stranger: win it (and keep it)"),
)
# fmt: on
SUITES: tuple[str, ...] = tuple(dict.fromkeys(t.suite for t in TASKS))


def tasks_of(suite: str) -> list[Task]:
    """The tasks of `suite` ('all' for every task); ValueError for an unknown suite."""
    if suite == "all":
        return list(TASKS)
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; known: {', '.join(SUITES)} or all")
    return [t for t in TASKS if t.suite == suite]


# -- map facts --------------------------------------------------------------------------------
def _cells(text: str, chars: str) -> list[tuple[int, int]]:
    lines = [ln for ln in text.strip("\n").splitlines() if not ln.startswith(";")]
    return [(y, x) for y, ln in enumerate(lines) for x, ch in enumerate(ln) if ch in chars]


def _cue_side(text: str) -> int:
    """in_context: index into the altars in reading order (0 left, 1 right) the cue names."""
    _, marker, _ = parse_ascii(text)
    return int(marker[marker >= 0][0])  # colour 0 -> left, 1 -> right


# -- outcome rules: (world, memo, last) -> int8[B] ---------------------------------------------
def _positions(world: World, i: int) -> tuple[np.ndarray, np.ndarray]:
    return world.state.ay[:, i], world.state.ax[:, i]


def _outcome_reach(task, text, world, memo, last):
    goals = _cells(text, "123456789")
    y, x = _positions(world, 0)
    hit = np.zeros(world.n_envs, bool)
    for gy, gx in goals:
        hit |= (y == gy) & (x == gx)
    return hit.astype(np.int8)


def _outcome_hearts(task, text, world, memo, last):
    return (world.counter("hearts").sum(1) > 0).astype(np.int8)


def _outcome_in_context(task, text, world, memo, last):
    hearts = world.counter("hearts")[:, 0].astype(np.int64)
    before = memo.setdefault("hearts", np.zeros_like(hearts))
    made = hearts > before
    memo["hearts"] = hearts.copy()
    altars = _cells(text, "a")
    gy, gx = altars[_cue_side(text)]
    s = world.state
    f = s.facing[:, 0]
    fy = s.ay[:, 0] + np.take(L.DY, f)
    fx = s.ax[:, 0] + np.take(L.DX, f)
    right = (fy == gy) & (fx == gx)
    return np.where(made, np.where(right, 1, -1), 0).astype(np.int8)


def _outcome_competition(task, text, world, memo, last):
    if not last:
        return np.zeros(world.n_envs, np.int8)
    got = world.counter("diamonds_mined") + world.counter("diamonds_stolen")
    got = got - world.counter("diamonds_lost")
    return np.where(got[:, 0] > got[:, 1], 1, -1).astype(np.int8)


OUTCOMES: dict[str, Callable] = {
    "reach": _outcome_reach,
    "object_use": _outcome_hearts,
    "in_context": _outcome_in_context,
    "cooperation": _outcome_hearts,
    "competition": _outcome_competition,
}


# -- scripted solvers ---------------------------------------------------------------------------
def _route(world: World, b: int, i: int, targets: set[tuple[int, int]]) -> int | None:
    """Next action for agent i of env b towards any of `targets` (cells to stand on), by
    breadth-first search over empty cells free of other agents; None when standing on one."""
    s = world.state
    start = (int(s.ay[b, i]), int(s.ax[b, i]))
    if start in targets:
        return None
    grid, occupied = s.grid[b], s.agent_at[b]
    prev = {start: None}
    queue = deque([start])
    end = None
    while queue:
        cell = queue.popleft()
        if cell in targets:
            end = cell
            break
        for d in range(4):
            nxt = (cell[0] + L.DY[d], cell[1] + L.DX[d])
            if nxt in prev or grid[nxt] != L.EMPTY or occupied[nxt] >= 0:
                continue
            prev[nxt] = cell
            queue.append(nxt)
    if end is None:
        return L.NOOP
    while prev[end] != start:
        end = prev[end]
    d = next(k for k in range(4) if (start[0] + L.DY[k], start[1] + L.DX[k]) == end)
    return _towards(int(s.facing[b, i]), d, L.FORWARD)


def _towards(facing: int, d: int, then: int) -> int:
    if facing == d:
        return then
    if d == (facing + 2) % 4 and then == L.FORWARD:
        return L.BACK
    return L.TURN_RIGHT if d == (facing + 1) % 4 else L.TURN_LEFT


def _use_on(world: World, b: int, i: int, cell: tuple[int, int], action: int = L.USE) -> int:
    """Walk next to `cell`, face it, then do `action`."""
    H, W = world.state.grid.shape[1:]
    beside = {(cell[0] - L.DY[d], cell[1] - L.DX[d]) for d in range(4)}
    beside = {(y, x) for y, x in beside if 0 <= y < H and 0 <= x < W}
    step = _route(world, b, i, beside)
    if step is not None:
        return step
    s = world.state
    d = next(k for k in range(4) if (s.ay[b, i] + L.DY[k], s.ax[b, i] + L.DX[k]) == cell)
    return _towards(int(s.facing[b, i]), d, action)


def _script_reach(task, text, world, b):
    goals = set(_cells(text, "123456789"))
    return {0: _route(world, b, 0, goals) or L.NOOP}


def _script_object_use(task, text, world, b):
    s, cfg = world.state, world.config
    if s.energy[b, 0] >= cfg.altar_cost + cfg.cost_of("use"):
        target = _cells(text, "a")[0]
    elif s.diamonds[b, 0] > 0:
        target = _cells(text, "c")[0]
    else:
        target = _cells(text, "m")[0]
    return {0: _use_on(world, b, 0, target)}


def _script_in_context(task, text, world, b):
    return {0: _use_on(world, b, 0, _cells(text, "a")[_cue_side(text)])}


def _script_cooperation(task, text, world, b):
    s, cfg = world.state, world.config
    giver, maker = 0, 1
    altar = _cells(text, "a")[0]
    need = cfg.altar_cost + cfg.cost_of("use") + 2 * cfg.cost_of("forward")
    if s.energy[b, maker] >= need or s.energy[b, giver] == 0:
        give = L.NOOP
    else:
        give = _use_on(world, b, giver, (int(s.ay[b, maker]), int(s.ax[b, maker])), L.SHARE_ENERGY)
    make = _use_on(world, b, maker, altar) if s.energy[b, maker] >= need else L.NOOP
    return {giver: give, maker: make}


def _script_competition(task, text, world, b):
    return {0: _use_on(world, b, 0, _cells(text, "m")[0])}


SCRIPTS: dict[str, Callable] = {
    "reach": _script_reach,
    "object_use": _script_object_use,
    "in_context": _script_in_context,
    "cooperation": _script_cooperation,
    "competition": _script_competition,
}


class ScriptedActor:
    """The task's scripted solver for every policy slot of every env."""

    def __init__(self, task: Task, text: str):
        self.task, self.text = task, text

    def __call__(self, world: World) -> np.ndarray:
        actions = np.zeros((world.n_envs, world.n_agents), np.int32)
        for b in range(world.n_envs):
            for i, a in SCRIPTS[self.task.kind](self.task, self.text, world, b).items():
                actions[b, i] = a
        return actions

    def observe_dones(self, world: World) -> None:
        pass


# -- playing ----------------------------------------------------------------------------------
def play_task(
    task: Task,
    actor: str | Callable[[Task, WorldConfig, int, int], object],
    episodes: int = 16,
    seed: int = 0,
) -> dict:
    """Play `episodes` episodes of `task` (split evenly over its map variants, one env each)
    and score them. `actor`: "random" (uniform actions), "scripted" (the task's solver), or a
    factory (task, world_config, n_envs, seed) -> actor with `__call__(world) -> int32[B, N]`
    and `observe_dones(world)` (e.g. a `PolicyActor`). Slots outside `task.policy_slots` are
    played by a uniformly random stranger. Returns {score, episodes, successes}."""
    if episodes < len(task.maps):
        raise ValueError(f"{task.key}: needs at least {len(task.maps)} episodes (one per variant)")
    counts = np.diff(np.linspace(0, episodes, len(task.maps) + 1).round().astype(int))
    successes = 0
    for v, (text, n) in enumerate(zip(task.maps, counts, strict=True)):
        cfg = task.world_config(v, like=getattr(actor, "like", None))
        successes += _play_variant(task, text, cfg, actor, int(n), seed + 1000 * v)
    return {"score": successes / episodes, "episodes": episodes, "successes": int(successes)}


def _play_variant(task, text, cfg, actor, n, seed) -> int:
    world = World(cfg, n_envs=n, seed=seed)
    world.reset(kinship=np.eye(cfg.n_agents, dtype=np.float32))  # strangers: kinship 0
    rng = np.random.default_rng(seed)
    if actor == "scripted":
        act = ScriptedActor(task, text)
    elif actor == "random":
        act = None
    else:
        act = actor(task, cfg, n, seed)
    others = [i for i in range(cfg.n_agents) if i not in task.policy_slots]
    result = np.zeros(n, np.int8)
    memo: dict = {}
    for t in range(cfg.max_steps):
        random_actions = rng.integers(0, cfg.n_actions, (n, cfg.n_agents), dtype=np.int32)
        actions = random_actions if act is None else np.array(act(world), np.int32)
        actions[:, others] = random_actions[:, others]
        last = t == cfg.max_steps - 1
        world.step(actions)
        if act is not None:
            act.observe_dones(world)
        out = OUTCOMES[task.kind](task, text, world, memo, last)
        result = np.where(result == 0, out, result)
        if (result != 0).all():
            break
    return int((result == 1).sum())


def check_tasks(tasks: list[Task] | None = None, episodes: int = 4) -> dict[str, float]:
    """{task key: scripted score} for the tasks whose scripted solver fails an episode (broken
    tasks); empty when every task is sound."""
    broken = {}
    for task in tasks or TASKS:
        score = play_task(task, "scripted", episodes)["score"]
        if score < 1.0:
            broken[task.key] = score
    return broken
