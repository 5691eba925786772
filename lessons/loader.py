"""Turn a lesson file (Markdown with YAML front matter and fenced blocks) into a Lesson.

Pure Python: no Streamlit, no engine runs. Problems never raise; they become
``LessonError``s that name the file and line, so a lesson page can show the
author what to fix while the other lessons keep working. The format (v2) is
documented in lessons/README.md; what the runs measure and whether the claims,
placeholders and quiz answers hold is decided in lessons/claims.py.

>>> lesson = parse_text("---\\ntitle: T\\norder: 1\\nminutes: 2\\n---\\n## Hi\\nText.\\n", "x.md")
>>> lesson.title, [s.title for s in lesson.sections], lesson.errors
('T', ['Hi'], [])

Runs are named by their rate, or by ``optimizer@rate`` (always accepted, needed
when two runs share a rate):

>>> exp = parse_experiment({"id": "e", "rates": [0.1, 0.1], "optimizers": ["sgd", "adam"]}, 1, 1)
>>> exp.run_labels, exp.run_index("adam@0.1")
(('sgd@0.1', 'adam@0.1'), 1)

Numbers in prose come from the runs through placeholders:

>>> [(p.experiment, p.measure, p.run) for p in find_placeholders("took {e.steps[sgd@0.1]} steps")]
[('e', 'steps', 'sgd@0.1')]
"""

from __future__ import annotations

import contextlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import yaml

from engine import optimizers as optimizer_set
from engine import schedules, surfaces
from engine.scene import (
    MAX_RATES,
    NOISE_MAX,
    RATE_MAX,
    RATE_MIN,
    SEED_MAX,
    STEPS_MAX,
    STEPS_MIN,
    SURFACE_PARAMS,
    Scene,
)
from engine.scene import build_surface as surface_of

LESSON_DIR = Path(__file__).resolve().parent
BLOCK_KINDS = ("experiment", "expect", "predict", "quiz")
REGIMES = ("converged", "oscillating", "slow", "diverged", "local minimum")
COMPARISONS = ("slower than", "faster than", "closer than", "lower than")  # surface experiments
NETWORK_COMPARISONS = ("keeps more than", "learns faster than")  # fine-tuning experiments
TASKS = ("surface", "finetune", "rate_sweep")
SWEEP_MAX_RATES = 256
THEORY_NAMES = ("stable_below", "best_rate", "L", "mu", "condition")
THEORY_SURFACES = ("quadratic", "ravine")  # surfaces with a closed form (two curvatures)
# What each kind of experiment can be asked for in a placeholder {ID.measure[RUN]}:
RUN_MEASURES = {
    "surface": ("steps", "distance", "final_distance", "loss", "regime", "diverged_at",
                "overshoots", "rate_at_converge", "noisy_distance"),
    "finetune": ("kept", "learned", "task_b"),
    "rate_sweep": (),
}
EXPERIMENT_MEASURES = {  # placeholders without a run: {ID.measure}
    "surface": (),
    "finetune": (),
    "rate_sweep": ("fastest_rate", "fastest_steps", "largest_stable", "smallest_diverged"),
}
SWEEP_CLAIMS = ("fastest_near", "u_shape", "diverges_above")
QUIZ_MEASURES = ("steps", "distance", "final_distance", "loss", "regime", "diverged_at",
                 "overshoots", "rate_at_converge", "x", "y", "gradient_x", "gradient_y", "kept", "learned",
                 "task_b", *EXPERIMENT_MEASURES["rate_sweep"])
QUIZ_RELATIONS = ("equal", "above", "below")


@dataclass(frozen=True)
class FineTuneSpec:
    """A fine-tuning experiment: pre-train on digits 0-4, fine-tune on 5-9 at each rate."""

    rates: tuple[float, ...]
    steps: int = 200
    freeze_lower: bool = False
    lower_scale: float = 1.0
    warmup: int = 0


@dataclass(frozen=True)
class RateSweepSpec:
    """Many log-spaced rates on a surface in one engine call (``task: rate_sweep``)."""

    surface: str
    params: tuple[tuple[str, float], ...]
    lo: float
    hi: float
    n: int
    steps: int = 300
    start: tuple[float, float] | None = None
    momentum: float = 0.0
    optimizer: str = "sgd"
    noise: float = 0.0
    seed: int = 0
    spacing: str = "log"  # or "linear"

    @property
    def rates(self) -> tuple[float, ...]:
        """``n`` rates from ``lo`` to ``hi``, evenly spaced in log10 (or linearly)."""
        grid = np.linspace if self.spacing == "linear" else np.geomspace
        return tuple(float(r) for r in grid(self.lo, self.hi, self.n))

    @property
    def grid_ratio(self) -> float:
        """The factor between neighbouring rates of a log grid."""
        return (self.hi / self.lo) ** (1.0 / (self.n - 1))

    def within_step(self, rate: float) -> tuple[float, float]:
        """(low, high): the rates within one grid step of ``rate``."""
        if self.spacing == "linear":
            step = (self.hi - self.lo) / (self.n - 1) * (1 + 1e-9)
            return rate - step, rate + step
        r = self.grid_ratio * (1 + 1e-9)
        return rate / r, rate * r

    def build_surface(self) -> surfaces.Surface:
        return surface_of(self.surface, self.params)


Spec = Scene | FineTuneSpec | RateSweepSpec


@dataclass(frozen=True)
class LessonError:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{Path(self.path).name}, line {self.line}: {self.message}"


def _fmt_rate(r: float) -> str:
    return f"{r:g}"


