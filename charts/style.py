"""Colours and small helpers every chart shares."""

# One colour per learning rate, readable on the surface's colour map and on
# light and dark page backgrounds.
RATE_COLORS = ("#ff4d4d", "#ffb000", "#e040fb", "#39d353")
# Low loss dark blue, high loss pale: paths in the colours above stand out.
SURFACE_COLORSCALE = [
    [0.0, "#0b1d51"],
    [0.25, "#1f4e8c"],
    [0.5, "#3f88c5"],
    [0.75, "#9cc5e6"],
    [1.0, "#eef5fb"],
]
LOSS_FLOOR = 1e-12  # log axes show loss - min loss, floored here


def rate_label(lr: float) -> str:
    """'lr = 0.05' with up to 4 significant digits."""
    return f"lr = {lr:.4g}"


def color(i: int) -> str:
    return RATE_COLORS[i % len(RATE_COLORS)]
