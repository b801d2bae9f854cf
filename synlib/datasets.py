"""The registry of named datasets: ``load(name_or_path, **options) -> Dataset``.

========================  ===================================================================
name                      what
========================  ===================================================================
``simulated``             the simulated reaching cohort with ground truth (:mod:`synlib.simulate`)
``shoulder``              rmr-solver shoulder recordings: 1 participant, 14 muscles, 1 kHz,
                          abduction / flexion / shrug × unloaded / loaded × 3 repetitions
``pyomeca-c3d``           pyomeca's C3D trial: 1 box-lifting trial, 13 EMG channels, 2 kHz
``gait``                  musclesyneRgies' raw treadmill-walking trial: 13 muscles, 1 kHz,
                          touchdown / lift-off events
========================  ===================================================================

A path to a dataset folder (``data/README.md``) is read as such. A lab can add
its own source with a short adapter::

    from synlib.datasets import register

    @register("my-lab")
    def my_lab(session="2024-05") -> Dataset:
        ...   # read the files, return synlib.data.Dataset(...)

Public recordings are known by their address and SHA-256. Each file is looked
up first in the folders of :func:`synlib.paths.data_search_path` (environment
variable ``SYNLIB_DATA_PATH``; sub-folders named as in ``../shared/data``), then
in the download cache (:func:`synlib.paths.cache_dir`), and otherwise
downloaded with pooch. A file whose checksum does not match is refused and never
used. Set ``SYNLIB_OFFLINE=1`` to forbid downloads.
"""

from __future__ import annotations

import inspect
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from synlib import paths
from synlib.data import (
    DataError,
    Dataset,
    Trial,
    check_same_muscles,
    read_c3d,
    read_dataset_folder,
    read_exp,
    sha256_of,
)

_REGISTRY: dict[str, Callable[..., Dataset]] = {}


def register(name: str, *, replace: bool = False) -> Callable[[Callable[..., Dataset]], Callable[..., Dataset]]:
    """Register a dataset adapter under ``name`` (a decorator).

    The adapter's keyword arguments become the dataset's options, checked by
    :func:`load`. It returns a :class:`synlib.data.model.Dataset`.

    Examples
    --------
    >>> from synlib.data import Dataset, Trial
    >>> @register("doc-example", replace=True)
    ... def doc_example(n_samples=200):
    ...     trial = Trial(np.ones((n_samples, 1)) + np.arange(n_samples)[:, None],
    ...                   {"participant": "S1", "trial": "t1", "condition": "c", "repetition": 1})
    ...     return Dataset("doc-example", 1000.0, ["DeltA"], ["S1"], lambda p: [trial])
    >>> load("doc-example", n_samples=300).trials("S1")[0].emg.shape
    (300, 1)
    """
    def decorator(function: Callable[..., Dataset]) -> Callable[..., Dataset]:
        if name in _REGISTRY and not replace:
            raise ValueError(f"dataset name {name!r} is already registered; pick another name or pass replace=True")
        _REGISTRY[name] = function
        return function
    return decorator


def available() -> list[str]:
    """Names of the registered datasets."""
    return sorted(_REGISTRY)


def options(name: str) -> dict[str, Any]:
    """The options a registered dataset accepts, with their defaults.

    Examples
    --------
    >>> options("simulated")["mixing"]
    'linear'
    """
    adapter = _adapter(name)
    return {p.name: p.default for p in inspect.signature(adapter).parameters.values()
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}


def _adapter(name: str) -> Callable[..., Dataset]:
    if name not in _REGISTRY:
        raise KeyError(f"unknown dataset {name!r}; registered datasets: {', '.join(available())}")
    return _REGISTRY[name]


