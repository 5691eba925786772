"""Shared helpers for the benchmark scripts: timing, formatting, result rows.

Every script puts the repo root on ``sys.path`` (so ``import engine`` works
however it is started), measures with :func:`time.perf_counter`, and reports
the median and the minimum of several repeats. A script started with
``--json PATH`` also writes its result rows there for ``run_all.py``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds of ``n`` repeats (median, min), and the median CPU seconds.

    CPU time is this process's (all its threads); on a busy machine it stays
    near the unloaded wall time while the wall time grows.
    """

    median: float
    min: float
    n: int
    cpu: float = float("nan")

    def ms(self) -> str:
        return f"{self.median * 1e3:.3g} ms (min {self.min * 1e3:.3g})"

    def ms_cpu(self) -> str:
        return f"{self.median * 1e3:.3g} ms (min {self.min * 1e3:.3g}; CPU {self.cpu * 1e3:.3g})"

    def s(self) -> str:
        return f"{self.median:.3g} s (min {self.min:.3g})"


def timing(seconds: list[float], cpu: list[float] | None = None) -> Timing:
    return Timing(statistics.median(seconds), min(seconds), len(seconds),
                  statistics.median(cpu) if cpu else float("nan"))


def measure(fn: Callable[[], object], repeats: int, warmup: int = 1) -> Timing:
    """Time ``fn()`` ``repeats`` times after ``warmup`` untimed calls."""
    return measure_side_by_side({"fn": fn}, repeats, warmup)["fn"]


def measure_side_by_side(fns: dict[str, Callable[[], object]], repeats: int,
                         warmup: int = 1) -> dict[str, Timing]:
    """Time several functions, interleaved (a, b, a, b, ...) so load changes hit all alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    seconds: dict[str, list[float]] = {name: [] for name in fns}
    cpu: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            c0, t0 = time.process_time(), time.perf_counter()
            fn()
            seconds[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    return {name: timing(seconds[name], cpu[name]) for name in fns}


def row(what: str, engine: str, baseline: str = "—", ratio: str = "—", target: str = "—",
        met: bool | None = None) -> dict:
    """One line of the results table."""
    return {"what": what, "engine": engine, "baseline": baseline, "ratio": ratio,
            "target": target, "met": "—" if met is None else ("yes" if met else "**no**")}


def machine() -> dict:
    """What the numbers were measured on (the load matters on a shared 2-core box)."""
    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "loadavg_1m": round(load[0], 2),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
    }


def write_json(path: str | None, rows: list[dict], extra: dict | None = None) -> None:
    if path:
        Path(path).write_text(json.dumps({"rows": rows, "machine": machine(), **(extra or {})},
                                         indent=1))


def markdown_table(rows: list[dict]) -> str:
    head = "| what | engine / app | baseline | ratio | target | met? |\n|---|---|---|---|---|---|"
    lines = [f"| {r['what']} | {r['engine']} | {r['baseline']} | {r['ratio']} | {r['target']} "
             f"| {r['met']} |" for r in rows]
    return "\n".join([head, *lines])
