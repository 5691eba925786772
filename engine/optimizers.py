"""The optimizers the app offers, by name, all of them optax's own.

Each entry's ``make`` is a callable ``learning_rate -> optax.GradientTransformation``
(the rate may be a number or a schedule ``step -> rate``), with optax's
defaults for everything but the rate. The entries are built once here, so the
same name always gives the same (hashable, identical) callable: the engine
takes it as a static argument and compiles once per optimizer, never per rate.

>>> names()[:3]
['sgd', 'momentum', 'nesterov']
>>> get("adam").make is optax.adam
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import optax

MOMENTUM = 0.9  # for "SGD + momentum" and "Nesterov": optax.sgd has no momentum by default

Maker = Callable[..., optax.GradientTransformation]


@dataclass(frozen=True)
class Optimizer:
    """A named optax optimizer: ``make(learning_rate)`` builds it."""

    key: str
    label: str
    make: Maker
    description: str
    adaptive: bool  # scales each coordinate by its gradients' history: no 2/L limit applies


_ALL = (
    Optimizer("sgd", "SGD", optax.sgd,
              "plain gradient descent: x ← x − lr·g", False),
    Optimizer("momentum", "SGD + momentum", partial(optax.sgd, momentum=MOMENTUM),
              "heavy ball: v ← g + 0.9·v, x ← x − lr·v", False),
    Optimizer("nesterov", "Nesterov", partial(optax.sgd, momentum=MOMENTUM, nesterov=True),
              "momentum that looks ahead: the step uses g + 0.9·v", False),
    Optimizer("adagrad", "AdaGrad", optax.adagrad,
              "divides each coordinate's step by the root of its summed squared gradients", True),
    Optimizer("rmsprop", "RMSProp", optax.rmsprop,
              "divides each coordinate's step by a running root-mean-square of its gradients", True),
    Optimizer("adam", "Adam", optax.adam,
              "momentum plus RMSProp's scaling, bias-corrected: each step is about lr long", True),
    Optimizer("adamw", "AdamW", optax.adamw,
              "Adam with weight decay (1e-4) applied to the weights directly", True),
)
_BY_KEY = {o.key: o for o in _ALL}


def names() -> list[str]:
    """The optimizers' keys, in the order the UI lists them."""
    return [o.key for o in _ALL]


def get(key: str) -> Optimizer:
    """The optimizer called ``key`` (see :func:`names`); ValueError names the choices."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise ValueError(f"Unknown optimizer {key!r}; choose one of {', '.join(names())}.") from None


def maker(key: str) -> Maker | None:
    """The engine's ``optimizer`` argument for ``key``: None for plain SGD (the engine's
    own heavy-ball path, which is exactly ``optax.sgd``), else the optax factory."""
    return None if key == "sgd" else get(key).make
