"""Check a lesson's ``expect`` claims against the engine: the text can never lie about its figures.

>>> from lessons.loader import load_all
>>> [check_lesson(lesson) for lesson in load_all()][:1]
[[]]
"""

from __future__ import annotations

import math

from engine.scene import run_scene
from lessons.loader import Expect, FineTuneSpec, Lesson


def run_finetune(spec: FineTuneSpec):
    """Pre-train on digits 0-4 (cached per process), then fine-tune on 5-9 at each rate."""
    from engine import finetune

    return finetune.finetune(finetune.pretrain(), spec.rates, spec.steps,
                             freeze_lower=spec.freeze_lower, lower_scale=spec.lower_scale,
                             warmup=spec.warmup)


def finetune_measures(run, rate: float) -> tuple[float, float | None]:
    """(final task-A accuracy, steps to learn task B or inf) for one rate of a fine-tuning run."""
    i = _index(run.rates, rate)
    learned = run.steps_to_learn()[i]
    return float(run.a_acc[i, -1]), math.inf if learned is None else learned


def check_finetune(lesson: Lesson, expect: Expect, where: str) -> list[str]:
    run = run_finetune(lesson.experiments[expect.experiment].scene)
    failures = []
    for a, relation, b in expect.compare:
        (acc_a, learn_a), (acc_b, learn_b) = finetune_measures(run, a), finetune_measures(run, b)
        if relation == "keeps more than":
            ok, shown = acc_a > acc_b, f"task-A accuracy {acc_a:.1%} vs {acc_b:.1%}"
        else:
            ok, shown = learn_a < learn_b, f"steps to learn task B {learn_a} vs {learn_b}"
        if not ok:
            failures.append(f"{where}: claimed '{a:g} {relation} {b:g}' but measured {shown}.")
    return failures


def _index(rates, rate: float) -> int:
    return next(i for i, r in enumerate(rates) if math.isclose(r, rate, rel_tol=1e-9))


def check_expect(lesson: Lesson, expect: Expect) -> list[str]:
    """Failure sentences for one ``expect`` block (empty when every claim holds)."""
    exp = lesson.experiments[expect.experiment]
    where = f"{lesson.slug}.md line {expect.line} (experiment {exp.id!r})"
    if isinstance(exp.scene, FineTuneSpec):
        return check_finetune(lesson, expect, where)
    surface, sweep, diagnoses = run_scene(exp.scene)
    failures = []
    for rate, regime in expect.regimes:
        got = diagnoses[_index(exp.scene.rates, rate)].regime.value
        if got != regime:
            failures.append(f"{where}: rate {rate:g} claimed {regime!r} but the run is {got!r}.")
    for a, relation, b in expect.compare:
        da, db = (diagnoses[_index(exp.scene.rates, r)] for r in (a, b))
        if relation in ("slower than", "faster than"):
            sa = math.inf if da.steps_to_converge is None else da.steps_to_converge
            sb = math.inf if db.steps_to_converge is None else db.steps_to_converge
            ok = (sa > sb) if relation == "slower than" else (sa < sb)
            shown = f"{sa} vs {sb} steps"
        else:
            la = float(sweep[_index(exp.scene.rates, a)].losses[-1]) - surface.global_value
            lb = float(sweep[_index(exp.scene.rates, b)].losses[-1]) - surface.global_value
            ok = la < lb
            shown = f"final loss gap {la:.3g} vs {lb:.3g}"
        if not ok:
            failures.append(f"{where}: claimed '{a:g} {relation} {b:g}' but measured {shown}.")
    return failures


def check_lesson(lesson: Lesson) -> list[str]:
    """Every failed claim in a lesson (and its parse errors)."""
    failures = [str(e) for e in lesson.errors]
    for expect in lesson.blocks(Expect):
        failures.extend(check_expect(lesson, expect))
    return failures