def load(name_or_path: str | os.PathLike, **options: Any) -> Dataset:
    """A dataset by registered name or dataset-folder path.

    Parameters
    ----------
    name_or_path : str or path-like
        A name from :func:`available` or a folder in the format of ``data/README.md``.
    **options
        The dataset's options (see :func:`options`); unknown ones are refused.

    Examples
    --------
    >>> cohort = load("simulated", n_participants=3)
    >>> cohort.participants
    ['P01', 'P02', 'P03']
    """
    key = os.fspath(name_or_path)
    if key in _REGISTRY:
        adapter = _REGISTRY[key]
        signature = inspect.signature(adapter)
        takes_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
        unknown = sorted(set(options) - set(signature.parameters))
        if unknown and not takes_any:
            accepted = ", ".join(signature.parameters) or "none"
            raise TypeError(f"dataset {key!r} has no option(s) {unknown}; it accepts: {accepted}")
        return adapter(**options)
    path = Path(key).expanduser()
    if path.is_dir():
        if options:
            raise TypeError(f"a dataset folder takes no options, got {sorted(options)}; "
                            "dataset-specific choices belong in its dataset.yml or the study plan")
        return read_dataset_folder(path)
    if path.exists():
        raise DataError(f"{path} is a file; pass the folder that holds dataset.yml (see data/README.md)")
    raise KeyError(f"unknown dataset {key!r}: not a registered name ({', '.join(available())}) "
                   "and not an existing dataset folder (a folder with dataset.yml, see data/README.md)")


def open_dataset(dataset: str | os.PathLike, dataset_options: dict | None = None,
                 participants: None | int | Sequence[str] = None, seed: int | None = None) -> Dataset:
    """What every chapter does first: load ``dataset`` with its options, keep ``participants``.

    A dataset generated from a seed (one whose adapter takes a ``seed`` option,
    such as the simulated cohort) gets the chapter's ``seed`` unless
    ``dataset_options`` sets one, so every chapter of a study sees the same data.

    Examples
    --------
    >>> open_dataset("simulated", {"mixing": "nonlinear"}, participants=2, seed=0).participants
    ['P01', 'P02']
    """
    dataset_options = dict(dataset_options or {})
    key = os.fspath(dataset)
    if seed is not None and key in _REGISTRY and "seed" in options(key):
        dataset_options.setdefault("seed", seed)
    return load(dataset, **dataset_options).subset(participants)


def facts(data: Dataset, trial_table=None) -> dict[str, str]:
    """What a reader should know of ``data`` before its results: counts, names, rate, licence, citation.

    ``trial_table`` is ``data.trial_table()`` when the caller already has it.

    Examples
    --------
    >>> found = facts(open_dataset("simulated", {"n_repetitions": 2}, participants=2))
    >>> found["participants"], found["repetitions"], found["sampling rate"]
    ('2', '2 per condition', '1000 Hz')
    """
    table = data.trial_table() if trial_table is None else trial_table
    names = data.info.get("muscle_names") or {}
    muscles = [f"{m} ({names[m]})" if names.get(m) else m for m in data.muscles]
    conditions = list(dict.fromkeys(table["condition"].astype(str))) if "condition" in table else []
    shown = ", ".join(conditions[:12]) + (f", … ({len(conditions) - 12} more)" if len(conditions) > 12 else "")
    repetitions = table.groupby(["participant", "condition"])["repetition"].nunique() if "repetition" in table else []
    low, high = (int(min(repetitions)), int(max(repetitions))) if len(repetitions) else (0, 0)
    return {
        "dataset": data.name,
        "participants": str(len(data.participants)),
        "muscles": f"{len(data.muscles)}: {', '.join(muscles)}",
        "conditions": f"{len(conditions)}: {shown}" if conditions else "not given",
        "repetitions": (f"{low}" if low == high else f"{low}–{high}") + " per condition" if high else "not given",
        "trials": str(len(table)),
        "sampling rate": f"{data.fs:g} Hz",
        "licence": str(data.info.get("licence", "not stated")),
        "citation": str(data.info.get("citation", "not stated")),
    }


def facts_markdown(data: Dataset, trial_table=None) -> str:
    """:func:`facts` as a two-column Markdown table."""
    rows = [f"| {name} | {value.replace('|', '/')} |" for name, value in facts(data, trial_table).items()]
    return "\n".join(["| what | value |", "| --- | --- |", *rows])


# --------------------------------------------------------------------------- public files


@dataclass(frozen=True)
class PublicFile:
    """A public file: the sub-folder it lives in locally, its name, address and SHA-256."""

    folder: str
    name: str
    url: str
    sha256: str


_SHOULDER_URL = ("https://raw.githubusercontent.com/ComputationalBiomechanicsLab/rmr-solver/"
                 "89ebdc93eef17a7e4d06b2802101a3a3bf0db126/ExperimentalData/EMG/")
_MUSCLESYNERGIES_URL = ("https://raw.githubusercontent.com/alesantuz/musclesyneRgies/"
                        "0fbf53b01d9386fe489cb9e864c43a242dee70ce/data/")
