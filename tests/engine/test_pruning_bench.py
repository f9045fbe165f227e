"""bench/loop.py (``make bench``) still runs: a few loop turns raw, in IRPM and unpruned."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from engine.execution import pruning
from engine.settings import PROJECT_ROOT
from tests.conftest import PG_URL


@pytest.mark.skipif(bool(PG_URL), reason="the benchmark runs on its own SQLite files")
def test_the_loop_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("irpm_bench_loop",
                                                  PROJECT_ROOT / "bench" / "loop.py")
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench
    limit = pruning.PRUNE_ABOVE
    try:
        spec.loader.exec_module(bench)
        assert bench.main(["--turns", "12", "--window", "3"]) == 0
    finally:
        sys.modules.pop(spec.name, None)
    assert limit == pruning.PRUNE_ABOVE  # the unpruned run gives it back
    out = capsys.readouterr().out
    assert "complete_task CPU, ms (median of 3 turns)" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines()[2:5]}
    assert set(rows) == {"raw", "irpm", "unpruned"}
    assert all(float(row[1]) > 0 for row in rows.values())  # every side measured turn 5
