"""Every folder of the project, resolved from the package location.

Notebooks, papermill, pytest and the book build each start in a different
working directory, so no code in this project builds a path relative to the
current directory. Each folder can be moved with an environment variable:

======================  =========================================  ==============================
variable                folder                                     default
======================  =========================================  ==============================
``SYNLIB_RESULTS``      result tables and arrays of every study    ``<root>/results``
``SYNLIB_GENERATED``    executed notebooks published to the book   ``<root>/book/_generated``
``SYNLIB_DATA_PATH``    where public recordings are looked for     ``<root>/data/external``,
                        (``os.pathsep``-separated, searched in     ``<root>/../shared/data``
                        order)
``SYNLIB_CACHE``        downloads, the runner's cache and the      ``<root>/.cache``
                        compiled autoencoder kernel
                        (:func:`kernel_dir`)
======================  =========================================  ==============================

Deleting the cache folder loses nothing that cannot be made again: downloads
are fetched again, runs re-executed and the kernel recompiled when needed.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
STUDIES = ROOT / "studies"
BOOK = ROOT / "book"
DATA = ROOT / "data"


def _env_path(variable: str, default: Path) -> Path:
    value = os.environ.get(variable)
    return Path(value).expanduser().resolve() if value else default


def results_root() -> Path:
    """Folder that holds one sub-folder of results per study."""
    return _env_path("SYNLIB_RESULTS", ROOT / "results")


def results_dir(study: str) -> Path:
    """Folder of the result tables and arrays of ``study``."""
    if not study or any(sep in study for sep in ("/", "\\")) or study.startswith("."):
        raise ValueError(f"study name {study!r} must be a plain folder name such as 'simulated'")
    return results_root() / study


def generated_root() -> Path:
    """Folder where the runner publishes executed notebooks for the book."""
    return _env_path("SYNLIB_GENERATED", BOOK / "_generated")


def cache_dir() -> Path:
    """Folder for downloads and the runner's records of finished runs."""
    return _env_path("SYNLIB_CACHE", ROOT / ".cache")


def kernel_dir() -> Path:
    """Folder of the compiled autoencoder kernel, ``<cache>/kernels``.

    Code is loaded from it, so it must belong to the user who runs synlib: it is
    created with mode 0700 and refused if another user owns it or if group or
    others can write to it (see :mod:`synlib.autoencoder._ckernel`). On a
    checkout shared by several users, each sets ``SYNLIB_CACHE`` to a folder of
    their own. Delete it to force a rebuild.
    """
    return cache_dir() / "kernels"


def data_search_path() -> list[Path]:
    """Folders searched, in order, for local copies of public recordings."""
    value = os.environ.get("SYNLIB_DATA_PATH")
    if value:
        return [Path(p).expanduser().resolve() for p in value.split(os.pathsep) if p]
    return [DATA / "external", ROOT.parent / "shared" / "data"]
