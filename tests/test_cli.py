"""Command lines: the world demo and the benchmark print what they promise."""

import json
import subprocess
import sys

from world import bench


def test_demo_runs_and_writes_a_gif(tmp_path):
    gif = tmp_path / "demo.gif"
    r = subprocess.run(
        [sys.executable, "-m", "world.demo", "--envs", "2", "--steps", "30", "--gif", str(gif)],
        capture_output=True,
        text=True,
        check=True,
    )
    summary = json.loads(r.stdout)
    assert summary["steps"] == 30 and summary["envs"] == 2 and gif.stat().st_size > 0
    assert summary["mean_per_agent"]["energy_spent"] > 0


def test_bench_prints_json_lines_with_its_figures(capsys):
    bench.main(["--steps", "40", "--rounds", "1", "--envs", "4"])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    kinds = {x["bench"] for x in lines}
    assert {"machine", "reference", "batched", "memory"} <= kinds
    ref = next(x for x in lines if x["bench"] == "reference")
    assert ref["agents"] == 24 and ref["grid"] == "37x37" and ref["agent_steps_per_s"] > 0