_PYOMECA_URL = ("https://raw.githubusercontent.com/pyomeca/pyomeca/"
                "3594512b142e4fa029902cc0ea3e74e4f1ef783e/tests/data/")

_SHOULDER_SHA256 = {
    "abd01.exp": "1a3ad4dd97b437b267f1446a10a6a901e5c18c6f543fbbc25967da2990c948c7",
    "abd02.exp": "f738040879568432a3d1113d35b2af700d6d0686871b1ef5efbcb6cfb2448187",
    "abd03.exp": "532180d5563d57af0997ccf63763784d05beda462ac979d691ff1987204d47d6",
    "abd21.exp": "c38282e60cc0dc9b12c02b4d37ee2fdf2e9e055e3a147f987008f39dc03ba930",
    "abd22.exp": "c6ab02ddf93509c3ed3086eabd29b2f066804e34cde7ddc9af8df91b9ddd6758",
    "abd23.exp": "7ea55cab4b89fc5b463552045283f949181a08836a1ecf8b3a5498bb0817a497",
    "flx01.exp": "a91398692dbb8fb809c813f92db2fa5fa643ace1c1b46dc2bfc394a5b8f8bd20",
    "flx02.exp": "375d77192b5a5ce613a50228c27960cd61d5e0107d834b66f4621a9a32752d81",
    "flx03.exp": "24dcba803eb8ffd0ecd58206e7856246f7411f6d6301cc0ea32b6802b7d0bd0a",
    "flx21.exp": "9eafda820897aebddaca38449a869878636a6b74cfe6df494fdd6f2525221133",
    "flx22.exp": "9f5cb84a3648b0d6e8a689e0776b2aa746d90bc52c5f538f5266244b18badb91",
    "flx23.exp": "d690aa6e17f85bf1ba9f701d66d7406a9b550d10a620bde13165f1395281583c",
    "shrug01.exp": "a5e5281fc4f9b710e08dc2ead6761111b5a435e40ff530cf64d57deb41b27adb",
    "shrug02.exp": "7916442674d8c8194421ff8b7d1a2f4512f20507558fb8d9a318c772396e4a4a",
    "shrug03.exp": "c648a16111914f25600d87c237cc53f49005fa1c47e078b869d01f3ec94b8815",
    "shrug21.exp": "e28f84c5cce37d9c6b44ca160cd39af1537e1faa51b4410102153d66b7eb07eb",
    "shrug22.exp": "d949836614430a25c70e08f4392a26636375c85ef42c0b2b724e2ea950916cf0",
    "shrug23.exp": "198893dff9673e7131eaf11ee25e2a7d73b7526943c94e72b5b87142e7c78077",
}
_MUSCLESYNERGIES_SHA256 = {
    "RAW_DATA.RData": "1b861c987a9a6d5e10733d80f509f58e4b1499ccbd3f26034c424f28321afac8",
    "SYNS.RData": "1c2d6388ebc37bf2032beef54041442502f8027527fc9bb6a95f21bdaca0e5e9",
    "FILT_EMG.RData": "748f29eaf327a60a38ee97fe8f600a8f930024619cb445c0bf23beff8edc0edd",
}

PUBLIC_FILES: dict[str, list[PublicFile]] = {
    "shoulder": [PublicFile("rmr-solver-shoulder", name, _SHOULDER_URL + name, digest)
                 for name, digest in _SHOULDER_SHA256.items()],
    "pyomeca-c3d": [PublicFile("pyomeca", "markers_analogs.c3d", _PYOMECA_URL + "markers_analogs.c3d",
                               "bda1adf05508194dcc543b6eec2bc73991f9208d60bec5e7c6fdb03b7bfd6c15")],
    "gait": [PublicFile("musclesyneRgies", "RAW_DATA.RData", _MUSCLESYNERGIES_URL + "RAW_DATA.RData",
                        _MUSCLESYNERGIES_SHA256["RAW_DATA.RData"])],
    "musclesynergies-reference": [PublicFile("musclesyneRgies", "SYNS.RData", _MUSCLESYNERGIES_URL + "SYNS.RData",
                                             _MUSCLESYNERGIES_SHA256["SYNS.RData"])],
}
"""Every public file each dataset needs (address pinned to a commit, SHA-256)."""

