"""Small formatting helpers for the sentences chapters and commands print."""

from __future__ import annotations

import numpy as np

__all__ = ["span"]


def span(values) -> str:
    """``"low–high"`` of integer ``values``, or the single value when they are all equal.

    Examples
    --------
    >>> span([3, 5, 4]), span([2, 2])
    ('3–5', '2')
    """
    values = np.asarray(list(values) if not hasattr(values, "__array__") else values)
    if values.size == 0:
        raise ValueError("span of no values")
    low, high = int(values.min()), int(values.max())
    return str(low) if low == high else f"{low}–{high}"
