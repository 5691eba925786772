"""Small classification data sets that need no download.

digits, two moons and circles ship with scikit-learn; the spiral is made here.
Every set is split into train and validation parts with a seed; features are
float32 (digits scaled to [0, 1], the 2-D sets standardised), labels int32.

>>> d = load("moons", seed=0)
>>> d.x_train.shape[1], d.n_classes
(2, 2)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn import datasets as skd

NAMES = ("digits", "moons", "circles", "spiral")


@dataclass(frozen=True, eq=False)
class Dataset:
    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    n_classes: int

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])


def spiral(n_per_class: int = 150, arms: int = 3, noise: float = 0.2, seed: int = 0):
    """Interleaved spiral arms: point t along arm k at radius t, angle 4t + 2 pi k / arms (+ noise)."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for k in range(arms):
        t = np.linspace(0.05, 1.0, n_per_class)
        angle = 4.0 * t + 2 * np.pi * k / arms + rng.normal(0, noise, n_per_class)
        xs.append(np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1))
        ys.append(np.full(n_per_class, k))
    return np.concatenate(xs), np.concatenate(ys)


def split(x, y, val_fraction: float, seed: int):
    """A seeded shuffle into (x_train, y_train, x_val, y_val)."""
    order = np.random.default_rng(seed).permutation(len(x))
    n_val = int(round(val_fraction * len(x)))
    val, train = order[:n_val], order[n_val:]
    return x[train], y[train], x[val], y[val]


def load(name: str, seed: int = 0, val_fraction: float = 0.2) -> Dataset:
    """Load a data set by name ('digits', 'moons', 'circles', 'spiral'), split with ``seed``."""
    if name == "digits":
        raw = skd.load_digits()
        x, y = raw.data / 16.0, raw.target
    elif name == "moons":
        x, y = skd.make_moons(n_samples=500, noise=0.2, random_state=seed)
    elif name == "circles":
        x, y = skd.make_circles(n_samples=500, noise=0.1, factor=0.5, random_state=seed)
    elif name == "spiral":
        x, y = spiral(seed=seed)
    else:
        raise ValueError(f"Unknown data set {name!r}; choose one of {', '.join(NAMES)}.")
    if name != "digits":
        x = (x - x.mean(axis=0)) / x.std(axis=0)
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.int32)
    xt, yt, xv, yv = split(x, y, val_fraction, seed)
    return Dataset(name, xt, yt, xv, yv, int(y.max()) + 1)


def subset(x: np.ndarray, y: np.ndarray, classes) -> tuple[np.ndarray, np.ndarray]:
    """The rows of (x, y) whose label is in ``classes``."""
    keep = np.isin(y, np.asarray(list(classes)))
    return x[keep], y[keep]
