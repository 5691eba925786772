"""The Learning Rate Lab engine: pure JAX, no Streamlit, no Plotly."""

import os

# XLA:CPU runs a while loop's body op by op (one dispatch per op per step) unless the
# loop is "small"; raising the threshold compiles the whole descent loop as one fused
# body: 1.4-2.2x faster on the sweep kernels here, same results (benchmarks/README.md).
# It must be in XLA_FLAGS before JAX creates its CPU backend, so it is set here, the one
# place every engine import passes through; any XLA_FLAGS the user set are kept.
_FLAG = "--xla_backend_extra_options=xla_cpu_small_while_loop_byte_threshold=1000000000"
if "xla_cpu_small_while_loop_byte_threshold" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {_FLAG}".strip()

from engine import descent, diagnose, surfaces, theory  # noqa: E402
from engine.descent import Final, Sweep, Trajectory, run, sweep, sweep_final  # noqa: E402
from engine.diagnose import Diagnosis, Regime  # noqa: E402
from engine.surfaces import Minimum, Surface  # noqa: E402

__all__ = [
    "Diagnosis",
    "Final",
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
    "sweep_final",
    "theory",
]
