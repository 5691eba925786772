"""The baselines the engine is measured against: NumPy vectorised across runs, and C.

Every baseline does the engine's work (see ``engine/descent.py``): heavy-ball
gradient descent (or Adam), one loss-and-gradient evaluation per step, the same
validity check ``isfinite(f_new) & |x_new - cx| <= h & |y_new - cy| <= h`` with
the same divergence box ``h = DIVERGENCE_FACTOR * extent / (1 - beta)`` per
run, and the same freezing (a run keeps its point, state, loss and gradient
from the first step that is not ok, which is recorded in ``dead``). Paths are
kept time-major, like the engine kernel: xs, ys, fs of shape (steps + 1, n).

The NumPy versions take a dtype (float32, as the engine, or float64); both are
reasonable vectorised NumPy (x and y as separate (n,) columns, in-place
``np.copyto(..., where=move)`` for the freezing), not a strawman. The C
reference (``cref.c``) is compiled here on first use with ``cc -O3
-march=native`` and called through ctypes; :func:`c_reference` returns None
(with the reason in :data:`C_STATUS`) where there is no C compiler.
"""

from __future__ import annotations

import ctypes
import math
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
C_SOURCE = HERE / "cref.c"
C_FLAGS = ["-O3", "-march=native", "-shared", "-fPIC"]
C_STATUS = {"status": "not built"}

ADAM_B1, ADAM_B2, ADAM_EPS = 0.9, 0.999, 1e-8  # optax.adam's defaults


# ---------------------------------------------------------------------------
# loss and gradient in one pass, per family: (x, y) -> (f, gx, gy)
# ---------------------------------------------------------------------------


def loss_grad(surface, dtype):
    """f(x, y) and its gradient, elementwise on (n,) columns, in ``dtype``."""
    p = [dtype(v) for v in surface.params]
    if surface.name == "rosenbrock":
        a, b = p
        two, four_b, two_b = dtype(2), dtype(4) * b, dtype(2) * b

        def lg(x, y):
            ax = a - x
            r = y - x * x
            return ax * ax + b * r * r, -two * ax - four_b * x * r, two_b * r

        return lg
    if surface.name in ("quadratic", "ravine"):
        a, b, angle = p
        c, s = dtype(math.cos(angle)), dtype(math.sin(angle))
        half = dtype(0.5)

        def lg(x, y):
            u, v = c * x + s * y, c * y - s * x
            gu, gv = a * u, b * v
            return half * (gu * u + gv * v), c * gu - s * gv, s * gu + c * gv

        return lg
    raise ValueError(f"no NumPy baseline for surface {surface.name!r}")


def boxes(surface, momentum, n: int, dtype) -> np.ndarray:
    """Each run's divergence-box half-width, exactly the engine's ``half_box``."""
    from engine import descent

    beta = np.broadcast_to(np.asarray(momentum, np.float32), (n,))
    return descent.half_box(surface, beta).astype(dtype)


# ---------------------------------------------------------------------------
# NumPy
# ---------------------------------------------------------------------------


def numpy_heavy_ball(surface, lrs, steps: int, momentum=0.0, *, keep_path: bool = True,
                     dtype=np.float32):
    """Heavy ball for every run at once, vectorised across runs, a Python loop over steps.

    Returns (xs, ys, fs, dead): (steps + 1, n) paths if ``keep_path`` else the final
    (n,) rows; dead (n,) the step each run was frozen at, -1 where none.
    """
    lg = loss_grad(surface, dtype)
    n = len(lrs)
    lr = np.asarray(lrs, dtype=dtype)
    beta = np.broadcast_to(np.asarray(momentum, dtype=dtype), (n,)).copy()
    h = boxes(surface, momentum, n, dtype)
    cx, cy = (dtype(c) for c in surface.center)
    f0, gx0, gy0 = lg(dtype(surface.start[0]), dtype(surface.start[1]))
    x, y = np.full(n, surface.start[0], dtype), np.full(n, surface.start[1], dtype)
    f, gx, gy = np.full(n, f0, dtype), np.full(n, gx0, dtype), np.full(n, gy0, dtype)
    vx, vy = np.zeros(n, dtype), np.zeros(n, dtype)
    dead = np.full(n, -1, np.int32)
    if keep_path:
        xs, ys, fs = (np.empty((steps + 1, n), dtype) for _ in range(3))
        xs[0], ys[0], fs[0] = x, y, f
    with np.errstate(all="ignore"):
        for k in range(steps):
            nvx = gx + beta * vx
            nvy = gy + beta * vy
            nx = x - lr * nvx
            ny = y - lr * nvy
            nf, ngx, ngy = lg(nx, ny)
            ok = np.isfinite(nf) & (np.abs(nx - cx) <= h) & (np.abs(ny - cy) <= h)
            live = dead < 0
            move = live & ok
            dead[live & ~ok] = k + 1
            for old, new in ((x, nx), (y, ny), (vx, nvx), (vy, nvy), (f, nf), (gx, ngx),
                             (gy, ngy)):
                np.copyto(old, new, where=move)
            if keep_path:
                xs[k + 1], ys[k + 1], fs[k + 1] = x, y, f
    if keep_path:
        return xs, ys, fs, dead
    return x, y, f, dead


