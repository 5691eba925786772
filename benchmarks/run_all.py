"""Run every benchmark script and print one Markdown table of the results.

    make bench        # = .venv/bin/python benchmarks/run_all.py

Each script runs in its own process (so compile times and caches do not leak
between them), prints its own details, and hands its rows back as JSON. Options:
``--skip browser`` (or engine, page, whatif) leaves a script out.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common

HERE = Path(__file__).resolve().parent
SCRIPTS = {  # name: (file, title of its section in the table)
    "engine": ("bench_engine.py", "Engine: sweeps, maps, schedules, the XLA flag (after compile "
                                  "unless stated)"),
    "page": ("bench_page.py", "Playground page (AppTest)"),
    "browser": ("bench_browser.py", "Playground in headless Chromium"),
    "tuning": ("bench_tuning.py", "Part 3: grid search and the LR range test"),
    "networks": ("bench_networks.py", "Part 4: pre-training and fine-tuning"),
    "maps": ("bench_maps.py", "Stability maps (issue 11)"),
}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--skip", action="append", default=[], choices=list(SCRIPTS))
    args = p.parse_args(argv)
    sections, failed = [], []
    machine = common.machine()
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        for name, (script, title) in SCRIPTS.items():
            if name in args.skip:
                continue
            out = Path(tmp) / f"{name}.json"
            print(f"\n===== {script} =====", flush=True)
            t0 = time.perf_counter()
            rc = subprocess.run([sys.executable, str(HERE / script), "--json", str(out)],
                                cwd=common.ROOT, check=False).returncode
            took = time.perf_counter() - t0
            if rc != 0 or not out.exists():
                failed.append(script)
                sections.append((title, [common.row(f"{script} failed (exit code {rc})", "—")],
                                 took))
                continue
            sections.append((title, json.loads(out.read_text())["rows"], took))
    print("\n\n## Results\n")
    print(f"Machine: {machine['cpu']}, {machine['cores']} cores, no GPU, Python "
          f"{machine['python']}; load average at start {machine['loadavg_1m']}; "
          f"OPENBLAS_CORETYPE={machine['OPENBLAS_CORETYPE'] or 'unset'}. Times: median "
          "(min) of the repeats, wall clock; CPU = median CPU time of this process.\n")
    for title, rows, took in sections:
        print(f"### {title} ({took:.0f} s)\n")
        print(common.markdown_table(rows))
        print()
    print(f"(all benchmarks took {time.perf_counter() - t_all:.0f} s)")
    if failed:
        print(f"FAILED: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
