"""Part 4 speed: pre-training, four-rate fine-tuning, and the wait after changing a setting.

Run from the repo root (a few minutes on 2 cores; compiles dominate):

    .venv/bin/python benchmarks/bench_networks.py [--json out.json] [--repeats N] [--skip-page]

a) In a fresh process (persistent compilation cache off): pre-training on task A
   (64 -> 32 -> 32 -> 5, 300 full-batch steps; includes its compile), the first
   four-rate fine-tuning run (includes its compile), then warm four-rate,
   200-step fine-tuning runs with fresh rates each time (what a new slider value
   costs the engine), and the same with frozen lower layers + warmup (no
   recompile), and pre-training again once compiled.
b) The Network-training engine calls for the default page (moons, 2-16-16-2,
   four rates, 300 steps): curves (mlp.train) and 40 boundary snapshots, warm.
c) The wait a student sees: the Fine-tuning page in AppTest, warm, after typing
   new rates (a full script rerun: engine run + verdict + figures + table).

Target (issue 5): a warm four-rate fine-tuning run of 200 steps in under 2 s.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
import time

import common

TARGET_S = 2.0

CHILD = textwrap.dedent("""
    import json, sys, time
    t0 = time.perf_counter()
    sys.path.insert(0, %(root)r)
    import numpy as np
    from engine import finetune, data, mlp, networks
    out = {"import": time.perf_counter() - t0}
    t = time.perf_counter(); pre = finetune.pretrain(); out["pretrain_cold"] = time.perf_counter() - t
    t = time.perf_counter(); run = finetune.finetune(pre, finetune.DEFAULT_RATES, 200)
    out["finetune_first"] = time.perf_counter() - t
    out["table"] = {"rates": list(run.rates), "a_start": run.a_acc[:, 0].tolist(),
                    "a_end": run.a_acc[:, -1].tolist(), "b_end": run.b_acc[:, -1].tolist(),
                    "steps_to_80": run.steps_to_learn(), "diverged_at": run.diverged_at.tolist()}
    warm, opts = [], []
    for k in range(%(repeats)d):
        rates = [r * (1 + 0.01 * (k + 1)) for r in finetune.DEFAULT_RATES]
        t = time.perf_counter(); finetune.finetune(pre, rates, 200); warm.append(time.perf_counter() - t)
        t = time.perf_counter(); finetune.finetune(pre, rates, 200, freeze_lower=k %% 2 == 0,
                                                   lower_scale=0.1, warmup=20)
        opts.append(time.perf_counter() - t)
    out["finetune_warm"], out["finetune_options_warm"] = warm, opts
    finetune.pretrain.cache_clear(); finetune.make_tasks.cache_clear()
    t = time.perf_counter(); finetune.pretrain(); out["pretrain_warm"] = time.perf_counter() - t
    d = data.load("moons", 0); p0 = mlp.init((2, 16, 16, 2), 0)
    rates = [0.01, 0.1, 1.0, 10.0]
    t = time.perf_counter(); mlp.train(p0, d.x_train, d.y_train, rates, 300, evals=[(d.x_val, d.y_val)])
    out["net_curves_first"] = time.perf_counter() - t
    t = time.perf_counter(); networks.train_snapshots(p0, d.x_train, d.y_train, rates, 300)
    out["net_snaps_first"] = time.perf_counter() - t
    curves, snaps = [], []
    for k in range(%(repeats)d):
        r = [x * (1 + 0.01 * (k + 1)) for x in rates]
        t = time.perf_counter(); mlp.train(p0, d.x_train, d.y_train, r, 300, evals=[(d.x_val, d.y_val)])
        curves.append(time.perf_counter() - t)
        t = time.perf_counter(); networks.train_snapshots(p0, d.x_train, d.y_train, r, 300)
        snaps.append(time.perf_counter() - t)
    out["net_curves_warm"], out["net_snaps_warm"] = curves, snaps
    print(json.dumps(out))
""")


def engine_in_fresh_process(repeats: int) -> dict:
    code = CHILD % {"root": str(common.ROOT), "repeats": repeats}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=common.ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def page_wait(repeats: int) -> common.Timing:
    """Rerun time of the Fine-tuning page in AppTest after typing new rates (warm)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(common.ROOT / "app.py"), default_timeout=600)
    at.run()
    at.switch_page("app_pages/finetune.py").run()
    at.text_input(key="ft_rates").set_value("0.011, 0.11, 0.51, 1.01").run()  # compile if needed
    seconds = []
    for k in range(repeats):
        value = ", ".join(f"{r * (1 + 0.02 * (k + 2)):.4g}" for r in (0.01, 0.1, 0.5, 1.0))
        t = time.perf_counter()
        at.text_input(key="ft_rates").set_value(value).run()
        seconds.append(time.perf_counter() - t)
        assert not at.exception, [e.value for e in at.exception]
    return common.timing(seconds)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--skip-page", action="store_true")
    a = p.parse_args(argv)
    print("machine:", common.machine())
    r = engine_in_fresh_process(a.repeats)
    warm = common.timing(r["finetune_warm"])
    opts = common.timing(r["finetune_options_warm"])
    curves, snaps = common.timing(r["net_curves_warm"]), common.timing(r["net_snaps_warm"])
    print(f"a) import {r['import']:.2f} s; pre-training, cold (compile + run) {r['pretrain_cold']:.2f} s; "
          f"warm {r['pretrain_warm']:.2f} s")
    print(f"   first four-rate fine-tuning (compile + run) {r['finetune_first']:.2f} s")
    print(f"   warm four-rate 200-step fine-tuning: {warm.s()}; with freeze/scale/warmup: {opts.s()}")
    print("   default table:", json.dumps(r["table"]))
    print(f"b) network page engine, first (compile + run): curves {r['net_curves_first']:.2f} s, "
          f"snapshots {r['net_snaps_first']:.2f} s; warm: curves {curves.s()}, snapshots {snaps.s()}")
    rows = [
        common.row("pre-training on task A, once per process (cold: compile + 300 steps)",
                   f"{r['pretrain_cold']:.3g} s (warm {r['pretrain_warm']:.3g} s)"),
        common.row("first four-rate fine-tuning (compile + 200 steps)", f"{r['finetune_first']:.3g} s"),
        common.row("warm four-rate fine-tuning, 200 steps", warm.s(), target=f"< {TARGET_S:g} s",
                   met=warm.median < TARGET_S),
        common.row("warm four-rate fine-tuning, 200 steps, freeze/discriminative/warmup", opts.s(),
                   target=f"< {TARGET_S:g} s", met=opts.median < TARGET_S),
        common.row("network page engine, warm: curves + 40 boundary snapshots (moons, 4 rates, 300 steps)",
                   f"{curves.median + snaps.median:.3g} s ({curves.median:.3g} + {snaps.median:.3g})"),
    ]
    if not a.skip_page:
        wait = page_wait(a.repeats)
        print(f"c) Fine-tuning page rerun after new rates (AppTest, warm): {wait.s()}")
        rows.append(common.row("Fine-tuning page: wait after changing the rates (AppTest rerun, warm)",
                               wait.s(), target=f"< {TARGET_S:g} s", met=wait.median < TARGET_S))
    print()
    print(common.markdown_table(rows))
    common.write_json(a.json, rows, {"finetune_table": r["table"]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
