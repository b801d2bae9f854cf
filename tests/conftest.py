"""Shared fixtures: the public recordings found through the data search path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from synlib import paths


def _find_shared(folder: str) -> Path:
    for root in paths.data_search_path():
        if (root / folder).is_dir():
            return root / folder
    searched = ", ".join(str(p) for p in paths.data_search_path())
    pytest.skip(f"public recordings {folder!r} not found in the data search path ({searched}); "
                "set SYNLIB_DATA_PATH to the folder that holds them")


@pytest.fixture(scope="session")
def shoulder_dir() -> Path:
    return _find_shared("rmr-solver-shoulder")


@pytest.fixture(scope="session")
def musclesynergies_dir() -> Path:
    return _find_shared("musclesyneRgies")


@pytest.fixture(scope="session")
def pyomeca_dir() -> Path:
    return _find_shared("pyomeca")


def copy_book_sources(root: Path) -> Path:
    """Copy the book's sources into ``root/book`` (with ``root/data/README.md``, which a page
    includes by relative path) so that a test builds a book without touching the real one."""
    source = root / "book"
    shutil.copytree(paths.BOOK, source, ignore=shutil.ignore_patterns("_generated", "_build", "_toc.yml"))
    (root / "data").mkdir(exist_ok=True)
    shutil.copy(paths.DATA / "README.md", root / "data" / "README.md")
    return source