@dataclass(frozen=True)
class Experiment:
    id: str
    scene: Spec
    line: int
    caption: str = ""
    table: bool = False  # show the measured comparison table under the run
    starts: tuple[tuple[float, float], ...] = ()  # claims must also hold from each of these
    seeds: tuple[int, ...] = ()  # ... and with each of these noise seeds
    precision_noise: float = 0.0  # the table's noisy precision column (and `noisy: true` claims)

    @property
    def kind(self) -> str:
        if isinstance(self.scene, FineTuneSpec):
            return "finetune"
        if isinstance(self.scene, RateSweepSpec):
            return "rate_sweep"
        return "surface"

    @property
    def run_optimizers(self) -> tuple[str, ...]:
        if isinstance(self.scene, Scene):
            return self.scene.run_optimizers
        if isinstance(self.scene, FineTuneSpec):
            return ("sgd",) * len(self.scene.rates)
        return ()

    @property
    def run_labels(self) -> tuple[str, ...]:
        """Each run's name: its rate, or ``optimizer@rate`` when another run shares the rate."""
        if isinstance(self.scene, RateSweepSpec):
            return ()
        rates, opts = self.scene.rates, self.run_optimizers
        labels = []
        for r, o in zip(rates, opts, strict=True):
            shared = sum(1 for x in rates if math.isclose(x, r, rel_tol=1e-9)) > 1
            labels.append(f"{o}@{_fmt_rate(r)}" if shared else _fmt_rate(r))
        return tuple(labels)

    def run_index(self, key) -> int:
        """The index of the run named ``key`` (a rate, or ``optimizer@rate``); ValueError if none."""
        if isinstance(self.scene, RateSweepSpec):
            raise ValueError(f"experiment {self.id!r} is a rate sweep: its runs have no names.")
        text = str(key).strip()
        opt = None
        if "@" in text:
            opt, text = (s.strip() for s in text.split("@", 1))
        try:
            r = float(text)
        except ValueError:
            raise ValueError(f"{key!r} names no run: write a rate (0.1) or optimizer@rate "
                             f"(adam@0.1); experiment {self.id!r} has "
                             f"{', '.join(self.run_labels)}.") from None
        hits = [i for i, (x, o) in enumerate(zip(self.scene.rates, self.run_optimizers, strict=True))
                if math.isclose(x, r, rel_tol=1e-9) and (opt is None or o == opt)]
        if not hits:
            raise ValueError(f"experiment {self.id!r} has no run {key!r}; its runs are "
                             f"{', '.join(self.run_labels)}.")
        if len(hits) > 1:
            raise ValueError(f"rate {_fmt_rate(r)} is shared by runs "
                             f"{' and '.join(self.run_labels[i] for i in hits)} of experiment "
                             f"{self.id!r}: name one as optimizer@rate.")
        return hits[0]


class RunRef(NamedTuple):
    """A run of a lesson's experiment: the experiment's id and the run's index in it."""

    experiment: str
    index: int


@dataclass(frozen=True)
class Expect:
    experiment: str
    regimes: tuple[tuple[int, str], ...]  # (run index, regime)
    compare: tuple[tuple[RunRef, str, RunRef], ...]  # runs of this (or another) experiment
    line: int
    sweep: tuple[tuple[str, object], ...] = ()  # rate-sweep claims: (name, value)
    noisy: bool = False  # checked on the experiment's noisy companion run (precision_noise)


@dataclass(frozen=True)
class Predict:
    experiment: str
    run: int
    rate: float
    question: str
    line: int


@dataclass(frozen=True)
class QuizCheck:
    """How a quiz's answer is computed: from theory or from a (possibly varied) run."""

    measure: str  # a QUIZ_MEASURES name, or a THEORY_NAMES name for theory checks
    theory: bool = False
    params: tuple[tuple[str, float], ...] | None = None  # theory: the quadratic's curvatures
    experiment: str | None = None
    run: int | None = None  # a run of the experiment
    rate: float | None = None  # or a new rate on the experiment's scene
    optimizer: str = "sgd"  # the new rate's optimizer
    start: tuple[float, float] | None = None
    after: int | None = None  # x/y after this many steps (default: the end)
    at: tuple[float, float] | None = None  # gradient_x/gradient_y at this point
    relation: str = "equal"
    tolerance: float | None = None  # relative; default: agree to 2 significant digits
    pick: str | None = None  # "smallest"/"largest": the answer is the run (option) with that measure


@dataclass(frozen=True)
class Quiz:
    id: str
    question: str
    options: tuple[str, ...]
    answer: int
    explanation: str
    experiment: str | None
    line: int
    check: QuizCheck | None = None


@dataclass(frozen=True)
class Placeholder:
    """``{ID.measure[RUN]}`` or ``{ID.theory.NAME}`` or ``{ID.measure}`` in prose."""

    raw: str
    experiment: str
    measure: str  # "theory" for theory values
    run: str | None = None  # the run's name as written
    theory: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Text:
    markdown: str
    line: int
    placeholders: tuple[Placeholder, ...] = ()


Block = Text | Experiment | Expect | Predict | Quiz


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Lesson:
    path: str
    slug: str
    title: str
    order: int
    minutes: int
    objectives: list[str]
    sections: list[Section]
    errors: list[LessonError]
    needs: str = ""  # a part of the app this lesson waits for, if not built yet
    placeholders: list[Placeholder] = field(default_factory=list)  # every one, checked

    @property
    def experiments(self) -> dict[str, Experiment]:
        return {b.id: b for s in self.sections for b in s.blocks if isinstance(b, Experiment)}

    def blocks(self, kind) -> list:
        return [b for s in self.sections for b in s.blocks if isinstance(b, kind)]

    @property
    def slides(self) -> list[Slide]:
        """The lesson cut into presenter slides: :func:`slides_of` each section, in order."""
        return [slide for i, s in enumerate(self.sections) for slide in slides_of(s, i)]


