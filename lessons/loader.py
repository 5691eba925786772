"""Turn a lesson file (Markdown with YAML front matter and fenced blocks) into a Lesson.

Pure Python: no Streamlit. Problems never raise; they become ``LessonError``s
that name the file and line, so a lesson page can show the author what to fix
while the other lessons keep working. The format is documented in
lessons/README.md.

>>> lesson = parse_text("---\\ntitle: T\\norder: 1\\nminutes: 2\\n---\\n## Hi\\nText.\\n", "x.md")
>>> lesson.title, [s.title for s in lesson.sections], lesson.errors
('T', ['Hi'], [])
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from engine import schedules, surfaces
from engine.scene import MAX_RATES, RATE_MAX, RATE_MIN, STEPS_MAX, STEPS_MIN, SURFACE_PARAMS, Scene

LESSON_DIR = Path(__file__).resolve().parent
BLOCK_KINDS = ("experiment", "expect", "predict", "quiz")
REGIMES = ("converged", "oscillating", "slow", "diverged", "local minimum")
PREDICT_CHOICES = {  # what a student picks -> the regimes that make it right
    "converge": ("converged",),
    "oscillate": ("oscillating",),
    "diverge": ("diverged",),
    "get stuck": ("local minimum", "slow"),
}
COMPARISONS = ("slower than", "faster than", "closer than")  # surface experiments
NETWORK_COMPARISONS = ("keeps more than", "learns faster than")  # fine-tuning experiments
TASKS = ("surface", "finetune")


@dataclass(frozen=True)
class FineTuneSpec:
    """A fine-tuning experiment: pre-train on digits 0-4, fine-tune on 5-9 at each rate."""

    rates: tuple[float, ...]
    steps: int = 200
    freeze_lower: bool = False
    lower_scale: float = 1.0
    warmup: int = 0


@dataclass(frozen=True)
class LessonError:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{Path(self.path).name}, line {self.line}: {self.message}"


@dataclass(frozen=True)
class Experiment:
    id: str
    scene: Scene | FineTuneSpec
    line: int
    caption: str = ""
    table: bool = False  # show the measured comparison table under the run


@dataclass(frozen=True)
class Expect:
    experiment: str
    regimes: tuple[tuple[float, str], ...]
    compare: tuple[tuple[float, str, float], ...]
    line: int


@dataclass(frozen=True)
class Predict:
    experiment: str
    rate: float
    question: str
    line: int


@dataclass(frozen=True)
class Quiz:
    id: str
    question: str
    options: tuple[str, ...]
    answer: int
    explanation: str
    experiment: str | None
    line: int


@dataclass(frozen=True)
class Text:
    markdown: str
    line: int


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

    @property
    def experiments(self) -> dict[str, Experiment]:
        return {b.id: b for s in self.sections for b in s.blocks if isinstance(b, Experiment)}

    def blocks(self, kind) -> list:
        return [b for s in self.sections for b in s.blocks if isinstance(b, kind)]


FENCE = re.compile(r"^```(\w[\w-]*)?\s*$")


def _rate(value, where: str) -> float:
    try:
        r = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {value!r} is not a number.") from None
    if not (math.isfinite(r) and RATE_MIN <= r <= RATE_MAX):
        raise ValueError(f"{where}: rate {value!r} is outside {RATE_MIN:g} to {RATE_MAX:g}.")
    return r


def parse_finetune(cfg: dict) -> FineTuneSpec:
    """A ``task: finetune`` experiment's YAML -> FineTuneSpec (ValueError with a clear sentence)."""
    rates = cfg.get("rates")
    if not isinstance(rates, list) or not 1 <= len(rates) <= MAX_RATES:
        raise ValueError(f"'rates' must be a list of 1 to {MAX_RATES} learning rates.")
    rates = tuple(_rate(r, "rates") for r in rates)
    steps = cfg.get("steps", 200)
    if not isinstance(steps, int) or not STEPS_MIN <= steps <= STEPS_MAX:
        raise ValueError(f"'steps' must be a whole number from {STEPS_MIN} to {STEPS_MAX}.")
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


def parse_experiment(cfg: dict, line: int, index: int) -> Experiment:
    """An ``experiment`` block's YAML -> Experiment (raises ValueError with a clear sentence)."""
    task = cfg.get("task", "surface")
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}.")
    if task == "finetune":
        return Experiment(str(cfg.get("id", f"experiment-{index}")), parse_finetune(cfg), line,
                          str(cfg.get("caption", "")), False)
    name = cfg.get("surface", "quadratic")
    if name not in surfaces.names():
        raise ValueError(f"unknown surface {name!r}; choose one of {', '.join(surfaces.names())}.")
    specs = {p.key: p for p in SURFACE_PARAMS.get(name, ())}
    given = dict(cfg.get("params") or {})
    unknown = set(given) - set(specs)
    if unknown:
        raise ValueError(f"surface {name!r} has no parameter {sorted(unknown)[0]!r}"
                         + (f"; it has {', '.join(specs)}." if specs else "; it has none."))
    params = []
    for key, p in specs.items():
        v = float(given.get(key, p.default))
        if not p.lo <= v <= p.hi:
            raise ValueError(f"parameter {key}={v:g} is outside {p.lo:g} to {p.hi:g}.")
        params.append((key, v))
    rates = cfg.get("rates")
    if not isinstance(rates, list) or not 1 <= len(rates) <= MAX_RATES:
        raise ValueError(f"'rates' must be a list of 1 to {MAX_RATES} learning rates.")
    rates = tuple(_rate(r, "rates") for r in rates)
    steps = cfg.get("steps", 100)
    if not isinstance(steps, int) or not STEPS_MIN <= steps <= STEPS_MAX:
        raise ValueError(f"'steps' must be a whole number from {STEPS_MIN} to {STEPS_MAX}.")
    momentum = float(cfg.get("momentum", 0.0))
    if not 0.0 <= momentum < 1.0:
        raise ValueError("'momentum' must be in [0, 1).")
    start = cfg.get("start")
    if start is not None:
        surface = surfaces.get(name, **dict(params))
        (x0, x1), (y0, y1) = surface.bounds
        if (not isinstance(start, list) or len(start) != 2
                or not (x0 <= float(start[0]) <= x1 and y0 <= float(start[1]) <= y1)):
            raise ValueError(f"'start' must be [x, y] inside the surface's bounds {surface.bounds}.")
        start = (float(start[0]), float(start[1]))
    schedule = str(cfg.get("schedule", "constant"))
    if schedule not in schedules.NAMES:
        raise ValueError(f"unknown schedule {schedule!r}; choose one of {', '.join(schedules.NAMES)}.")
    scene = Scene(name, tuple(params), rates, steps, start, momentum, schedule)
    return Experiment(str(cfg.get("id", f"experiment-{index}")), scene, line,
                      str(cfg.get("caption", "")), bool(cfg.get("table", False)))


