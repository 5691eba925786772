"""The Learning Rate Lab engine: pure JAX, no Streamlit, no Plotly."""

from engine import descent, diagnose, surfaces, theory
from engine.descent import Sweep, Trajectory, run, sweep
from engine.diagnose import Diagnosis, Regime
from engine.surfaces import Minimum, Surface

__all__ = [
    "Diagnosis",
    "Minimum",
    "Regime",
    "Surface",
    "Sweep",
    "Trajectory",
    "descent",
    "diagnose",
    "run",
    "surfaces",
    "sweep",
    "theory",
]