@dataclass(frozen=True)
class Slide:
    """One screen of presenter mode: some blocks of one section (0-based index)."""

    section: int
    title: str
    blocks: tuple[Block, ...]

    @property
    def experiment(self) -> Experiment | None:
        return next((b for b in self.blocks if isinstance(b, Experiment)), None)


def slides_of(section: Section, index: int = 0) -> list[Slide]:
    """A section cut so that each experiment has a slide of its own (with its prediction, which
    renders inside it) and the prose and quizzes between experiments make the slides around
    them: a projector shows one chart at a time, at full height.

    >>> e = parse_experiment({"id": "e", "rates": [0.1]}, 1, 1)
    >>> s = Section("S", [Text("a", 1), e, Text("b", 2), Text("c", 3)])
    >>> [[type(b).__name__ for b in sl.blocks] for sl in slides_of(s)]
    [['Text'], ['Experiment'], ['Text', 'Text']]
    """
    slides, current = [], []

    def flush() -> None:
        if current:
            slides.append(Slide(index, section.title, tuple(current)))
            current.clear()

    for block in section.blocks:
        if isinstance(block, Experiment):
            if any(not isinstance(b, Predict) for b in current):
                flush()
            current.append(block)
            flush()
        else:
            current.append(block)
    flush()
    return slides or [Slide(index, section.title, ())]


FENCE = re.compile(r"^```(\w[\w-]*)?\s*$")
PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_][\w-]*)\.([A-Za-z_]\w*)(?:\.([A-Za-z_]\w*))?"
                         r"(?:\[([^\]\s{}]+)\])?\}")
# "2/L = 0.2" or "2/(L + μ) ≈ 0.18" written as a literal: theory values must be placeholders.
THEORY_LITERAL = re.compile(r"(?<![\w/])[12]\s*/\s*(?:L|\(\s*L\s*\+\s*(?:μ|mu)\s*\))(?![\w])"
                            r"\s*[=≈]\s*[0-9]+(?:\.[0-9]+)?")


def find_placeholders(text: str, line: int = 0) -> list[Placeholder]:
    """Every placeholder in ``text`` (syntax only), each with its line (``line`` is text's first)."""
    found = []
    for m in PLACEHOLDER.finditer(text):
        exp_id, measure, sub, run = m[1], m[2], m[3], m[4]
        at = line + text.count("\n", 0, m.start())
        if measure == "theory":
            found.append(Placeholder(m[0], exp_id, "theory", run, sub, at))
        elif sub is not None:
            found.append(Placeholder(m[0], exp_id, f"{measure}.{sub}", run, None, at))
        else:
            found.append(Placeholder(m[0], exp_id, measure, run, None, at))
    return found


def theory_literals(text: str, line: int = 0) -> list[tuple[int, str]]:
    """(line, snippet) for each theory value written as a literal number, e.g. '2/L = 0.2'."""
    return [(line + text.count("\n", 0, m.start()), m[0]) for m in THEORY_LITERAL.finditer(text)]


def validate_placeholder(p: Placeholder, experiments: dict[str, Experiment]) -> None:
    """ValueError (a sentence) if ``p`` names an unknown experiment, measure or run."""
    if p.experiment not in experiments:
        raise ValueError(f"placeholder {p.raw} names unknown experiment {p.experiment!r}; "
                         f"this lesson has {', '.join(experiments) or 'none'}.")
    exp = experiments[p.experiment]
    if p.measure == "theory":
        if p.run is not None:
            raise ValueError(f"placeholder {p.raw}: theory values take no run.")
        if p.theory not in THEORY_NAMES:
            raise ValueError(f"placeholder {p.raw}: unknown theory value {p.theory!r}; "
                             f"choose one of {', '.join(THEORY_NAMES)}.")
        if exp.kind == "finetune" or exp.scene.surface not in THEORY_SURFACES:
            raise ValueError(f"placeholder {p.raw}: theory values exist only for the "
                             f"{' and '.join(THEORY_SURFACES)} surfaces.")
        return
    per_run, whole = RUN_MEASURES[exp.kind], EXPERIMENT_MEASURES[exp.kind]
    if p.measure in whole:
        if p.run is not None:
            raise ValueError(f"placeholder {p.raw}: {p.measure!r} takes no run.")
        return
    if p.measure not in per_run:
        raise ValueError(f"placeholder {p.raw}: unknown measure {p.measure!r} for a "
                         f"{exp.kind.replace('_', ' ')} experiment; choose one of "
                         f"{', '.join([*per_run, *whole, 'theory.NAME'])}.")
    if p.run is None:
        raise ValueError(f"placeholder {p.raw}: name the run, e.g. "
                         f"{{{p.experiment}.{p.measure}[{exp.run_labels[0]}]}}.")
    try:
        exp.run_index(p.run)
    except ValueError as e:
        raise ValueError(f"placeholder {p.raw}: {e}") from None
    if p.measure == "noisy_distance" and not exp.precision_noise:
        raise ValueError(f"placeholder {p.raw}: experiment {exp.id!r} has no 'precision_noise'.")


def _rate(value, where: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{where}: {value!r} is not a number.")
    try:
        r = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {value!r} is not a number.") from None
    if not (math.isfinite(r) and RATE_MIN <= r <= RATE_MAX):
        raise ValueError(f"{where}: rate {value!r} is outside {RATE_MIN:g} to {RATE_MAX:g}.")
    return r


def _int(cfg: dict, key: str, default: int, lo: int, hi: int) -> int:
    v = cfg.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise ValueError(f"'{key}' must be a whole number from {lo} to {hi}.")
    return v


def _float(cfg: dict, key: str, default: float, lo: float, hi: float, hi_open=False) -> float:
    v = cfg.get(key, default)
    try:
        if isinstance(v, bool):
            raise ValueError
        v = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"'{key}' must be a number.") from None
    if not (math.isfinite(v) and lo <= v and (v < hi if hi_open else v <= hi)):
        raise ValueError(f"'{key}' must be in [{lo:g}, {hi:g}{')' if hi_open else ']'}.")
    return v


