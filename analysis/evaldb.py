"""The eval database: one SQLite file of eval results, so policies from different runs can be
compared task by task.

One table, `results` (COLUMNS): policy (a URI: `file:///.../g0003_uid17.pt` for a checkpoint,
`baseline:random` / `baseline:scripted`), run (the run folder's name, '' for baselines),
generation (-1 when none), suite, task, episodes (>= 1), score (fraction of episodes solved,
0..1), seconds (wall time of the evaluation) and time (UTC, ISO 8601). Rows are checked on the
way in and on the way out: a malformed row raises `EvalDBError` naming the row and the field.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["COLUMNS", "EvalDBError", "Result", "connect", "insert", "read", "now"]


class EvalDBError(ValueError):
    pass


@dataclass(frozen=True)
class Result:
    policy: str
    run: str
    generation: int
    suite: str
    task: str
    episodes: int
    score: float
    seconds: float
    time: str


COLUMNS = tuple(Result.__dataclass_fields__)
SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY,
    policy TEXT NOT NULL CHECK (length(policy) > 0),
    run TEXT NOT NULL,
    generation INTEGER NOT NULL CHECK (generation >= -1),
    suite TEXT NOT NULL CHECK (length(suite) > 0),
    task TEXT NOT NULL CHECK (length(task) > 0),
    episodes INTEGER NOT NULL CHECK (episodes >= 1),
    score REAL NOT NULL CHECK (score >= 0 AND score <= 1),
    seconds REAL NOT NULL CHECK (seconds >= 0),
    time TEXT NOT NULL
)"""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def check(row: Mapping, where: str = "row") -> Result:
    """A Result from a mapping with exactly COLUMNS, or EvalDBError naming the problem."""
    if not isinstance(row, Mapping):
        raise EvalDBError(f"{where}: expected a mapping with {list(COLUMNS)}, got {type(row)}")
    missing = [c for c in COLUMNS if c not in row]
    extra = [c for c in row if c not in COLUMNS and c != "id"]
    if missing or extra:
        raise EvalDBError(f"{where}: missing fields {missing}, unknown fields {extra}")
    types = {"generation": int, "episodes": int, "score": (int, float), "seconds": (int, float)}
    for name in COLUMNS:
        v = row[name]
        want = types.get(name, str)
        if isinstance(v, bool) or not isinstance(v, want):
            raise EvalDBError(f"{where}: {name} must be {_name(want)}, got {v!r}")
    r = Result(**{c: row[c] for c in COLUMNS})
    problems = []
    if not r.policy or not r.suite or not r.task:
        problems.append("policy, suite and task must not be empty")
    if r.generation < -1:
        problems.append(f"generation must be >= -1, got {r.generation}")
    if r.episodes < 1:
        problems.append(f"episodes must be >= 1, got {r.episodes}")
    if not (math.isfinite(r.score) and 0 <= r.score <= 1):
        problems.append(f"score must be in [0, 1], got {r.score}")
    if not (math.isfinite(r.seconds) and r.seconds >= 0):
        problems.append(f"seconds must be >= 0, got {r.seconds}")
    try:
        datetime.fromisoformat(r.time)
    except ValueError:
        problems.append(f"time must be ISO 8601, got {r.time!r}")
    if problems:
        raise EvalDBError(f"{where}: " + "; ".join(problems))
    return r


def _name(t) -> str:
    return " or ".join(x.__name__ for x in t) if isinstance(t, tuple) else t.__name__


def connect(path: str | Path) -> sqlite3.Connection:
    """Open (creating if needed) the database at `path`; EvalDBError for a file that is not
    an eval database."""
    path = Path(path)
    try:
        con = sqlite3.connect(path)
        con.execute(SCHEMA)
        cols = [r[1] for r in con.execute("PRAGMA table_info(results)")]
    except sqlite3.DatabaseError as err:
        raise EvalDBError(f"{path}: not an eval database ({err})") from None
    if cols[1:] != list(COLUMNS):
        raise EvalDBError(f"{path}: table results has columns {cols}, expected id + {COLUMNS}")
    return con


def insert(path: str | Path, rows: Iterable[Mapping | Result]) -> int:
    """Check and append rows (all or none); returns how many were written."""
    checked = []
    for k, row in enumerate(rows):
        row = asdict(row) if isinstance(row, Result) else row
        checked.append(check(row, f"{path}: new row {k}"))
    con = connect(path)
    with con:
        con.executemany(
            f"INSERT INTO results ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
            [tuple(asdict(r).values()) for r in checked],
        )
    con.close()
    return len(checked)


def read(path: str | Path) -> list[Result]:
    """Every row, checked, in insertion order; EvalDBError for a missing file or a bad row."""
    path = Path(path)
    if not path.is_file():
        raise EvalDBError(f"{path}: no such eval database")
    con = connect(path)
    con.row_factory = sqlite3.Row
    rows = con.execute("SELECT * FROM results ORDER BY id").fetchall()
    con.close()
    return [check(dict(r), f"{path}: row id {r['id']}") for r in rows]
