"""Closed forms for gradient descent on a quadratic f = 0.5 (a x^2 + b y^2).

L = max(a, b) and mu = min(a, b) are the largest and smallest curvatures.

Plain GD, x <- x - lr * grad f, multiplies each coordinate by (1 - lr * c)
for its curvature c, so:

- it converges iff lr < 2 / L                          (``stable_below``)
- the worst-case factor per step is
  rho(lr) = max(|1 - lr a|, |1 - lr b|)               (``contraction``)
- rho is smallest at lr* = 2 / (L + mu), rho* = (L - mu) / (L + mu)  (``best_rate``)
- the distance shrinks below tol after about
  ceil(log(tol / distance) / log(rho)) steps           (``steps_to``)

Heavy-ball momentum (optax.sgd with momentum beta) iterates
x_{k+1} = x_k - lr g_k + beta (x_k - x_{k-1}); per curvature c its factor is
the spectral radius of [[1 + beta - lr c, -beta], [1, 0]]: stable iff
lr < 2 (1 + beta) / L, best at lr = 4 / (sqrt L + sqrt mu)^2 with
beta = ((sqrt L - sqrt mu) / (sqrt L + sqrt mu))^2, rho = (sqrt k - 1) / (sqrt k + 1)
for condition number k = L / mu (Polyak, 1964).

>>> t = quadratic(1.0, 10.0)
>>> round(t.stable_below, 3), round(t.best_rate, 4), round(t.contraction(0.1), 2)
(0.2, 0.1818, 0.9)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def _momentum_factor(lr: float, beta: float, c: float) -> float:
    """Spectral radius of the heavy-ball iteration matrix for curvature c."""
    roots = np.roots([1.0, -(1.0 + beta - lr * c), beta])
    return float(np.max(np.abs(roots)))


@dataclass(frozen=True)
class QuadraticTheory:
    a: float
    b: float

    @property
    def L(self) -> float:  # noqa: N802 (the usual name)
        return max(self.a, self.b)

    @property
    def mu(self) -> float:
        return min(self.a, self.b)

    @property
    def condition(self) -> float:
        return self.L / self.mu

    @property
    def stable_below(self) -> float:
        """2 / L: plain GD diverges for any larger rate."""
        return 2.0 / self.L

    @property
    def best_rate(self) -> float:
        """2 / (L + mu): the fixed rate with the smallest contraction factor."""
        return 2.0 / (self.L + self.mu)

    def contraction(self, lr: float, momentum: float = 0.0) -> float:
        """Asymptotic factor per step: max over curvatures c of |1 - lr c| (spectral radius with momentum)."""
        if momentum == 0.0:
            return max(abs(1.0 - lr * self.a), abs(1.0 - lr * self.b))
        return max(_momentum_factor(lr, momentum, c) for c in (self.a, self.b))

    def stable_below_momentum(self, momentum: float) -> float:
        """2 (1 + beta) / L: heavy ball diverges for any larger rate."""
        return 2.0 * (1.0 + momentum) / self.L

    def best_momentum(self) -> tuple[float, float]:
        """(lr, beta) of the fastest heavy ball.

        lr = 4 / (sqrt L + sqrt mu)^2, beta = ((sqrt L - sqrt mu) / (sqrt L + sqrt mu))^2.
        """
        sl, sm = math.sqrt(self.L), math.sqrt(self.mu)
        return 4.0 / (sl + sm) ** 2, ((sl - sm) / (sl + sm)) ** 2

    def steps_to(self, lr: float, tol: float, distance: float, momentum: float = 0.0) -> int | None:
        """Predicted steps until rho^k * distance < tol; None if it never gets there (rho >= 1)."""
        if distance < tol:
            return 0
        rho = self.contraction(lr, momentum)
        if rho >= 1.0:
            return None
        if rho == 0.0:
            return 1
        return math.ceil(math.log(tol / distance) / math.log(rho))


def quadratic(a: float = 1.0, b: float = 10.0) -> QuadraticTheory:
    """Theory for f = 0.5 (a x^2 + b y^2); a and b must be positive."""
    if not (a > 0 and b > 0 and math.isfinite(a) and math.isfinite(b)):
        raise ValueError(f"curvatures must be positive and finite, got a={a!r}, b={b!r}.")
    return QuadraticTheory(float(a), float(b))