def numpy_adam(surface, lrs, steps: int, *, dtype=np.float32):
    """optax.adam (b1 0.9, b2 0.999, eps 1e-8, eps_root 0) for every run at once, full paths.

    u = -lr * m_hat / (sqrt(v_hat) + eps), m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t),
    t = k + 1 counted for all runs alike (optax's shared count); frozen runs keep m and v.
    """
    lg = loss_grad(surface, dtype)
    n = len(lrs)
    lr = np.asarray(lrs, dtype=dtype)
    h = boxes(surface, 0.0, n, dtype)
    cx, cy = (dtype(c) for c in surface.center)
    b1, b2, eps = dtype(ADAM_B1), dtype(ADAM_B2), dtype(ADAM_EPS)
    one = dtype(1)
    f0, gx0, gy0 = lg(dtype(surface.start[0]), dtype(surface.start[1]))
    x, y = np.full(n, surface.start[0], dtype), np.full(n, surface.start[1], dtype)
    f, gx, gy = np.full(n, f0, dtype), np.full(n, gx0, dtype), np.full(n, gy0, dtype)
    mx, my, vx, vy = (np.zeros(n, dtype) for _ in range(4))
    dead = np.full(n, -1, np.int32)
    xs, ys, fs = (np.empty((steps + 1, n), dtype) for _ in range(3))
    xs[0], ys[0], fs[0] = x, y, f
    with np.errstate(all="ignore"):
        for k in range(steps):
            t = k + 1
            c1, c2 = one - b1 ** dtype(t), one - b2 ** dtype(t)
            nmx = b1 * mx + (one - b1) * gx
            nmy = b1 * my + (one - b1) * gy
            nvx = b2 * vx + (one - b2) * (gx * gx)
            nvy = b2 * vy + (one - b2) * (gy * gy)
            nx = x - lr * ((nmx / c1) / (np.sqrt(nvx / c2) + eps))
            ny = y - lr * ((nmy / c1) / (np.sqrt(nvy / c2) + eps))
            nf, ngx, ngy = lg(nx, ny)
            ok = np.isfinite(nf) & (np.abs(nx - cx) <= h) & (np.abs(ny - cy) <= h)
            live = dead < 0
            move = live & ok
            dead[live & ~ok] = k + 1
            for old, new in ((x, nx), (y, ny), (mx, nmx), (my, nmy), (vx, nvx), (vy, nvy),
                             (f, nf), (gx, ngx), (gy, ngy)):
                np.copyto(old, new, where=move)
            xs[k + 1], ys[k + 1], fs[k + 1] = x, y, f
    return xs, ys, fs, dead


# ---------------------------------------------------------------------------
# C (cref.c), single thread
# ---------------------------------------------------------------------------

_lib = None


def _build() -> ctypes.CDLL | None:
    cc = shutil.which("cc")
    if cc is None:
        C_STATUS["status"] = "skipped: no `cc` on this machine"
        return None
    out = Path(tempfile.mkdtemp(prefix="bench-cref-")) / "cref.so"
    cmd = [cc, *C_FLAGS, "-o", str(out), str(C_SOURCE), "-lm"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        C_STATUS["status"] = f"skipped: `{' '.join(cmd)}` failed: {proc.stderr.strip()[:300]}"
        return None
    version = subprocess.run([cc, "--version"], capture_output=True, text=True,
                             check=False).stdout.splitlines()[:1]
    C_STATUS["status"] = "built"
    C_STATUS["command"] = " ".join(["cc", *C_FLAGS, "cref.c"])
    C_STATUS["compiler"] = version[0] if version else cc
    lib = ctypes.CDLL(str(out))
    fp, i32 = ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_int32)
    lib.heavy_ball.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, fp, fp, fp,
                               ctypes.c_float, ctypes.c_float, fp, ctypes.c_float,
                               ctypes.c_float, fp, fp, fp, i32, ctypes.c_int]
    lib.heavy_ball.restype = None
    return lib


def c_reference(surface, lrs, steps: int, momentum=0.0, *, keep_path: bool = True,
                fresh: bool = True):
    """A callable running ``cref.c``'s heavy ball (float32, one thread), returning
    (xs, ys, fs, dead) like :func:`numpy_heavy_ball`; or None when C is unavailable.

    ``fresh``: new output arrays every call (as the engine must return); else they are
    allocated and touched once, outside the timed call (the best case for C).
    """
    global _lib
    if _lib is None and C_STATUS["status"] == "not built":
        _lib = _build()
    if _lib is None:
        return None
    family = {"rosenbrock": 0, "quadratic": 1, "ravine": 1}[surface.name]
    n = len(lrs)
    lr = np.ascontiguousarray(lrs, dtype=np.float32)
    beta = np.ascontiguousarray(np.broadcast_to(np.asarray(momentum, np.float32), (n,)))
    h = np.ascontiguousarray(boxes(surface, momentum, n, np.float32))
    params = np.zeros(3, np.float32)
    params[: len(surface.params)] = surface.params
    rows = steps + 1 if keep_path else 1
    fp, i32 = ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_int32)
    inputs = [a.ctypes.data_as(fp) for a in (lr, beta, h, params)]
    cx, cy = surface.center
    x0, y0 = surface.start

    def outputs():
        return (*(np.empty((rows, n), np.float32) for _ in range(3)), np.empty(n, np.int32))

    kept = None if fresh else tuple(np.zeros_like(a) for a in outputs())

    def call():
        xs, ys, fs, dead = outputs() if fresh else kept
        _lib.heavy_ball(family, n, steps, inputs[0], inputs[1], inputs[2], x0, y0, inputs[3],
                        cx, cy, xs.ctypes.data_as(fp), ys.ctypes.data_as(fp),
                        fs.ctypes.data_as(fp), dead.ctypes.data_as(i32), int(keep_path))
        if keep_path:
            return xs, ys, fs, dead
        return xs[0], ys[0], fs[0], dead

    return call
