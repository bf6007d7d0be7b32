"""What the most expensive valid requests cost: bounded in CPU time and memory.

Each worst case of `tests/utils/worst_cases.py` (dots, noise, inflating
pictures, zigzags with the widest pen, the most strokes) is sent in a fresh
process, which reports the CPU seconds each took and its peak resident size.
The budget is 1 s on one core and 300 MB; CPU time is allowed twice that here
so that a slow machine does not fail a test that measures cost, not speed
(`python -m tests.benchmarks.load` reports the real times).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.utils.apps import ROOT


@pytest.fixture(scope="module")
def costs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("worst")
    done = subprocess.run(
        [sys.executable, "-m", "tests.utils.worst_cases", str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return {row["name"]: row for row in json.loads(done.stdout.strip().splitlines()[-1])}


def test_every_worst_case_answers_cleanly_within_the_budget(costs):
    for name, row in costs.items():
        assert row["status"] in (200, 413, 422), (name, row)
        assert row["cpu_s"] < 2.0, (name, row)
    assert max(row["peak_mb"] for row in costs.values()) < 300, costs


def test_the_reproducers_are_refused_before_the_expensive_step(costs):
    # 10,000 one-pixel dots in a 577-byte PNG used to take 9 s and 2.6 GB.
    dots = costs["dots over the mark limit, /api/read"]
    assert dots["status"] == 422 and "separate marks" in dots["error"] and dots["cpu_s"] < 0.5
    assert costs["speckled noise picture, /api/read"]["status"] == 422
    # Ten 2,000-point zigzags: past the reading's budget of drawn points.
    dense = costs["ten denser zigzags, widest pen, /api/read"]
    assert dense["status"] == 422 and "too many points" in dense["error"]
    for name in (
        "audit's ten zigzags, pen 200 of 600, /api/read",
        "audit's zigzag, pen 4000 of 4096, /api/predict",
    ):
        assert costs[name]["status"] == 422 and "line_width" in costs[name]["error"], name


def test_the_costliest_accepted_requests_are_answered(costs):
    for name in (
        "ten zigzags, widest pen, /api/read",
        "tangled noise picture, /api/read",
        "20,000-point zigzag, widest pen, /api/predict",
    ):
        assert costs[name]["status"] == 200, costs[name]