LICENCES: dict[str, dict[str, str]] = {
    "shoulder": {
        "licence": "CC BY 4.0 (rmr-solver LICENSE_data)",
        "citation": ("Belli I, Joshi S, Prendergast JM, Beck I, Della Santina C, Peternel L, Seth A (2023). "
                     "Does enforcing glenohumeral joint stability matter? A new rapid muscle redundancy solver "
                     "highlights the importance of non-superficial shoulder muscles. bioRxiv "
                     "doi:10.1101/2023.07.11.548542; and Seth A et al. (2019), thoracoscapular shoulder model "
                     "data, simtk.org project 'thoracoscapular'."),
        "source": "https://github.com/ComputationalBiomechanicsLab/rmr-solver (ExperimentalData/EMG)",
    },
    "pyomeca-c3d": {
        "licence": "Apache-2.0 (pyomeca LICENSE.md)",
        "citation": "Martinez R, Michaud B, Begon M (2020). pyomeca: An Open-Source Framework for "
                    "Biomechanical Analysis. Journal of Open Source Software 5(53), 2431, doi:10.21105/joss.02431.",
        "source": "https://github.com/pyomeca/pyomeca (tests/data/markers_analogs.c3d)",
    },
    "musclesyneRgies": {
        "licence": "MIT (musclesyneRgies LICENSE)",
        "citation": "Santuz A (2022). musclesyneRgies: factorization of electromyographic data in R with "
                    "sensible defaults. Journal of Open Source Software 7(74), 4439, doi:10.21105/joss.04439.",
        "source": "https://github.com/alesantuz/musclesyneRgies (data/)",
    },
}


def _offline() -> bool:
    return os.environ.get("SYNLIB_OFFLINE", "").strip().lower() not in ("", "0", "false", "no")


def _verified(path: Path, file: PublicFile) -> Path:
    actual = sha256_of(path)
    if actual != file.sha256:
        raise DataError(f"file {path}: SHA-256 {actual} does not match the published {file.sha256} "
                        f"of {file.url}; the file is refused and not used. Replace it with the original "
                        "(or remove it so that it is downloaded again)")
    return path


def _local_copy(file: PublicFile) -> Path | None:
    for root in paths.data_search_path():
        candidate = root / file.folder / file.name
        if candidate.is_file():
            return _verified(candidate, file)
    cached = paths.cache_dir() / "data" / file.folder / file.name
    if cached.is_file():
        return _verified(cached, file)
    return None


def _download(file: PublicFile) -> Path:
    import pooch

    folder = paths.cache_dir() / "data" / file.folder
    try:
        return Path(pooch.retrieve(file.url, known_hash=f"sha256:{file.sha256}", fname=file.name,
                                   path=folder, progressbar=False))
    except ValueError as exc:          # pooch's checksum mismatch after download
        raise DataError(f"download of {file.url} does not match its published SHA-256 {file.sha256}; "
                        f"it was refused and not used ({exc})") from exc


def fetch(dataset: str) -> dict[str, Path]:
    """Local, checksum-verified paths of every public file ``dataset`` needs.

    Raises
    ------
    DataError
        A file whose SHA-256 differs from the published one (never used), or, in
        one message, every file that is neither found nor downloadable: where it
        was looked for, its address, and how to point ``SYNLIB_DATA_PATH`` at it.
    """
    files = PUBLIC_FILES[dataset]
    found: dict[str, Path] = {}
    missing: list[PublicFile] = []
    failure = "downloads are disabled (SYNLIB_OFFLINE is set)" if _offline() else ""
    for file in files:
        local = _local_copy(file)
        if local is not None:
            found[file.name] = local
            continue
        if not failure:
            try:
                found[file.name] = _download(file)
                continue
            except DataError:
                raise
            except Exception as exc:   # no network, HTTP errors: report once for every file below
                failure = f"download failed: {type(exc).__name__}: {exc}"
        missing.append(file)
    if missing:
        folders = sorted({file.folder for file in missing})
        looked = [str(root / folder) for root in paths.data_search_path() for folder in folders]
        looked += [str(paths.cache_dir() / "data" / folder) for folder in folders]
        listing = "\n".join(f"  {file.folder}/{file.name}  <{file.url}>" for file in missing)
        raise DataError(
            f"dataset {dataset!r} needs {len(missing)} public file(s) that are not available here:\n{listing}\n"
            f"Looked in: {', '.join(looked)}; {failure}.\n"
            f"Either run once with internet access (files are then cached in {paths.cache_dir() / 'data'}), "
            f"or copy the files into a folder laid out as <folder>/{folders[0]}/<file> and set "
            f"SYNLIB_DATA_PATH=<folder> (several folders separated by '{os.pathsep}').")
    return found


