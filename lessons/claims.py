"""Measure a lesson's experiments and check what the lesson says about them.

Checked by machine (``check_lesson``; the test suite runs it on every lesson):

- every ``expect`` claim (regimes, comparisons, rate-sweep shapes), on the run as
  written and from every extra start / noise seed the experiment lists;
- every placeholder in the prose resolves to a measured or theory value (so the
  numbers a lesson prints come from its runs);
- every quiz with a ``check:``: the marked answer is the option the computation
  gives.

What it does not check: sentences in plain prose. Keep those qualitative.

Measures (the same in claims, placeholders and quiz checks):

- steps: ``engine.diagnose``'s steps to converge (inf / "never" if it did not);
- distance: the mean distance to the nearest minimum over the last quarter of the
  run (the final distance without noise, the noise floor with it; inf if diverged);
- loss: the final loss above the global minimum's value (inf if diverged).

>>> from lessons.loader import load_all
>>> [check_lesson(lesson) for lesson in load_all()][:1]
[[]]
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from engine import optimizers as optimizer_set
from engine import theory as theory_mod
from engine.scene import Scene, run_scene
from lessons.loader import (
    EXPERIMENT_MEASURES,
    REGIMES,
    Expect,
    Experiment,
    FineTuneSpec,
    Lesson,
    Placeholder,
    Quiz,
    QuizCheck,
    RateSweepSpec,
    Spec,
    _number_option,
    find_placeholders,
)

U_FACTOR = 1.5  # "slower on both sides" of a U: at least this many times the fastest's steps
NEVER = math.inf


# ----------------------------------------------------------------------------
# Running an experiment.
# ----------------------------------------------------------------------------


def _last_quarter_distance(surface, points: np.ndarray) -> float:
    k0 = len(points) - 1 - (len(points) - 1) // 4
    minima = np.array([m.point for m in surface.minima], dtype=np.float64)
    pts = np.asarray(points[k0:], dtype=np.float64)
    d = np.linalg.norm(pts[:, None, :] - minima[None], axis=-1).min(axis=1)
    return float(d.mean())


@dataclass(frozen=True, eq=False)
class SurfaceRuns:
    """A surface experiment's runs: the sweep, one diagnosis per run, and the measures."""

    scene: Scene
    surface: object
    sweep: object
    diagnoses: list

    def steps(self, i: int) -> float:
        s = self.diagnoses[i].steps_to_converge
        return NEVER if s is None or self.diverged_at(i) is not None else s

    def diverged_at(self, i: int) -> int | None:
        return self.sweep[i].diverged_at

    def distance(self, i: int) -> float:
        if self.diverged_at(i) is not None:
            return NEVER
        return _last_quarter_distance(self.surface, self.sweep.points[i])

    def final_distance(self, i: int) -> float:
        return NEVER if self.diverged_at(i) is not None else float(self.diagnoses[i].final_distance)

    def loss(self, i: int) -> float:
        if self.diverged_at(i) is not None:
            return NEVER
        return max(float(self.sweep.losses[i, -1]) - self.surface.global_value, 0.0)

    def regime(self, i: int) -> str:
        return self.diagnoses[i].regime.value

    def overshoots(self, i: int) -> int:
        return self.diagnoses[i].overshoots

    def rate_at_converge(self, i: int) -> float:
        """The rate of the step that brought the run within the convergence radius for good
        (its schedule's value then); inf if it never converged."""
        s = self.steps(i)
        if math.isinf(s):
            return NEVER
        return float(self.sweep.lrs[i, max(int(s) - 1, 0)])


