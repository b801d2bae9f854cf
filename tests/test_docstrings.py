"""Every example in a synlib docstring runs and prints what it shows."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import matplotlib
import pytest

import synlib

MODULES = sorted(info.name for info in pkgutil.walk_packages(synlib.__path__, "synlib.")
                 if info.name != "synlib.__main__")


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    matplotlib.use("Agg")
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.failed == 0


def _examples(name: str) -> int:
    return sum(len(test.examples) for test in doctest.DocTestFinder().find(importlib.import_module(name)))


def test_the_documented_modules_have_examples():
    """A guard against the test above passing because it finds nothing to run."""
    assert all(_examples(name) > 0 for name in ("synlib.nmf", "synlib.metrics", "synlib.tradeoff",
                                                  "synlib.preprocess.steps", "synlib.autoencoder.trainer"))