# --------------------------------------------------------------------------- adapters


@register("simulated")
def simulated(n_participants: int = 15, mixing: str = "linear", seed: int = 0, n_repetitions: int = 10,
              saturation: float = 0.4, threshold: float = 0.15, synergy_variability: float = 0.25,
              amplitude_variability: float = 0.2, measurement_noise: float = 0.005, dec_ratio: float = 0.7,
              synergy_overlap: float | None = None, tuning_variability: float = 0.15,
              k_range: int | tuple[int, int] = (5, 5), crosstalk: float = 0.0, muscle_specific: float = 0.0,
              burst_leak: float = 0.0, snr_db: float | None = None, envelope_noise: float = 0.0,
              nonlinearity: float = 1.0, interaction: float = 1.0, posture_drift: float = 0.5) -> Dataset:
    """The simulated reaching cohort (:mod:`synlib.simulate`).

    Every option is a field of :class:`synlib.simulate.SimulationConfig`, which
    documents it and where its default comes from; the defaults give the cohort
    the book used before the difficulty options existed, byte for byte. In a
    study plan they go under ``dataset_options`` (``k_range`` as a list, e.g.
    ``[4, 6]``; ``synergy_overlap`` and ``snr_db`` as ``null`` to leave them off).
    """
    from synlib.simulate import simulate_cohort

    return simulate_cohort(
        n_participants=n_participants, mixing=mixing, seed=seed, n_repetitions=n_repetitions,
        saturation=saturation, threshold=threshold, synergy_variability=synergy_variability,
        amplitude_variability=amplitude_variability, measurement_noise=measurement_noise, dec_ratio=dec_ratio,
        synergy_overlap=synergy_overlap, tuning_variability=tuning_variability, k_range=k_range,
        crosstalk=crosstalk, muscle_specific=muscle_specific, burst_leak=burst_leak, snr_db=snr_db,
        envelope_noise=envelope_noise, nonlinearity=nonlinearity, interaction=interaction,
        posture_drift=posture_drift)


SHOULDER_MUSCLES: tuple[str, ...] = ("AD", "MD", "PD", "TS", "TM", "TI", "Infra", "SA", "LatD", "PM_Sternal",
                                     "PM_Clav", "TMajor", "Bic", "Tric")
SHOULDER_MUSCLE_NAMES: dict[str, str] = dict(zip(SHOULDER_MUSCLES, (
    "anterior deltoid", "middle deltoid", "posterior deltoid", "superior trapezius", "middle trapezius",
    "inferior trapezius", "infraspinatus", "serratus anterior", "latissimus dorsi",
    "pectoralis major (sternal)", "pectoralis major (clavicular)", "teres major", "biceps brachii",
    "triceps brachii")))
_SHOULDER_TASKS = {"abd": "abduction", "flx": "forward flexion", "shrug": "shrug"}


@register("shoulder")
def shoulder() -> Dataset:
    """rmr-solver shoulder recordings: raw sEMG of 14 muscles at 1 kHz, one participant.

    Conditions are task × load (``abd``/``flx``/``shrug`` × ``unloaded``/``loaded``);
    file numbers 01–03 are the unloaded and 21–23 the loaded repetitions 1–3.
    Movement onsets are not given (``onset``/``offset`` are NaN).
    """
    files = fetch("shoulder")
    fs = 1000.0

    def load_participant(participant: str) -> list[Trial]:
        trials = []
        for name, path in files.items():
            stem = name.removesuffix(".exp")
            task, number = stem.rstrip("0123456789"), int(stem[-2:])
            emg, muscles, rate = read_exp(path, muscles=SHOULDER_MUSCLES)
            if rate is not None and rate != fs:
                raise DataError(f"file {path}: measurement rate {rate:g} Hz, expected {fs:g} Hz for this dataset")
            load = "loaded" if number > 20 else "unloaded"
            trials.append(Trial(emg=emg, source=str(path), meta={
                "participant": participant, "trial": stem, "condition": f"{task}-{load}",
                "repetition": number % 20, "onset": math.nan, "offset": math.nan,
                "task": task, "load": load}))
        return trials

    return Dataset(
        name="shoulder", fs=fs, muscles=SHOULDER_MUSCLES, participants=["P01"],
        load_participant=load_participant,
        info={**LICENCES["shoulder"], "units": "as exported (not stated by the source)",
              "description": ("Raw bipolar surface EMG of 14 shoulder muscles at 1 kHz, one participant: "
                              "shoulder abduction, forward flexion and shrug, unloaded and loaded, "
                              "3 repetitions each (4.3–10.9 s per trial). shrug01.exp has no header; "
                              "its columns are in the same order as the other files."),
              "muscle_names": dict(SHOULDER_MUSCLE_NAMES),
              "tasks": dict(_SHOULDER_TASKS)},
    )