def parse_finetune(cfg: dict) -> FineTuneSpec:
    """A ``task: finetune`` experiment's YAML -> FineTuneSpec (ValueError with a clear sentence)."""
    rates = cfg.get("rates")
    if not isinstance(rates, list) or not 1 <= len(rates) <= MAX_RATES:
        raise ValueError(f"'rates' must be a list of 1 to {MAX_RATES} learning rates.")
    rates = tuple(_rate(r, "rates") for r in rates)
    steps = _int(cfg, "steps", 200, STEPS_MIN, STEPS_MAX)
    lower_scale = float(cfg.get("lower_scale", 1.0))
    if not 0.0 <= lower_scale <= 1.0:
        raise ValueError("'lower_scale' (the lower layers' share of the rate) must be in [0, 1].")
    warmup = cfg.get("warmup", 0)
    if not isinstance(warmup, int) or not 0 <= warmup < steps:
        raise ValueError("'warmup' must be a whole number of steps, shorter than the run.")
    unknown = set(cfg) - {"id", "task", "rates", "steps", "freeze_lower", "lower_scale", "warmup",
                          "caption", "table"}
    if unknown:
        raise ValueError(f"a fine-tuning experiment has no key {sorted(unknown)[0]!r}.")
    return FineTuneSpec(rates, steps, bool(cfg.get("freeze_lower", False)), lower_scale, warmup)


def _surface_and_params(cfg: dict) -> tuple[str, tuple[tuple[str, float], ...]]:
    name = cfg.get("surface", "quadratic")
    if name not in surfaces.names():
        raise ValueError(f"unknown surface {name!r}; choose one of {', '.join(surfaces.names())}.")
    specs = {p.key: p for p in SURFACE_PARAMS.get(name, ())}
    given = cfg.get("params") or {}
    if not isinstance(given, dict):
        raise ValueError("'params' must be a mapping such as {a: 1, b: 10}.")
    unknown = set(given) - set(specs)
    if unknown:
        raise ValueError(f"surface {name!r} has no parameter {sorted(unknown)[0]!r}"
                         + (f"; it has {', '.join(specs)}." if specs else "; it has none."))
    params = []
    for key, p in specs.items():
        v = _float(given, key, p.default, p.lo, p.hi)
        params.append((key, v))
    return name, tuple(params)


def _point(value, surface: surfaces.Surface, key: str) -> tuple[float, float]:
    (x0, x1), (y0, y1) = surface.bounds
    try:
        if not isinstance(value, list) or len(value) != 2:
            raise ValueError
        x, y = float(value[0]), float(value[1])
    except (TypeError, ValueError):
        raise ValueError(f"'{key}' must be [x, y] inside the surface's bounds {surface.bounds}.") from None
    if not (x0 <= x <= x1 and y0 <= y <= y1):
        raise ValueError(f"'{key}' must be [x, y] inside the surface's bounds {surface.bounds}.")
    return x, y


def _noise_seed(cfg: dict) -> tuple[float, int]:
    return (_float(cfg, "noise", 0.0, 0.0, NOISE_MAX), _int(cfg, "seed", 0, 0, SEED_MAX))


SURFACE_KEYS = {"id", "task", "surface", "params", "rates", "steps", "start", "momentum",
                "schedule", "caption", "table", "optimizers", "noise", "seed", "starts", "seeds",
                "precision_noise"}
SWEEP_KEYS = {"id", "task", "surface", "params", "from", "to", "n", "spacing", "steps", "start",
              "momentum",
              "optimizer", "noise", "seed", "caption", "starts", "seeds"}


def _robustness(cfg: dict, surface: surfaces.Surface, noise: float):
    starts = cfg.get("starts") or []
    if not isinstance(starts, list):
        raise ValueError("'starts' must be a list of [x, y] points.")
    starts = tuple(_point(s, surface, "starts") for s in starts)
    seeds = cfg.get("seeds") or []
    if not isinstance(seeds, list) or not all(isinstance(s, int) and not isinstance(s, bool)
                                              and 0 <= s <= SEED_MAX for s in seeds):
        raise ValueError("'seeds' must be a list of whole numbers (noise seeds).")
    if seeds and not (noise or cfg.get("precision_noise")):
        raise ValueError("'seeds' only makes sense with 'noise' (or 'precision_noise') above 0.")
    return starts, tuple(seeds)


def parse_rate_sweep(cfg: dict, line: int, index: int) -> Experiment:
    """A ``task: rate_sweep`` experiment: ``n`` log-spaced rates from ``from`` to ``to``."""
    unknown = set(cfg) - SWEEP_KEYS
    if unknown:
        raise ValueError(f"a rate sweep has no key {sorted(unknown)[0]!r}.")
    name, params = _surface_and_params(cfg)
    if "from" not in cfg or "to" not in cfg:
        raise ValueError("a rate sweep needs 'from' and 'to' (its smallest and largest rate).")
    lo, hi = _rate(cfg["from"], "from"), _rate(cfg["to"], "to")
    if lo >= hi:
        raise ValueError(f"'from' ({lo:g}) must be below 'to' ({hi:g}).")
    n = _int(cfg, "n", 64, 3, SWEEP_MAX_RATES)
    steps = _int(cfg, "steps", 300, STEPS_MIN, STEPS_MAX)
    momentum = _float(cfg, "momentum", 0.0, 0.0, 1.0, hi_open=True)
    opt = str(cfg.get("optimizer", "sgd"))
    if opt not in optimizer_set.names():
        raise ValueError(f"unknown optimizer {opt!r}; choose one of {', '.join(optimizer_set.names())}.")
    if momentum and opt != "sgd":
        raise ValueError("'momentum' is for the sgd optimizer only (the others bring their own).")
    noise, seed = _noise_seed(cfg)
    surface = surfaces.get(name, **dict(params))
    start = None if cfg.get("start") is None else _point(cfg["start"], surface, "start")
    starts, seeds = _robustness(cfg, surface, noise)
    spacing = str(cfg.get("spacing", "log"))
    if spacing not in ("log", "linear"):
        raise ValueError("'spacing' must be log or linear.")
    spec = RateSweepSpec(name, params, lo, hi, n, steps, start, momentum, opt, noise, seed, spacing)
    return Experiment(str(cfg.get("id", f"experiment-{index}")), spec, line,
                      str(cfg.get("caption", "")), False, starts, seeds)