@dataclass(frozen=True, eq=False)
class SweepRuns:
    """A rate sweep: per rate its steps to converge (inf if never), distance and regime."""

    spec: RateSweepSpec
    surface: object
    rates: np.ndarray
    steps: np.ndarray
    distance: np.ndarray
    regimes: tuple[str, ...]
    diverged: np.ndarray

    @property
    def converged(self) -> np.ndarray:
        return np.isfinite(self.steps)

    @property
    def fastest_tied(self) -> np.ndarray:
        """Indices of the rates that need the fewest steps (ties kept)."""
        if not self.converged.any():
            return np.array([], dtype=int)
        return np.nonzero(self.steps == self.steps[self.converged].min())[0]

    @property
    def fastest_index(self) -> int | None:
        tied = self.fastest_tied
        return None if len(tied) == 0 else int(tied[len(tied) // 2])

    @property
    def fastest_rate(self) -> float:
        i = self.fastest_index
        return NEVER if i is None else float(self.rates[i])

    @property
    def fastest_steps(self) -> float:
        i = self.fastest_index
        return NEVER if i is None else float(self.steps[i])

    @property
    def largest_stable(self) -> float:
        ok = ~self.diverged
        return float(self.rates[ok].max()) if ok.any() else NEVER

    @property
    def smallest_diverged(self) -> float:
        return float(self.rates[self.diverged].min()) if self.diverged.any() else NEVER


@dataclass(frozen=True, eq=False)
class FineTuneRuns:
    spec: FineTuneSpec
    result: object

    def kept(self, i: int) -> float:
        return float(self.result.a_acc[i, -1])

    def learned(self, i: int) -> float:
        s = self.result.steps_to_learn()[i]
        return NEVER if s is None else s

    def task_b(self, i: int) -> float:
        return float(self.result.b_acc[i, -1])


def run_finetune(spec: FineTuneSpec):
    """Pre-train on digits 0-4 (cached per process), then fine-tune on 5-9 at each rate."""
    from engine import finetune

    return finetune.finetune(finetune.pretrain(), spec.rates, spec.steps,
                             freeze_lower=spec.freeze_lower, lower_scale=spec.lower_scale,
                             warmup=spec.warmup)


def finetune_measures(run, i: int) -> tuple[float, float]:
    """(final task-A accuracy, steps to learn task B or inf) for run ``i`` of a fine-tuning run."""
    learned = run.steps_to_learn()[i]
    return float(run.a_acc[i, -1]), math.inf if learned is None else learned


def run_rate_sweep(spec: RateSweepSpec) -> SweepRuns:
    """Every rate of the sweep in one engine call, each diagnosed."""
    from engine import descent
    from engine.diagnose import diagnose

    surface = spec.build_surface()
    rates = np.asarray(spec.rates)
    sw = descent.sweep(surface, [float(r) for r in rates], spec.steps, start=spec.start,
                       momentum=spec.momentum, optimizer=optimizer_set.maker(spec.optimizer),
                       noise=spec.noise, seed=spec.seed)
    diag = [diagnose(surface, t) for t in sw]
    diverged = sw.diverged_at >= 0
    steps = np.array([NEVER if (d.steps_to_converge is None or dv) else d.steps_to_converge
                      for d, dv in zip(diag, diverged, strict=True)], dtype=np.float64)
    dist = np.array([NEVER if dv else _last_quarter_distance(surface, sw.points[i])
                     for i, dv in enumerate(diverged)])
    return SweepRuns(spec, surface, rates, steps, dist, tuple(d.regime.value for d in diag), diverged)


def run_spec(spec: Spec):
    """The runs of one experiment spec (pure; pages cache it): SurfaceRuns, SweepRuns or FineTuneRuns."""
    if isinstance(spec, FineTuneSpec):
        return FineTuneRuns(spec, run_finetune(spec))
    if isinstance(spec, RateSweepSpec):
        return run_rate_sweep(spec)
    surface, sweep, diagnoses = run_scene(spec)
    return SurfaceRuns(spec, surface, sweep, diagnoses)


Runner = Callable[[Spec], object]


def memo(runner: Runner = run_spec) -> Runner:
    """``runner`` remembering its results for the lifetime of the returned function."""
    seen: dict = {}

    def run(spec):
        if spec not in seen:
            seen[spec] = runner(spec)
        return seen[spec]

    return run


def _same(spec):
    return spec


def variants(exp: Experiment, noisy: bool = False) -> list[tuple[str, Callable]]:
    """(label, change) for the run as written and each robustness variant: ``change(spec)``
    puts an extra start or noise seed into a spec (the experiment's, and any other experiment's
    that a claim compares it with)."""
    out: list[tuple[str, Callable]] = [("", _same)]
    out += [(f" from start [{x:g}, {y:g}]", lambda s, p=(x, y): replace(s, start=p))
            for x, y in exp.starts]
    if getattr(exp.scene, "noise", 0.0) or (noisy and exp.precision_noise):
        out += [(f" with noise seed {n}", lambda s, n=n: replace(s, seed=n)) for n in exp.seeds]
    return out


def expect_spec(exp: Experiment, expect: Expect) -> Spec:
    """The spec an ``expect`` block is about: the experiment's, or its noisy twin's."""
    return replace(exp.scene, noise=exp.precision_noise) if expect.noisy else exp.scene


# ----------------------------------------------------------------------------
# Theory and formatting.
# ----------------------------------------------------------------------------


def theory_of(spec) -> theory_mod.QuadraticTheory | None:
    """Closed-form theory for a quadratic-type surface (None for others)."""
    if isinstance(spec, FineTuneSpec):
        return None
    p = dict(spec.params)
    if spec.surface == "quadratic":
        return theory_mod.quadratic(p["a"], p["b"])
    if spec.surface == "ravine":
        return theory_mod.quadratic(1.0, p["condition"])
    return None


def theory_value(th: theory_mod.QuadraticTheory, name: str, momentum: float = 0.0) -> float:
    """One named theory value; with momentum, the heavy ball's limit (no closed-form best rate)."""
    if name == "stable_below":
        return th.stable_below_momentum(momentum) if momentum else th.stable_below
    if name == "best_rate":
        if momentum:
            raise ValueError("with momentum the best fixed rate has no closed form here.")
        return th.best_rate
    return float(getattr(th, name))


def fmt_number(v: float) -> str:
    """3 significant digits; whole numbers as they are."""
    if v == int(v) and abs(v) < 1e6:
        return str(int(v))
    return f"{v:.3g}"


def fmt_value(measure: str, v) -> str:
    """A measured value as prose shows it."""
    if isinstance(v, str):
        return v
    if v is None or (isinstance(v, float) and math.isinf(v)):
        return "never" if measure in ("steps", "diverged_at", "learned", "fastest_steps",
                                      "rate_at_converge") else (
            "none" if measure in ("fastest_rate", "largest_stable", "smallest_diverged") else "diverged")
    if measure in ("kept", "task_b"):
        return f"{v:.1%}"
    if measure in ("largest_stable", "smallest_diverged"):  # next to a limit: one more digit
        return f"{float(v):.4g}"
    return fmt_number(float(v))


def run_measure(runs, measure: str, i: int):
    """One measure of run ``i`` (SurfaceRuns or FineTuneRuns)."""
    return getattr(runs, measure)(i)


# ----------------------------------------------------------------------------
# Placeholders.
# ----------------------------------------------------------------------------


def placeholder_value(exp: Experiment, p: Placeholder, run: Runner = run_spec) -> str:
    """The text a placeholder stands for (ValueError if it cannot be computed)."""
    if p.measure == "theory":
        th = theory_of(exp.scene)
        return fmt_number(round(theory_value(th, p.theory, getattr(exp.scene, "momentum", 0.0)), 12))
    if exp.kind == "rate_sweep":
        return fmt_value(p.measure, getattr(run(exp.scene), p.measure))
    i = exp.run_index(p.run)
    if p.measure == "noisy_distance":
        return fmt_value("distance", run(replace(exp.scene, noise=exp.precision_noise)).distance(i))
    return fmt_value(p.measure, run_measure(run(exp.scene), p.measure, i))


def fill(text: str, lesson: Lesson, run: Runner = run_spec, hidden: frozenset = frozenset(),
         line: int = 0) -> str:
    """``text`` with every placeholder replaced by its value; those naming an experiment in
    ``hidden`` (a prediction not made yet) show as a blank box instead."""
    exps = lesson.experiments
    out, pos = [], 0
    for p in find_placeholders(text, line):
        start = text.index(p.raw, pos)
        out.append(text[pos:start])
        if p.experiment in hidden and p.measure != "theory":  # theory gives nothing away
            out.append("▢")
        elif p.experiment in exps:
            try:
                out.append(placeholder_value(exps[p.experiment], p, run))
            except (ValueError, KeyError, TypeError) as e:
                out.append(f"⚠ {p.raw}: {e}")
        else:
            out.append(p.raw)
        pos = start + len(p.raw)
    out.append(text[pos:])
    return "".join(out)


def check_placeholders(lesson: Lesson, run: Runner = run_spec) -> list[str]:
    failures = []
    for p in lesson.placeholders:
        try:
            placeholder_value(lesson.experiments[p.experiment], p, run)
        except (ValueError, KeyError, TypeError) as e:
            failures.append(f"{lesson.slug}.md line {p.line}: placeholder {p.raw}: {e}")
    return failures


# ----------------------------------------------------------------------------
# Expect claims.
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """One claim as the page states it, what was measured, and whether it held."""

    text: str
    measured: str
    ok: bool
    why: str = ""  # why a claim that cannot hold is an error (e.g. both sides never converge)


def _steps_text(s: float) -> str:
    return "never" if math.isinf(s) else f"{int(s)} steps"


def _surface_claims(lesson: Lesson, exp: Experiment, expect: Expect, runs_of) -> list[Claim]:
    labels = exp.run_labels
    runs = runs_of(exp.id)
    claims = []

    def name(ref) -> str:
        label = lesson.experiments[ref.experiment].run_labels[ref.index]
        return label if ref.experiment == exp.id else f"{ref.experiment}:{label}"

    for i, regime in expect.regimes:
        got = runs.regime(i)
        s = runs.steps(i)
        extra = "" if math.isinf(s) else f", within the convergence radius from step {int(s)}"
        claims.append(Claim(f"rate **{labels[i]}** → **{regime}**", f"{got}{extra}", got == regime))
    for ra, relation, rb in expect.compare:
        text = f"rate **{name(ra)}** is {relation} **{name(rb)}**"
        (run_a, a), (run_b, b) = (runs_of(ra.experiment), ra.index), (runs_of(rb.experiment), rb.index)
        if relation in ("slower than", "faster than"):
            sa, sb = run_a.steps(a), run_b.steps(b)
            measured = f"steps to converge {_steps_text(sa)} vs {_steps_text(sb)}"
            if math.isinf(sa) and math.isinf(sb):
                claims.append(Claim(text, measured, False, "neither run converges, so the "
                                    "comparison proves nothing; compare 'closer than' or 'lower than'"))
                continue
            ok = sa > sb if relation == "slower than" else sa < sb
        else:
            measure = "distance" if relation == "closer than" else "loss"
            va, vb = getattr(run_a, measure)(a), getattr(run_b, measure)(b)
            what = ("mean distance to the minimum over the last quarter" if measure == "distance"
                    else "final loss above the minimum")
            measured = f"{what} {fmt_value(measure, va)} vs {fmt_value(measure, vb)}"
            if math.isinf(va) and math.isinf(vb):
                claims.append(Claim(text, measured, False, "both runs diverge, so the comparison "
                                    "proves nothing"))
                continue
            ok = va < vb
        claims.append(Claim(text, measured, ok))
    return claims


def _finetune_claims(exp: Experiment, expect: Expect, runs: FineTuneRuns) -> list[Claim]:
    labels = exp.run_labels
    claims = []
    for (_, a), relation, (_, b) in expect.compare:
        text = f"rate **{labels[a]}** {relation} **{labels[b]}**"
        if relation == "keeps more than":
            va, vb = runs.kept(a), runs.kept(b)
            claims.append(Claim(text, f"task-A accuracy {va:.1%} vs {vb:.1%}", va > vb))
        else:
            va, vb = runs.learned(a), runs.learned(b)
            measured = f"steps to learn task B {_steps_text(va)} vs {_steps_text(vb)}"
            if math.isinf(va) and math.isinf(vb):
                claims.append(Claim(text, measured, False, "neither run learns task B, so the "
                                    "comparison proves nothing"))
                continue
            claims.append(Claim(text, measured, va < vb))
    return claims


def _target(exp: Experiment, value) -> tuple[float, str]:
    if isinstance(value, str):
        th = theory_of(exp.scene)
        v = theory_value(th, value, exp.scene.momentum)
        name = "2/(L+μ)" if value == "best_rate" else "2/L"
        return v, f"theory's {name} = {fmt_number(round(v, 12))}"
    return float(value), f"{fmt_number(float(value))}"


def _sweep_claims(exp: Experiment, expect: Expect, runs: SweepRuns) -> list[Claim]:
    spec = exp.scene
    rates, steps = runs.rates, runs.steps
    claims = []
    for key, value in expect.sweep:
        if key == "fastest_near":
            t, name = _target(exp, value)
            tied = runs.fastest_tied
            text = f"the fastest rate is next to {name}"
            if len(tied) == 0:
                claims.append(Claim(text, "no rate converged", False))
                continue
            lo, hi = rates[tied].min(), rates[tied].max()
            span = (f"{fmt_number(lo)}" if lo == hi else
                    f"{fmt_number(lo)} to {fmt_number(hi)} (tied)")
            measured = f"fastest {span}, {int(steps[tied[0]])} steps"
            ok = spec.within_step(lo)[0] <= t <= spec.within_step(hi)[1]
            claims.append(Claim(text, measured, ok))
        elif key == "diverges_above":
            t, name = _target(exp, value)
            text = f"runs diverge above {name}, and not below it"
            near_lo, near_hi = spec.within_step(t)
            below, above = rates < near_lo, rates > near_hi
            ok = bool(below.any() and above.any() and not runs.diverged[below].any()
                      and runs.diverged[above].all())
            stable = fmt_value("largest_stable", runs.largest_stable)
            broke = fmt_value("smallest_diverged", runs.smallest_diverged)
            measured = f"largest rate that did not diverge {stable}, smallest that diverged {broke}"
            claims.append(Claim(text, measured, ok))
        else:  # u_shape
            f = runs.fastest_index
            text = ("steps to converge fall, then rise again (a U)" if value
                    else "steps to converge do not rise again before the limit (no U)")
            if f is None:
                claims.append(Claim(text, "no rate converged", False))
                continue
            conv = runs.converged
            slow = conv & (steps >= U_FACTOR * steps[f])
            left = np.nonzero(slow[:f])[0]
            right = f + 1 + np.nonzero(slow[f + 1:])[0]
            is_u = bool(len(left) and len(right))
            parts = []
            if len(left):
                parts.append(f"{int(steps[left[0]])} steps at {fmt_number(rates[left[0]])}")
            parts.append(f"{int(steps[f])} at {fmt_number(rates[f])}")
            if len(right):
                parts.append(f"{int(steps[right[-1]])} at {fmt_number(rates[right[-1]])}")
            else:
                last = np.nonzero(conv)[0][-1]
                parts.append(f"{int(steps[last])} at {fmt_number(rates[last])}, the largest that "
                             "converged")
            claims.append(Claim(text, " → ".join(parts), is_u == value))
    return claims


def expect_claims(lesson: Lesson, expect: Expect, run: Runner = run_spec,
                  change: Callable = _same) -> list[Claim]:
    """The claims of one ``expect`` block, measured on the runs (``change``: a variant)."""
    exp = lesson.experiments[expect.experiment]
    own = run(change(expect_spec(exp, expect)))
    if exp.kind == "finetune":
        return _finetune_claims(exp, expect, own)
    if exp.kind == "rate_sweep":
        return _sweep_claims(exp, expect, own)

    def runs_of(exp_id: str):
        return own if exp_id == exp.id else run(change(lesson.experiments[exp_id].scene))

    return _surface_claims(lesson, exp, expect, runs_of)


def check_expect(lesson: Lesson, expect: Expect, run: Runner = run_spec) -> list[str]:
    """Failure sentences for one ``expect`` block, over every variant (empty when all hold)."""
    exp = lesson.experiments[expect.experiment]
    where = f"{lesson.slug}.md line {expect.line} (experiment {exp.id!r})"
    failures = []
    for label, change in variants(exp, expect.noisy):
        try:
            claims = expect_claims(lesson, expect, run, change)
        except (ValueError, TypeError) as e:
            failures.append(f"{where}{label}: {e}")
            continue
        for c in claims:
            if not c.ok:
                failures.append(f"{where}{label}: claimed '{c.text.replace('**', '')}' but measured "
                                f"{c.measured}" + (f": {c.why}." if c.why else "."))
    return failures


# ----------------------------------------------------------------------------
# Quiz checks.
# ----------------------------------------------------------------------------

REGIME_WORDS = {"converged": "converg", "oscillating": "oscillat", "slow": "slow",
                "diverged": "diverg", "local minimum": "local minimum"}


def quiz_value(lesson: Lesson, check: QuizCheck, run: Runner = run_spec, quiz_options=()):
    """What a quiz's check computes: a number, a regime, or inf for never / diverged (with
    ``pick``: each option's run's measure, by option index)."""
    exp = lesson.experiments.get(check.experiment) if check.experiment else None
    if check.theory:
        if check.params is not None:
            p = dict(check.params)
            return theory_value(theory_mod.quadratic(p["a"], p["b"]), check.measure,
                                p.get("momentum", 0.0))
        return theory_value(theory_of(exp.scene), check.measure, exp.scene.momentum)
    if check.measure in EXPERIMENT_MEASURES["rate_sweep"]:
        return getattr(run(exp.scene), check.measure)
    if check.pick:  # {option index: the measure of the run it names}
        runs, out = run(exp.scene), {}
        for k, option in enumerate(quiz_options):
            try:
                out[k] = float(run_measure(runs, check.measure, exp.run_index(option)))
            except ValueError:
                continue
        return out
    if check.measure in ("gradient_x", "gradient_y"):
        import jax
        import jax.numpy as jnp

        g = jax.grad(exp.scene.build_surface().loss)(jnp.asarray(check.at, jnp.float32))
        return float(g[0 if check.measure == "gradient_x" else 1])
    spec, i = exp.scene, check.run
    if check.rate is not None:
        opts = () if check.optimizer == "sgd" else (check.optimizer,)
        spec, i = replace(spec, rates=(check.rate,), optimizers=opts), 0
    if check.start is not None:
        spec = replace(spec, start=check.start)
    runs = run(spec)
    if check.measure in ("x", "y"):
        k = -1 if check.after is None else check.after
        return float(runs.sweep.points[i, k, 0 if check.measure == "x" else 1])
    return run_measure(runs, check.measure, i)


def _agrees(option: float, value: float, tolerance: float | None) -> bool:
    if tolerance is not None:
        return abs(option - value) <= tolerance * abs(value) + 1e-12
    return float(f"{option:.2g}") == float(f"{value:.2g}")


def judge_quiz(quiz: Quiz, value) -> str | None:
    """None if the quiz's answer is what ``value`` says, else why not."""
    check = quiz.check
    options, answer = quiz.options, quiz.answer
    chosen = options[answer]
    if isinstance(value, dict):  # pick: the run with the smallest / largest measure
        best = (min if check.pick == "smallest" else max)(value.values())
        hits = [k for k, v in value.items() if v == best]
        measured = ", ".join(f"{options[k]}: {fmt_value(check.measure, v)}" for k, v in value.items())
        if hits != [answer]:
            return (f"the {check.pick} {check.measure} is {fmt_value(check.measure, best)} at "
                    f"{[options[k] for k in hits]} (measured {measured}), but the answer is {chosen!r}.")
        return None
    shown = fmt_value(check.measure, value)
    if isinstance(value, str):
        if value not in REGIMES:
            return f"the check computed {value!r}, not a regime."
        word = REGIME_WORDS[value]
        hits = [i for i, o in enumerate(options) if word in o.lower()]
        if hits != [answer]:
            return (f"the run is {value!r}: the answer must be the one option that says so "
                    f"(options mentioning it: {[options[i] for i in hits]}).")
        return None
    if value is None or math.isinf(value):
        words = (("never", "not ") if check.measure in ("steps", "learned", "diverged_at",
                                                        "rate_at_converge") else ("diverg",))
        if _number_option(chosen) is not None or not any(w in chosen.lower() for w in words):
            return f"the check computed {shown}, but the answer is {chosen!r}."
        return None
    numbers = {i: _number_option(o) for i, o in enumerate(options)}
    numbers = {i: v for i, v in numbers.items() if v is not None}
    if check.relation == "equal":
        hits = [i for i, v in numbers.items() if _agrees(v, value, check.tolerance)]
    elif check.relation == "above":
        hits = [i for i, v in numbers.items() if v > value]
    else:
        hits = [i for i, v in numbers.items() if v < value]
    if hits != [answer]:
        want = {"equal": "equals", "above": "is above", "below": "is below"}[check.relation]
        agree = "" if check.relation != "equal" else (
            " to 2 significant digits" if check.tolerance is None else f" within {check.tolerance:.0%}")
        return (f"the check computed {check.measure} = {shown}; the answer must be the one option that "
                f"{want} it{agree}, but the answer is {chosen!r} and the options that do are "
                f"{[options[i] for i in hits]}.")
    return None


def check_quiz(lesson: Lesson, quiz: Quiz, run: Runner = run_spec) -> list[str]:
    if quiz.check is None:
        return []
    where = f"{lesson.slug}.md line {quiz.line} (quiz {quiz.id!r})"
    try:
        value = quiz_value(lesson, quiz.check, run, quiz.options)
    except (ValueError, TypeError, KeyError) as e:
        return [f"{where}: the check cannot be computed: {e}"]
    why = judge_quiz(quiz, value)
    return [] if why is None else [f"{where}: {why}"]


def fill_check(text: str, lesson: Lesson, quiz: Quiz, run: Runner = run_spec) -> str:
    """``{check}`` in a quiz's explanation -> the value its check computed."""
    if "{check}" not in text or quiz.check is None:
        return text
    try:
        value = quiz_value(lesson, quiz.check, run, quiz.options)
        if isinstance(value, dict):
            value = (min if quiz.check.pick == "smallest" else max)(value.values())
        shown = fmt_value(quiz.check.measure, value)
    except (ValueError, TypeError, KeyError):
        shown = "?"
    return text.replace("{check}", shown)


# ----------------------------------------------------------------------------
# Predictions.
# ----------------------------------------------------------------------------

CRAWL = "crawl (not there in time)"
ONE_MINIMUM = ("converge", "oscillate", "diverge", CRAWL)
SEVERAL_MINIMA = ("reach the best (global) minimum", "settle in the nearest (local) minimum",
                  "oscillate", "diverge", CRAWL)


def predict_choices(surface) -> tuple[str, ...]:
    """What a student may predict. On a surface with several minima "converge" would not say
    where, so it is split into the global and the local minimum."""
    return SEVERAL_MINIMA if len(surface.minima) > 1 else ONE_MINIMUM


def prediction_right(choice: str, runs: SurfaceRuns, i: int) -> bool:
    """Whether the statement a student picked is true of run ``i``. The statements can overlap
    (a run can oscillate and converge): every true one counts as right."""
    d = runs.diagnoses[i]
    arrived = not math.isinf(runs.steps(i))
    regime = d.regime.value
    return {
        "converge": arrived,
        "reach the best (global) minimum": arrived and d.minimum is not None and d.minimum.is_global,
        "settle in the nearest (local) minimum": regime == "local minimum",
        "oscillate": regime == "oscillating",
        "diverge": regime == "diverged",
        CRAWL: regime == "slow",
    }.get(choice, False)


# ----------------------------------------------------------------------------
# The whole lesson.
# ----------------------------------------------------------------------------


def check_lesson(lesson: Lesson, run: Runner | None = None) -> list[str]:
    """Every problem in a lesson: parse errors, failed claims, placeholders that cannot be
    computed, quiz answers that disagree with their check."""
    run = run or memo()
    failures = [str(e) for e in lesson.errors]
    for expect in lesson.blocks(Expect):
        failures.extend(check_expect(lesson, expect, run))
    failures.extend(check_placeholders(lesson, run))
    for quiz in lesson.blocks(Quiz):
        failures.extend(check_quiz(lesson, quiz, run))
    return failures