PYOMECA_CHANNELS: tuple[str, ...] = (
    "Delt_ant.EMG1", "Delt_med.EMG2", "Delt_post.EMG3", "Biceps.EMG4", "Triceps.EMG5", "Trap_sup.EMG6",
    "Trap_inf.EMG7", "Gd_dent.EMG8", "Supra.EMG9", "Infra.EMG10", "Subscap.EMG11", "Pec.IM EMG12",
    "Gd_dors.IM EMG13")
"""The analog channels of the C3D file that hold named EMG (the others are forces, zeros or unnamed)."""


@register("pyomeca-c3d")
def pyomeca_c3d() -> Dataset:
    """pyomeca's C3D trial: one box-lifting trial, the 13 named EMG channels at 2 kHz."""
    path = fetch("pyomeca-c3d")["markers_analogs.c3d"]
    muscles = tuple(channel.split(".")[0] for channel in PYOMECA_CHANNELS)

    def load_participant(participant: str) -> list[Trial]:
        emg, _, _, _ = read_c3d(path, channels=PYOMECA_CHANNELS)
        return [Trial(emg=emg, source=str(path), meta={
            "participant": participant, "trial": "markers_analogs", "condition": "box-lifting",
            "repetition": 1, "onset": math.nan, "offset": math.nan})]

    return Dataset(
        name="pyomeca-c3d", fs=2000.0, muscles=muscles, participants=["P01"], load_participant=load_participant,
        info={**LICENCES["pyomeca-c3d"], "units": "V",
              "description": "One manual-handling (box-lifting) trial: raw sEMG of 13 shoulder and arm muscles "
                             "at 2 kHz from a C3D file (analog channels " + ", ".join(PYOMECA_CHANNELS) + ")."},
    )


GAIT_MUSCLES: tuple[str, ...] = ("ME", "MA", "FL", "RF", "VM", "VL", "ST", "BF", "TA", "PL", "GM", "GL", "SO")
GAIT_MUSCLE_NAMES: dict[str, str] = dict(zip(GAIT_MUSCLES, (
    "gluteus medius", "gluteus maximus", "tensor fasciae latae", "rectus femoris", "vastus medialis",
    "vastus lateralis", "semitendinosus", "biceps femoris", "tibialis anterior", "peroneus longus",
    "gastrocnemius medialis", "gastrocnemius lateralis", "soleus")))


def _read_rdata(path: Path) -> dict:
    try:
        import rdata
    except ImportError:
        raise ImportError("reading .RData files needs the optional package rdata: "
                          "pip install 'synlib[formats]' (or pip install rdata)") from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # rdata warns about R classes it converts to plain objects
        return rdata.conversion.convert(rdata.parser.parse_file(path))


