"""Colours and labels the figures share: distinct colours at any number of levels, labels that do not overlap."""

from __future__ import annotations

import numpy as np
import seaborn as sns
from matplotlib.transforms import Bbox

__all__ = ["distinct_colors", "place_labels"]


def distinct_colors(n: int) -> list[tuple[float, float, float]]:
    """``n`` colours a reader tells apart, at any ``n``.

    Seaborn's colour-blind palette for up to 10 levels, followed by its dark
    variant for up to 20 (the two are at least 0.15 apart in RGB, where viridis
    puts seven levels 0.13 apart), and evenly spaced hues beyond 20.

    Examples
    --------
    >>> len(distinct_colors(7)), len(set(distinct_colors(16))), len(distinct_colors(25))
    (7, 16, 25)
    """
    if n <= 20:
        return (list(sns.color_palette("colorblind", 10)) + list(sns.color_palette("dark", 10)))[:n]
    return list(sns.husl_palette(n, s=0.9, l=0.55))


def place_labels(ax, x, y, labels, fontsize: float = 8, leader_from: float = 8.0) -> list:
    """Write ``labels`` beside the points (``x``, ``y``) of ``ax`` so that no two overlap.

    Each label tries places on rings around its point, nearest first (3 to 90
    points away, 16 directions), and takes the first whose box meets no label
    already placed, covers no other point and stays inside the axes; if none is
    free it takes the least crowded one. A label further than ``leader_from``
    points from its point is joined to it by a thin line. Call it once the axes'
    limits are final. Returns the text artists.
    """
    renderer = ax.figure.canvas.get_renderer()
    px = ax.figure.dpi / 72.0
    points = ax.transData.transform(np.column_stack([x, y]).astype(float))
    angles = np.deg2rad(np.arange(16) * 22.5 + 45.0)
    frame = ax.bbox
    boxes, texts = [], []
    for i in np.argsort(points[:, 0]):
        probe = ax.text(0, 0, str(labels[i]), fontsize=fontsize)
        width, height = probe.get_window_extent(renderer).size
        probe.remove()
        best = None
        for radius in (3, 8, 14, 22, 32, 45, 60, 75, 90):
            for angle in angles:
                dx, dy = radius * px * np.cos(angle), radius * px * np.sin(angle)
                ha = "left" if dx > 0.3 * radius * px else "right" if dx < -0.3 * radius * px else "center"
                va = "bottom" if dy > 0.3 * radius * px else "top" if dy < -0.3 * radius * px else "center"
                x0 = points[i, 0] + dx - {"left": 0.0, "right": width, "center": width / 2}[ha]
                y0 = points[i, 1] + dy - {"bottom": 0.0, "top": height, "center": height / 2}[va]
                box = Bbox.from_bounds(x0, y0, width, height)
                crowd = sum(box.overlaps(other) for other in boxes)
                crowd += sum(box.contains(*p) for j, p in enumerate(points) if j != i)
                crowd += 0 if frame.contains(x0, y0) and frame.contains(x0 + width, y0 + height) else 1
                if best is None or crowd < best[0]:
                    best = (crowd, radius, dx / px, dy / px, ha, va, box)
                if crowd == 0:
                    break
            if best[0] == 0:
                break
        _, radius, dx, dy, ha, va, box = best
        texts.append(ax.annotate(str(labels[i]), (x[i], y[i]), xytext=(dx, dy), textcoords="offset points",
                                 fontsize=fontsize, ha=ha, va=va,
                                 arrowprops={"arrowstyle": "-", "color": "0.6", "lw": 0.6,
                                             "shrinkA": 0, "shrinkB": 2} if radius > leader_from else None))
        boxes.append(box)
    return texts