def parse_experiment(cfg: dict, line: int, index: int) -> Experiment:
    """An ``experiment`` block's YAML -> Experiment (raises ValueError with a clear sentence)."""
    task = cfg.get("task", "surface")
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}.")
    if task == "finetune":
        return Experiment(str(cfg.get("id", f"experiment-{index}")), parse_finetune(cfg), line,
                          str(cfg.get("caption", "")), False)
    if task == "rate_sweep":
        return parse_rate_sweep(cfg, line, index)
    unknown = set(cfg) - SURFACE_KEYS
    if unknown:
        raise ValueError(f"an experiment has no key {sorted(unknown)[0]!r}.")
    name, params = _surface_and_params(cfg)
    rates = cfg.get("rates")
    if not isinstance(rates, list) or not 1 <= len(rates) <= MAX_RATES:
        raise ValueError(f"'rates' must be a list of 1 to {MAX_RATES} learning rates.")
    rates = tuple(_rate(r, "rates") for r in rates)
    steps = _int(cfg, "steps", 100, STEPS_MIN, STEPS_MAX)
    momentum = _float(cfg, "momentum", 0.0, 0.0, 1.0, hi_open=True)
    surface = surfaces.get(name, **dict(params))
    start = None if cfg.get("start") is None else _point(cfg["start"], surface, "start")
    schedule = str(cfg.get("schedule", "constant"))
    if schedule not in schedules.NAMES:
        raise ValueError(f"unknown schedule {schedule!r}; choose one of {', '.join(schedules.NAMES)}.")
    opts = cfg.get("optimizers")
    if opts is None:
        opts = ()
    else:
        if not isinstance(opts, list) or len(opts) != len(rates):
            raise ValueError("'optimizers' must list one optimizer per rate "
                             f"({len(rates)} here).")
        bad = [o for o in opts if str(o) not in optimizer_set.names()]
        if bad:
            raise ValueError(f"unknown optimizer {bad[0]!r}; choose one of "
                             f"{', '.join(optimizer_set.names())}.")
        opts = tuple(str(o) for o in opts)
        if all(o == "sgd" for o in opts):
            opts = ()
    noise, seed = _noise_seed(cfg)
    starts, seeds = _robustness(cfg, surface, noise)
    precision_noise = _float(cfg, "precision_noise", 0.0, 0.0, NOISE_MAX)
    scene = Scene(name, params, rates, steps, start, momentum, schedule, opts, noise, seed)
    return Experiment(str(cfg.get("id", f"experiment-{index}")), scene, line,
                      str(cfg.get("caption", "")), bool(cfg.get("table", False)), starts, seeds,
                      precision_noise)


def _sweep_claim(key: str, value) -> tuple[str, object]:
    if key == "u_shape":
        if not isinstance(value, bool):
            raise ValueError("'u_shape' must be true or false.")
        return key, value
    if isinstance(value, str):
        if value not in ("best_rate", "stable_below"):
            raise ValueError(f"'{key}' must be best_rate, stable_below or a rate, not {value!r}.")
        return key, value
    return key, _rate(value, key)