@register("gait")
def gait() -> Dataset:
    """musclesyneRgies' raw treadmill-walking trial: 13 lower-limb muscles at 1 kHz.

    ``meta["events"]`` holds ``touchdown`` and ``liftoff`` times of 6 gait cycles
    in seconds from the trial's first sample (the R data's time column starts at
    ``meta["time_of_first_sample"]``).
    """
    path = fetch("gait")["RAW_DATA.RData"]
    content = _read_rdata(path)["RAW_DATA"]
    (key, record), = content.items()
    table = record["emg"]
    time = table["time"].to_numpy(dtype=float)
    step = np.diff(time)
    if not np.allclose(step, step[0], rtol=1e-6):
        raise DataError(f"file {path}: the time column is not evenly spaced")
    fs = float(round(1.0 / step[0], 6))
    check_same_muscles([str(c) for c in table.columns if c != "time"], GAIT_MUSCLES, f"file {path}")
    emg = table[list(GAIT_MUSCLES)].to_numpy(dtype=float)
    cycles = record["cycles"].to_numpy(dtype=float)
    participant, trial = str(key).split("_", 1)

    def load_participant(_: str) -> list[Trial]:
        return [Trial(emg=emg, source=str(path), meta={
            "participant": participant, "trial": trial, "condition": "treadmill-walking", "repetition": 1,
            "onset": math.nan, "offset": math.nan, "time_of_first_sample": float(time[0]),
            "events": {"touchdown": cycles[:, 0] - time[0], "liftoff": cycles[:, 1] - time[0]}})]

    return Dataset(
        name="gait", fs=fs, muscles=GAIT_MUSCLES, participants=[participant], load_participant=load_participant,
        info={**LICENCES["musclesyneRgies"], "units": "as stored in musclesyneRgies' RAW_DATA (not stated)",
              "description": "One treadmill-walking trial (~7.6 s): raw EMG of 13 lower-limb muscles at 1 kHz "
                             "with touchdown and lift-off times of 6 gait cycles.",
              "muscle_names": dict(GAIT_MUSCLE_NAMES)},
    )


def musclesynergies_reference() -> list[dict]:
    """musclesyneRgies' reference NMF results for its 15 gait participants (``SYNS.RData``).

    Returns
    -------
    list of dict
        One per participant: ``participant`` (e.g. ``"ID0001"``), ``trial``,
        ``muscles`` (13 names), ``V`` (200 × 13, samples × muscles: the NMF input),
        ``synergies`` (k × 13, the R package's ``M`` transposed, not normalised),
        ``activations`` (200 × k, its ``P`` without the time column), ``r2``
        (the package's R², centred on the grand mean), ``k``.
    """
    path = fetch("musclesynergies-reference")["SYNS.RData"]
    content = _read_rdata(path)["SYNS"]
    reference = []
    for key, record in content.items():
        participant, trial = str(key).split("_", 1)
        V = record["V"]
        muscles = tuple(str(m) for m in V.coords[V.dims[0]].values)
        check_same_muscles(muscles, GAIT_MUSCLES, f"file {path}, participant {participant!r}")
        activations = record["P"].drop(columns="time").to_numpy(dtype=float)
        synergies = np.asarray(record["M"], dtype=float).T
        reference.append({
            "participant": participant, "trial": trial, "muscles": muscles,
            "V": np.asarray(V, dtype=float).T, "synergies": synergies, "activations": activations,
            "r2": float(np.ravel(record["R2"])[0]), "k": int(np.ravel(record["syns"])[0]),
        })
    return reference


@register("gait-cohort")
def gait_cohort() -> Dataset:
    """musclesyneRgies' 15 gait participants (``SYNS.RData``): one averaged cycle of 13 muscle envelopes each.

    The stored NMF input ``V`` of each participant is already filtered, rectified
    and time-normalised to 200 points per gait cycle. No second cycle is stored,
    so the held-out part is made by interleaving (ours): the even points of the
    cycle are repetition 1 and the odd points repetition 2, 100 points each at a
    nominal 100 Hz (one cycle per second). Holding out repetition 2 then tests
    how well synergies fitted on half of the points of a cycle predict the other
    half, an interpolation check rather than a new stride; the book says so.
    Preprocessing must pass the envelopes through (see ``studies/gait.yml``).
    """
    reference = musclesynergies_reference()

    def load_participant(participant: str) -> list[Trial]:
        record = next(r for r in reference if r["participant"] == participant)
        return [Trial(emg=np.ascontiguousarray(record["V"][start::2]), source=f"SYNS.RData, {participant}",
                      meta={"participant": participant, "trial": f"{record['trial']}-{half}",
                            "condition": "walking", "repetition": repetition,
                            "onset": math.nan, "offset": math.nan})
                for repetition, (start, half) in enumerate(((0, "even"), (1, "odd")), start=1)]

    return Dataset(
        name="gait-cohort", fs=100.0, muscles=GAIT_MUSCLES, participants=[r["participant"] for r in reference],
        load_participant=load_participant,
        info={**LICENCES["musclesyneRgies"], "units": "normalised envelope (musclesyneRgies' V)",
              "description": "15 participants walking: one time-normalised gait cycle (200 points) of 13 "
                             "lower-limb muscle envelopes each, split into even and odd points.",
              "muscle_names": dict(GAIT_MUSCLE_NAMES)},
    )