def _rate_key(key, experiment: Experiment, where: str) -> float:
    r = _rate(key, where)
    if not any(math.isclose(r, x, rel_tol=1e-9) for x in experiment.scene.rates):
        raise ValueError(f"{where}: rate {r:g} is not one of experiment "
                         f"{experiment.id!r}'s rates {list(experiment.scene.rates)}.")
    return r


def parse_expect(cfg: dict, line: int, experiments: dict[str, Experiment], last: str | None) -> Expect:
    exp_id = str(cfg.get("experiment", last or ""))
    if exp_id not in experiments:
        raise ValueError(f"'expect' refers to unknown experiment {exp_id!r}; "
                         "put it after the experiment it checks, or name it with 'experiment:'.")
    exp = experiments[exp_id]
    network = isinstance(exp.scene, FineTuneSpec)
    if network and cfg.get("regimes"):
        raise ValueError("a fine-tuning experiment's claims are comparisons "
                         "('A keeps more than B', 'A learns faster than B'), not regimes.")
    allowed = NETWORK_COMPARISONS if network else COMPARISONS
    regimes = []
    for key, regime in (cfg.get("regimes") or {}).items():
        if regime not in REGIMES:
            raise ValueError(f"regime {regime!r} is not one of {', '.join(REGIMES)}.")
        regimes.append((_rate_key(key, exp, "regimes"), regime))
    compare = []
    for text in cfg.get("compare") or []:
        m = re.fullmatch(r"\s*(\S+)\s+(" + "|".join(allowed) + r")\s+(\S+)\s*", str(text))
        if not m:
            forms = " or ".join(f"'A {c} B'" for c in allowed)
            raise ValueError(f"comparison {text!r} must read {forms} with two of the "
                             "experiment's rates.")
        compare.append((_rate_key(m[1], exp, "compare"), m[2], _rate_key(m[3], exp, "compare")))
    if not regimes and not compare:
        raise ValueError("'expect' needs 'regimes' or 'compare'.")
    return Expect(exp_id, tuple(regimes), tuple(compare), line)


def parse_predict(cfg: dict, line: int, experiments: dict[str, Experiment], last: str | None) -> Predict:
    if "experiment" not in cfg and last is None:
        raise ValueError("'predict' needs 'experiment:' naming the experiment it asks about.")
    exp_id = str(cfg.get("experiment", last or ""))
    if exp_id not in experiments:
        raise ValueError(f"'predict' refers to unknown experiment {exp_id!r}.")
    exp = experiments[exp_id]
    if isinstance(exp.scene, FineTuneSpec):
        raise ValueError("predictions work on surface experiments only.")
    rate = _rate_key(cfg.get("rate", exp.scene.rates[0]), exp, "predict")
    question = str(cfg.get("question", f"What will a rate of {rate:g} do?"))
    return Predict(exp_id, rate, question, line)


def parse_quiz(cfg: dict, line: int, index: int, experiments: dict[str, Experiment]) -> Quiz:
    options = cfg.get("options")
    if not isinstance(options, list) or len(options) < 2:
        raise ValueError("a quiz needs 'options': a list of at least two answers.")
    answer = cfg.get("answer")
    if isinstance(answer, str):
        if answer not in options:
            raise ValueError(f"the answer {answer!r} is not one of the options.")
        answer = options.index(answer)
    if not isinstance(answer, int) or not 0 <= answer < len(options):
        raise ValueError("'answer' must be one of the options or its index (from 0).")
    exp = cfg.get("experiment")
    if exp is not None and str(exp) not in experiments:
        raise ValueError(f"quiz links to unknown experiment {exp!r}.")
    if not cfg.get("question") or not cfg.get("explanation"):
        raise ValueError("a quiz needs a 'question' and an 'explanation'.")
    return Quiz(str(cfg.get("id", f"quiz-{index}")), str(cfg["question"]),
                tuple(str(o) for o in options), answer, str(cfg["explanation"]),
                None if exp is None else str(exp), line)


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
        body = "\n".join(text_buf).strip()
        if body:
            sections[-1].blocks.append(Text(body, text_line))
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