def parse_expect(cfg: dict, line: int, experiments: dict[str, Experiment], last: str | None) -> Expect:
    exp_id = str(cfg.get("experiment", last or ""))
    if exp_id not in experiments:
        raise ValueError(f"'expect' refers to unknown experiment {exp_id!r}; "
                         "put it after the experiment it checks, or name it with 'experiment:'.")
    exp = experiments[exp_id]
    unknown = set(cfg) - {"experiment", "regimes", "compare", "noisy", *SWEEP_CLAIMS}
    if unknown:
        raise ValueError(f"'expect' has no key {sorted(unknown)[0]!r}.")
    if exp.kind == "rate_sweep":
        if cfg.get("regimes") or cfg.get("compare"):
            raise ValueError("a rate sweep's claims are " + ", ".join(SWEEP_CLAIMS)
                             + "; its runs have no names for 'regimes' or 'compare'.")
        sweep = tuple(_sweep_claim(k, cfg[k]) for k in SWEEP_CLAIMS if k in cfg)
        if not sweep:
            raise ValueError(f"'expect' on a rate sweep needs one of {', '.join(SWEEP_CLAIMS)}.")
        for key, value in sweep:
            if isinstance(value, str) and exp.scene.surface not in THEORY_SURFACES:
                raise ValueError(f"'{key}: {value}' needs a surface with a closed form "
                                 f"({', '.join(THEORY_SURFACES)}); give a rate instead.")
            if value == "best_rate" and (exp.scene.momentum or exp.scene.optimizer != "sgd"):
                raise ValueError("best_rate is theory for plain gradient descent (sgd, no momentum).")
        return Expect(exp_id, (), (), line, sweep)
    if any(k in cfg for k in SWEEP_CLAIMS):
        raise ValueError(f"{', '.join(SWEEP_CLAIMS)} are claims about a rate sweep "
                         "(task: rate_sweep).")
    network = exp.kind == "finetune"
    if network and cfg.get("regimes"):
        raise ValueError("a fine-tuning experiment's claims are comparisons "
                         "('A keeps more than B', 'A learns faster than B'), not regimes.")
    noisy = bool(cfg.get("noisy", False))
    if noisy and not exp.precision_noise:
        raise ValueError(f"'noisy: true' checks the noisy twin of an experiment with "
                         f"'precision_noise'; experiment {exp_id!r} has none.")
    allowed = NETWORK_COMPARISONS if network else COMPARISONS
    regimes = []
    regime_map = cfg.get("regimes") or {}
    if not isinstance(regime_map, dict):
        raise ValueError("'regimes' must map runs to regimes, e.g. '0.1: converged'.")
    for key, regime in regime_map.items():
        if regime not in REGIMES:
            raise ValueError(f"regime {regime!r} is not one of {', '.join(REGIMES)}.")
        regimes.append((exp.run_index(key), regime))
    def ref(name: str) -> RunRef:
        """``RUN`` (this experiment) or ``ID:RUN`` (another surface experiment above)."""
        if ":" not in name:
            return RunRef(exp_id, exp.run_index(name))
        other_id, run = name.split(":", 1)
        if other_id not in experiments:
            raise ValueError(f"{name!r} names unknown experiment {other_id!r} (it must come "
                             "before this block).")
        other = experiments[other_id]
        if other.kind != "surface" or exp.kind != "surface":
            raise ValueError(f"{name!r}: comparisons across experiments work on surface "
                             "experiments only.")
        if noisy:
            raise ValueError(f"{name!r}: 'noisy: true' claims compare runs of one experiment.")
        return RunRef(other_id, other.run_index(run))

    compare = []
    for text in cfg.get("compare") or []:
        m = re.fullmatch(r"\s*(\S+)\s+(" + "|".join(allowed) + r")\s+(\S+)\s*", str(text))
        if not m:
            forms = " or ".join(f"'A {c} B'" for c in allowed)
            raise ValueError(f"comparison {text!r} must read {forms} with two of the "
                             "experiment's runs (or ID:RUN for another experiment's).")
        a, b = ref(m[1]), ref(m[3])
        if a == b:
            raise ValueError(f"comparison {text!r} compares a run with itself.")
        compare.append((a, m[2], b))
    if not regimes and not compare:
        raise ValueError("'expect' needs 'regimes' or 'compare'.")
    return Expect(exp_id, tuple(regimes), tuple(compare), line, (), noisy)


def parse_predict(cfg: dict, line: int, experiments: dict[str, Experiment], last: str | None) -> Predict:
    if "experiment" not in cfg and last is None:
        raise ValueError("'predict' needs 'experiment:' naming the experiment it asks about.")
    exp_id = str(cfg.get("experiment", last or ""))
    if exp_id not in experiments:
        raise ValueError(f"'predict' refers to unknown experiment {exp_id!r}.")
    exp = experiments[exp_id]
    if exp.kind != "surface":
        raise ValueError("predictions work on surface experiments only.")
    key = cfg.get("run", cfg.get("rate", exp.run_labels[0]))
    i = exp.run_index(key)
    rate = exp.scene.rates[i]
    question = str(cfg.get("question", f"What will a rate of {rate:g} do?"))
    return Predict(exp_id, i, rate, question, line)


