"""The benchmarks of ``make bench`` still run: bench/timers.py (a few timers due at the same
instant, fired by a scheduler and by raw SpiffWorkflow, both checked) and bench/engine.py (a
few post cycles, raw and in IRPM)."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from engine.settings import PROJECT_ROOT
from tests.conftest import PG_URL


@pytest.mark.skipif(bool(PG_URL), reason="the benchmark runs on its own SQLite file")
def test_the_timer_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("irpm_bench_timers",
                                                  PROJECT_ROOT / "bench" / "timers.py")
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench
    try:
        spec.loader.exec_module(bench)
        assert bench.main(["--timers", "25"]) == 0
    finally:
        sys.modules.pop(spec.name, None)
    out = capsys.readouterr().out
    assert "25 timers due at the same instant" in out
    assert "irpm scheduler (SQLite file)" in out and "ratio irpm / raw" in out


@pytest.mark.skipif(bool(PG_URL), reason="the benchmark runs on its own SQLite file")
def test_the_engine_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """bench/engine.py (``make bench``) runs the post cycle raw and in IRPM: its raw side's
    operator stubs must know every operator the shipped models call (it once failed on
    ``register.disposal_outcomes`` unnoticed, no test running it)."""
    spec = importlib.util.spec_from_file_location("irpm_bench_engine",
                                                  PROJECT_ROOT / "bench" / "engine.py")
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench
    try:
        spec.loader.exec_module(bench)
        assert bench.main(["--instances", "4", "--repeat", "1", "--no-uncached"]) == 0
    finally:
        sys.modules.pop(spec.name, None)
    out = capsys.readouterr().out
    assert "post cycle, 4 instances" in out and "ratio irpm / raw (sandbox)" in out
