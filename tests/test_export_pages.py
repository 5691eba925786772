"""The CSV downloads of Network training and Fine-tuning, in AppTest.

A download button's file is built on click (``st.download_button(data=callable)``); the
callables the page registers are caught as Streamlit registers them, then called, which is
what a click does. Each CSV is parsed with the csv module and compared with the page's own
numbers (its chart and table) and with the engine run afresh with the page's settings.
"""

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

import charts.export
from engine import data, finetune, mlp, optimizers
from ui import downloads as downloads_module
from ui import playground_state

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 60

NETWORK_COLUMNS = ["run", "rate", "optimizer", "step", "training loss", "training accuracy",
                   "validation loss", "validation accuracy", "diverged"]
NETWORK_TABLE = ["rate", "regime", "final training loss", "final validation accuracy (%)",
                 "best validation accuracy (%)", "diverged at step"]
FINETUNE_COLUMNS = ["run", "rate", "optimizer", "step", "rate at this step", "task B accuracy",
                    "task B loss", "task B training loss", "task A accuracy", "task A loss",
                    "diverged"]


def open_page(name: str, query: dict) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()  # Home first: AppTest switches pages only after a run
    for k, v in query.items():
        at.query_params[k] = v
    at.switch_page(f"app_pages/{name}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.warning, [w.value for w in at.warning]
    return at


@pytest.fixture
def downloads(monkeypatch) -> dict:
    """file name -> the callable a download button runs when clicked (the latest run's)."""
    got = {}
    original = MediaFileManager.add_deferred

    def record(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        got[file_name] = data_callable
        return original(self, data_callable, mimetype, coordinates, file_name=file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", record)
    return got


@pytest.fixture
def builds(monkeypatch) -> list:
    """Every call of charts.export.table_csv (what builds these files), as it happens."""
    calls = []
    original = charts.export.table_csv

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(charts.export, "table_csv", counted)
    return calls


def clicked(downloads: dict, file_name: str) -> tuple[list[str], list[dict]]:
    """Click the download button of ``file_name``: its CSV's header and rows (csv module)."""
    data_ = downloads[file_name]()
    text = data_.decode() if isinstance(data_, bytes) else data_
    header = next(csv.reader(io.StringIO(text)))
    return header, list(csv.DictReader(io.StringIO(text)))


def num(cell: str) -> float | None:
    return None if cell == "" else float(cell)


def column(rows: list[dict], name: str, run: int) -> list[float | None]:
    return [num(r[name]) for r in rows if r["run"] == str(run)]


def drawn(at: AppTest, key: str, axis: str) -> list[list[float]]:
    """The y values of each rate's line (in order) in the subplot on ``axis`` of a chart."""
    (chart,) = [c for c in at.get("plotly_chart") if c.proto.id.endswith(f"-{key}")]
    spec = json.loads(chart.proto.spec)
    return [t["y"] for t in spec["data"]
            if t.get("mode") == "lines+markers" and t.get("yaxis", "y") == axis]


def as_drawn(values: list[float], percent: bool) -> list[float]:
    """What the chart draws from these float32 values: x100 for a percent panel (in float32,
    as charts.networks does), rounded to 4 decimals."""
    v = np.asarray(values, np.float32)
    return np.round((v * 100 if percent else v).astype(np.float64), 4).tolist()


def table_matches(rows: list[dict], frame) -> None:
    """The table's CSV has the page's table: same columns, same numbers, an empty cell where
    the page shows its placeholder."""
    assert list(rows[0]) == list(frame.columns)
    assert len(rows) == len(frame)
    for col in frame.columns:
        for r, v in zip(rows, frame[col], strict=True):
            if isinstance(v, str):
                assert r[col] == v, col
            elif v is None or np.isnan(v):
                assert r[col] == "", col
            else:
                assert float(r[col]) == float(v), col


def test_the_download_helper_is_shared():
    assert playground_state.on_demand is downloads_module.on_demand
    calls = []
    get = downloads_module.on_demand("test", ("a", 1), lambda: calls.append(1) or "x,y\r\n")
    assert calls == []
    assert get() == get() == "x,y\r\n" and calls == [1]


# ---------------------------------------------------------------------------
# Network training
# ---------------------------------------------------------------------------


def test_network_csvs_are_the_curves_and_the_table(downloads, builds):
    rates, steps = (0.1, 1.0, 10.0), 100
    at = open_page("train_network", {"data": "moons", "lr": "0.1,1,10", "steps": str(steps),
                                     "seed": "3"})
    assert builds == []  # nothing is built until a button is clicked
    d = data.load("moons", 3)
    p0 = mlp.init((d.n_features, 16, 16, d.n_classes), 3)
    run = mlp.train(p0, d.x_train, d.y_train, list(rates), steps, evals=[(d.x_val, d.y_val)],
                    seed=3, activation="tanh", optimizer=optimizers.maker("sgd"))
    dead = [int(x) for x in run.diverged_at]
    assert dead[0] == dead[1] == -1 and dead[2] > 0  # 10 diverges: its cells end there

    header, got = clicked(downloads, "learning-rate-lab-network-moons-sgd.csv")
    assert header == NETWORK_COLUMNS and len(got) == 3 * (steps + 1)
    assert builds == [1]
    assert clicked(downloads, "learning-rate-lab-network-moons-sgd.csv")[1] == got
    assert builds == [1]  # a second click reuses the file
    engine = {"training loss": run.train_loss, "training accuracy": run.train_acc,
              "validation loss": run.eval_loss[:, 0], "validation accuracy": run.eval_acc[:, 0]}
    chart = {"training loss": ("y", False), "validation loss": ("y2", False),
             "training accuracy": ("y3", True), "validation accuracy": ("y4", True)}
    for i, lr in enumerate(rates):
        mine = [r for r in got if r["run"] == str(i + 1)]
        assert [num(r["step"]) for r in mine] == list(range(steps + 1))
        assert {num(r["rate"]) for r in mine} == {lr} and {r["optimizer"] for r in mine} == {"sgd"}
        live = steps + 1 if dead[i] < 0 else dead[i]
        assert [r["diverged"] for r in mine] == ["0"] * live + ["1"] * (steps + 1 - live)
        for col, curves in engine.items():
            values = column(got, col, i + 1)
            assert values[:live] == [float(v) for v in curves[i, :live]], (lr, col)
            assert values[live:] == [None] * (steps + 1 - live), (lr, col)
            axis, percent = chart[col]
            assert as_drawn(values[:live], percent) == drawn(at, "nt_curves", axis)[i], (lr, col)

    header, table = clicked(downloads, "learning-rate-lab-network-moons-sgd-table.csv")
    assert header == NETWORK_TABLE and builds == [1, 1]
    table_matches(table, at.dataframe[0].value)
    assert [num(r["final training loss"]) for r in table][:2] == [
        float(run.train_loss[i, -1]) for i in range(2)]
    assert [num(r["diverged at step"]) for r in table] == [None, None, dead[2]]
    assert [r["regime"] for r in table][2] == "diverged"


def test_network_csv_with_adam_on_digits_names_the_optimizer(downloads):
    at = open_page("train_network", {"data": "digits", "opt": "adam", "lr": "0.001,0.01",
                                     "steps": "50"})
    header, got = clicked(downloads, "learning-rate-lab-network-digits-adam.csv")
    assert header == NETWORK_COLUMNS and len(got) == 2 * 51
    assert {r["optimizer"] for r in got} == {"adam"} and {r["diverged"] for r in got} == {"0"}
    for i in range(2):
        acc = column(got, "validation accuracy", i + 1)
        assert as_drawn(acc, True) == drawn(at, "nt_curves", "y4")[i]
    _, table = clicked(downloads, "learning-rate-lab-network-digits-adam-table.csv")
    table_matches(table, at.dataframe[0].value)
    final = [num(r["final validation accuracy (%)"]) for r in table]
    assert final == [100 * column(got, "validation accuracy", i + 1)[-1] for i in range(2)]


# ---------------------------------------------------------------------------
# Fine-tuning
# ---------------------------------------------------------------------------


def test_finetune_csvs_are_the_curves_and_the_table(downloads, builds):
    rates, steps, warmup = (0.01, 0.3, 10.0), 50, 10
    at = open_page("finetune", {"lr": "0.01,0.3,10", "steps": str(steps),
                                "warmup": str(warmup)})
    assert builds == []
    pre = finetune.pretrain(finetune.DEFAULT_A, finetune.DEFAULT_B, (finetune.DEFAULT_HIDDEN[0],) * 2,
                            0)
    run = finetune.finetune(pre, rates, steps, warmup=warmup, optimizer=optimizers.maker("sgd"))
    dead = [int(x) for x in run.diverged_at]
    assert dead[:2] == [-1, -1] and dead[2] > 0

    header, got = clicked(downloads, "learning-rate-lab-finetune-a01234-b56789-sgd.csv")
    assert header == FINETUNE_COLUMNS and len(got) == 3 * (steps + 1) and builds == [1]
    engine = {"task B accuracy": run.b_acc, "task B loss": run.b_loss,
              "task B training loss": run.b_train_loss, "task A accuracy": run.a_acc,
              "task A loss": run.a_loss}
    for i, lr in enumerate(rates):
        mine = [r for r in got if r["run"] == str(i + 1)]
        assert {num(r["rate"]) for r in mine} == {lr} and {r["optimizer"] for r in mine} == {"sgd"}
        ramp = column(got, "rate at this step", i + 1)
        assert ramp[:-1] == [float(v) for v in finetune.warmup_table(lr, warmup, steps)]
        assert ramp[-1] is None and ramp[warmup] == pytest.approx(lr) and ramp[1] < lr
        live = steps + 1 if dead[i] < 0 else dead[i]
        assert [r["diverged"] for r in mine] == ["0"] * live + ["1"] * (steps + 1 - live)
        for col, curves in engine.items():
            values = column(got, col, i + 1)
            assert values[:live] == [float(v) for v in curves[i, :live]], (lr, col)
            assert values[live:] == [None] * (steps + 1 - live), (lr, col)
        for col, axis in (("task B accuracy", "y"), ("task A accuracy", "y2")):
            values = column(got, col, i + 1)[:live]
            assert as_drawn(values, True) == drawn(at, "ft_curves", axis)[i], (lr, col)

    header, table = clicked(downloads, "learning-rate-lab-finetune-a01234-b56789-sgd-table.csv")
    assert header[:4] == ["rate", "task A accuracy (%)", "task A drop (points)",
                          "task B accuracy (%)"] and header[-1] == "diverged at step"
    assert builds == [1, 1]
    table_matches(table, at.dataframe[0].value)
    b_final = [num(r["task B accuracy (%)"]) for r in table]
    assert b_final[:2] == [100 * column(got, "task B accuracy", i + 1)[-1] for i in range(2)]
    assert b_final[2] is None and num(table[2]["diverged at step"]) == dead[2]