def _number_option(text: str) -> float | None:
    """An option's number ('0.08', '≈ 600', '1,200'), or None if it is words."""
    t = text.strip().lstrip("≈~").strip().replace(",", "")
    try:
        v = float(t)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def parse_check(cfg, experiments: dict[str, Experiment]) -> QuizCheck:
    """A quiz's ``check:`` mapping -> QuizCheck (ValueError with a clear sentence)."""
    if not isinstance(cfg, dict):
        raise ValueError("'check' must be a mapping, e.g. {theory: stable_below, params: {a: 4, b: 25}}.")
    known = {"theory", "params", "experiment", "run", "rate", "optimizer", "start", "after", "at",
             "measure", "relation", "tolerance", "pick"}
    unknown = set(cfg) - known
    if unknown:
        raise ValueError(f"'check' has no key {sorted(unknown)[0]!r}.")
    relation = str(cfg.get("relation", "equal"))
    if relation not in QUIZ_RELATIONS:
        raise ValueError(f"'check' relation must be one of {', '.join(QUIZ_RELATIONS)}.")
    tolerance = None
    if "tolerance" in cfg:
        tolerance = _float(cfg, "tolerance", 0.0, 0.0, 1.0)
    exp = None
    if "experiment" in cfg:
        if str(cfg["experiment"]) not in experiments:
            raise ValueError(f"'check' refers to unknown experiment {cfg['experiment']!r} "
                             "(it must come before the quiz).")
        exp = experiments[str(cfg["experiment"])]
    if "theory" in cfg:
        name = str(cfg["theory"])
        if name not in THEORY_NAMES:
            raise ValueError(f"'check' theory must be one of {', '.join(THEORY_NAMES)}.")
        params = None
        if "params" in cfg:
            given = cfg["params"]
            if (not isinstance(given, dict) or set(given) - {"a", "b", "momentum"}
                    or not {"a", "b"} <= set(given)):
                raise ValueError("'check' params are the quadratic's curvatures {a: ..., b: ...} "
                                 "(and optionally momentum).")
            vals = {}
            for k in given:
                vals[k] = _float(given, k, 1.0, 0.0 if k == "momentum" else 1e-12, 1e12)
            params = tuple(sorted(vals.items()))
        elif exp is None or exp.kind == "finetune" or exp.scene.surface not in THEORY_SURFACES:
            raise ValueError("a theory check needs 'params: {a: ..., b: ...}' or an 'experiment' "
                             f"on a {' or '.join(THEORY_SURFACES)} surface.")
        return QuizCheck(name, True, params, None if exp is None else exp.id, relation=relation,
                         tolerance=tolerance)
    if exp is None:
        raise ValueError("'check' needs 'theory:' or 'experiment:'.")
    measure = str(cfg.get("measure", ""))
    if measure not in QUIZ_MEASURES:
        raise ValueError(f"'check' measure must be one of {', '.join(QUIZ_MEASURES)}.")
    run = rate = None
    opt = str(cfg.get("optimizer", "sgd"))
    if opt not in optimizer_set.names():
        raise ValueError(f"unknown optimizer {opt!r}.")
    if exp.kind == "rate_sweep":
        if measure not in EXPERIMENT_MEASURES["rate_sweep"]:
            raise ValueError(f"a rate sweep's check measures are "
                             f"{', '.join(EXPERIMENT_MEASURES['rate_sweep'])}.")
    elif measure in ("gradient_x", "gradient_y"):
        if exp.kind != "surface" or "at" not in cfg:
            raise ValueError(f"'{measure}' needs 'at: [x, y]' on a surface experiment.")
    elif measure in EXPERIMENT_MEASURES["rate_sweep"]:
        raise ValueError(f"'{measure}' is a measure of a rate sweep.")
    elif "pick" in cfg:
        if str(cfg["pick"]) not in ("smallest", "largest") or measure in ("regime", "x", "y"):
            raise ValueError("'pick' is smallest or largest, with a numeric measure "
                             "(steps, distance, loss, ...).")
        if (measure in RUN_MEASURES["finetune"]) != (exp.kind == "finetune"):
            raise ValueError(f"measure {measure!r} does not apply to experiment {exp.id!r}.")
        return QuizCheck(measure, False, None, exp.id, relation=relation, pick=str(cfg["pick"]))
    else:
        if (measure in RUN_MEASURES["finetune"]) != (exp.kind == "finetune"):
            raise ValueError(f"measure {measure!r} does not apply to experiment {exp.id!r}.")
        if "run" in cfg:
            run = exp.run_index(cfg["run"])
        elif "rate" in cfg and exp.kind == "surface":
            rate = _rate(cfg["rate"], "check rate")
        else:
            raise ValueError("'check' needs 'run:' (one of the experiment's runs)"
                             + (" or 'rate:' (a new rate on its scene)." if exp.kind == "surface" else "."))
    start = at = after = None
    if exp.kind == "surface":
        surface = exp.scene.build_surface()
        start = None if cfg.get("start") is None else _point(cfg["start"], surface, "start")
        at = None if cfg.get("at") is None else _point(cfg["at"], surface, "at")
        if "after" in cfg:
            after = _int(cfg, "after", 1, 0, exp.scene.steps)
            if measure not in ("x", "y"):
                raise ValueError("'after' goes with measure x or y.")
    return QuizCheck(measure, False, None, exp.id, run, rate, opt, start, after, at, relation,
                     tolerance)


def parse_quiz(cfg: dict, line: int, index: int, experiments: dict[str, Experiment]) -> Quiz:
    options = cfg.get("options")
    if not isinstance(options, list) or len(options) < 2:
        raise ValueError("a quiz needs 'options': a list of at least two answers.")
    options = [str(o) for o in options]
    answer = cfg.get("answer")
    if isinstance(answer, float | int) and not isinstance(answer, bool) and str(answer) in options:
        answer = str(answer)
    if isinstance(answer, str):
        if answer not in options:
            raise ValueError(f"the answer {answer!r} is not one of the options.")
        answer = options.index(answer)
    if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(options):
        raise ValueError("'answer' must be one of the options or its index (from 0).")
    exp = cfg.get("experiment")
    if exp is not None and str(exp) not in experiments:
        raise ValueError(f"quiz links to unknown experiment {exp!r}.")
    if not cfg.get("question") or not cfg.get("explanation"):
        raise ValueError("a quiz needs a 'question' and an 'explanation'.")
    check = None if cfg.get("check") is None else parse_check(cfg["check"], experiments)
    if check is not None and check.pick:
        picked = experiments[check.experiment]
        named = []
        for o in options:
            with contextlib.suppress(ValueError):
                named.append(picked.run_index(o))
        if len(named) < 2:
            raise ValueError("with 'pick', at least two options must name runs of the experiment "
                             f"({', '.join(picked.run_labels)}).")
    chosen = options[answer].strip().lower()
    if check is None and (_number_option(options[answer]) is not None or chosen in REGIMES):
        raise ValueError(f"the answer {options[answer]!r} is a number or a regime: give the quiz a "
                         "'check:' that computes it (see lessons/README.md).")
    return Quiz(str(cfg.get("id", f"quiz-{index}")), str(cfg["question"]),
                tuple(options), answer, str(cfg["explanation"]),
                None if exp is None else str(exp), line, check)


def _front_matter(lines: list[str], path: str, errors: list[LessonError]) -> tuple[dict, int]:
    if not lines or lines[0].strip() != "---":
        errors.append(LessonError(path, 1, "the file must start with front matter between '---' lines."))
        return {}, 0
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            try:
                meta = yaml.safe_load("\n".join(lines[1:i])) or {}
            except yaml.YAMLError as e:
                mark = getattr(e, "problem_mark", None)
                errors.append(LessonError(path, 2 + (mark.line if mark else 0),
                                          f"front matter is not valid YAML: {getattr(e, 'problem', e)}"))
                meta = {}
            if not isinstance(meta, dict):
                errors.append(LessonError(path, 2, "front matter must be 'key: value' lines."))
                meta = {}
            return meta, i + 1
    errors.append(LessonError(path, 1, "front matter has no closing '---' line."))
    return {}, 0


