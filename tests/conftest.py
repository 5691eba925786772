"""Shared test set-up: strict JAX promotion rules, and the repo root on sys.path."""

import sys
from pathlib import Path

import jax

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

jax.config.update("jax_numpy_rank_promotion", "raise")
