"""Progress bars that show in a terminal and stay quiet in CI logs and executed notebooks."""

from __future__ import annotations

import os
import sys


def quiet() -> bool:
    """True in CI (the ``CI`` variable is set) or when standard error is not a terminal."""
    return bool(os.environ.get("CI")) or not sys.stderr.isatty()


def progress(iterable=None, *, enabled: bool = True, **options):
    """A :func:`tqdm.tqdm` bar, disabled when :func:`quiet` or not ``enabled``.

    Plain tqdm, not ``tqdm.auto``: in a notebook kernel without ipywidgets the
    latter prints a warning into the cell's output.
    """
    from tqdm import tqdm

    return tqdm(iterable, disable=not enabled or quiet(), **options)