def _prose_of(block) -> list[tuple[str, int]]:
    """(text, first line) of the prose in a block that may hold placeholders."""
    if isinstance(block, Text):
        return [(block.markdown, block.line)]
    if isinstance(block, Experiment):
        return [(block.caption, block.line)] if block.caption else []
    if isinstance(block, Quiz):
        return [(block.question, block.line), (block.explanation, block.line)]
    if isinstance(block, Predict):
        return [(block.question, block.line)]
    return []


def parse_text(text: str, path: str) -> Lesson:
    """Parse a lesson's text; ``path`` names it in error messages."""
    errors: list[LessonError] = []
    lines = text.splitlines()
    meta, body_start = _front_matter(lines, path, errors)
    for key in ("title", "order", "minutes"):
        if key not in meta:
            errors.append(LessonError(path, 1, f"front matter needs '{key}'."))
    sections: list[Section] = [Section(str(meta.get("title", Path(path).stem)))]
    experiments: dict[str, Experiment] = {}
    last_exp: str | None = None
    text_buf: list[str] = []
    text_line = body_start + 1
    counts = {k: 0 for k in BLOCK_KINDS}
    pending: list[tuple[int, int, dict, int]] = []  # predict blocks, resolved at the end

    def flush_text():
        lead = 0
        while lead < len(text_buf) and not text_buf[lead].strip():
            lead += 1
        body = "\n".join(text_buf).strip()
        if body:
            sections[-1].blocks.append(Text(body, text_line + lead))
        text_buf.clear()

    i = body_start
    while i < len(lines):
        line = lines[i]
        m = FENCE.match(line)
        if line.startswith("## "):
            flush_text()
            if sections[-1].blocks or len(sections) > 1:
                sections.append(Section(line[3:].strip()))
            else:
                sections[-1].title = line[3:].strip()
            text_line = i + 2
            i += 1
            continue
        if m and m[1] in BLOCK_KINDS:
            flush_text()
            kind, start = m[1], i + 1
            j = start
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            if j == len(lines):
                errors.append(LessonError(path, i + 1, f"the '{kind}' block is never closed with ```."))
                break
            counts[kind] += 1
            try:
                cfg = yaml.safe_load("\n".join(lines[start:j])) or {}
                if not isinstance(cfg, dict):
                    raise ValueError("the block must hold 'key: value' lines.")
                if kind == "experiment":
                    block = parse_experiment(cfg, i + 1, counts[kind])
                    if block.id in experiments:
                        raise ValueError(f"experiment id {block.id!r} is used twice.")
                    experiments[block.id] = block
                    last_exp = block.id
                elif kind == "expect":
                    block = parse_expect(cfg, i + 1, experiments, last_exp)
                elif kind == "predict":  # may name an experiment further down
                    pending.append((len(sections) - 1, len(sections[-1].blocks), cfg, i + 1))
                    i = j + 1
                    text_line = i + 1
                    continue
                else:
                    block = parse_quiz(cfg, i + 1, counts[kind], experiments)
                sections[-1].blocks.append(block)
            except yaml.YAMLError as e:
                mark = getattr(e, "problem_mark", None)
                errors.append(LessonError(path, start + 1 + (mark.line if mark else 0),
                                          f"'{kind}' block is not valid YAML: "
                                          f"{getattr(e, 'problem', e)}"))
            except (ValueError, TypeError) as e:
                errors.append(LessonError(path, i + 1, f"'{kind}' block: {e}"))
            i = j + 1
            text_line = i + 1
            continue
        if not text_buf:
            text_line = i + 1
        text_buf.append(line)
        i += 1
    flush_text()
    for s_idx, b_idx, cfg, line in reversed(pending):
        try:
            block = parse_predict(cfg, line, experiments, None)
            sections[s_idx].blocks.insert(b_idx, block)
        except (ValueError, TypeError) as e:
            errors.append(LessonError(path, line, f"'predict' block: {e}"))
    # Placeholders may name experiments anywhere in the file; theory values must be placeholders.
    found: list[Placeholder] = []
    for s in sections:
        for b_idx, block in enumerate(s.blocks):
            block_found = []
            for prose, first in _prose_of(block):
                for at, snippet in theory_literals(prose, first):
                    errors.append(LessonError(path, at, f"'{snippet}' writes a theory value as a "
                                              "literal number: use a placeholder such as "
                                              "{ID.theory.stable_below} so it comes from the surface."))
                for p in find_placeholders(prose, first):
                    try:
                        validate_placeholder(p, experiments)
                        block_found.append(p)
                    except ValueError as e:
                        errors.append(LessonError(path, p.line, str(e)))
            if isinstance(block, Text) and block_found:
                s.blocks[b_idx] = Text(block.markdown, block.line, tuple(block_found))
            found.extend(block_found)
    objectives = meta.get("objectives") or []
    return Lesson(
        path=path,
        slug=Path(path).stem,
        title=str(meta.get("title", Path(path).stem)),
        order=int(meta.get("order", 999)) if str(meta.get("order", "")).isdigit() else 999,
        minutes=int(meta.get("minutes", 0)) if str(meta.get("minutes", "")).isdigit() else 0,
        objectives=[str(o) for o in objectives] if isinstance(objectives, list) else [],
        sections=[s for s in sections if s.blocks or s.title],
        errors=errors,
        needs=str(meta.get("needs", "")),
        placeholders=found,
    )


def load(path: str | Path) -> Lesson:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        return Lesson(str(p), p.stem, p.stem, 999, 0, [], [], [LessonError(str(p), 1, str(e))])
    return parse_text(text, str(p))


def load_all(folder: str | Path = LESSON_DIR) -> list[Lesson]:
    """Every ``*.md`` lesson in ``folder`` except README.md, in front-matter order."""
    files = sorted(p for p in Path(folder).glob("*.md") if p.name.lower() != "readme.md")
    return sorted((load(p) for p in files), key=lambda lesson: (lesson.order, lesson.slug))
