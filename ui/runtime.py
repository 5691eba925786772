"""Process-wide set-up: JAX's persistent compilation cache and one warm-up per surface family."""

from __future__ import annotations

from pathlib import Path

import jax
import streamlit as st

from engine import descent, surfaces

CACHE_DIR = Path(__file__).resolve().parents[1] / ".jax_cache"


@st.cache_resource(show_spinner=False)
def setup_jax() -> str:
    """Point JAX at a persistent compilation cache (git ignores it); returns its folder."""
    CACHE_DIR.mkdir(exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(CACHE_DIR))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return str(CACHE_DIR)


@st.cache_resource(show_spinner="Compiling the engine for this surface (once per process)…")
def warm_up(surface_name: str) -> int:
    """Compile every step-count bucket for a surface family, so slider changes never compile."""
    setup_jax()
    surface = surfaces.get(surface_name)
    for steps in descent.STEP_BUCKETS:
        descent.sweep(surface, [0.01], steps)
    return descent.trace_count()
