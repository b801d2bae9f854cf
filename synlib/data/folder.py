"""The dataset folder a fork fills (``dataset.yml``, ``trials.csv``, one file per trial), documented in ``data/README.md``.

:func:`read_dataset_folder` reads it as a :class:`synlib.data.model.Dataset`,
:func:`write_dataset_folder` writes one atomically, and :func:`trials_from_pattern`
builds ``trials.csv`` from the names of the trial files.
"""

from __future__ import annotations

import io as _io
import math
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import yaml

from synlib import declared
from synlib.data.model import (
    DataError,
    Dataset,
    REQUIRED_META,
    Trial,
    check_muscle_names,
    check_same_muscles,
    sha256_of,
    validate_trials,
)
from synlib.data.readers import _check_delimiter, _read_lines, read_delimited, read_mat

__all__ = [
    "METADATA_FILE",
    "TRIALS_FILE",
    "TRIAL_FILE_FORMATS",
    "TRUTH_SYNERGIES_FILE",
    "is_dataset_folder",
    "read_dataset_folder",
    "read_trial_file",
    "trials_from_pattern",
    "write_dataset_folder",
]

METADATA_FILE = "dataset.yml"
TRIALS_FILE = "trials.csv"
TRUTH_SYNERGIES_FILE = "truth_synergies.npz"
TRIAL_FILE_FORMATS = (".csv", ".npy", ".npz", ".mat")
#: A dataset folder's ``dataset.yml``, declared once: every key, its type and meaning.
METADATA_SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["name", "sampling_rate", "muscles"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "description": "the dataset's name in the book"},
        # YAML reads 1e3 as text: a number written as text is taken too, and checked below
        "sampling_rate": {"type": ["number", "string"], "description": "EMG samples per second (Hz)"},
        "muscles": {"type": "array", "items": {"type": ["string", "number"]}, "minItems": 1,
                    "description": "muscle names, in the column order of every trial file"},
        "units": {"type": ["string", "null"], "description": "units of the raw EMG, e.g. mV"},
        "licence": {"type": ["string", "null"], "description": "the data's licence"},
        "citation": {"type": ["string", "null"], "description": "what to cite for the data"},
        "description": {"type": ["string", "null"], "description": "a paragraph on the recordings"},
        "info": {"type": ["object", "null"], "description": "free-form entries, shown in the data chapter"},
    },
}
_TABLE_REQUIRED = ("participant", "trial", "condition", "repetition", "file")
_TABLE_TEXT = ("participant", "trial", "condition", "plane", "file", "sha256")
_EVENT_PREFIX = "events."
_TRUTH_PREFIX = "truth_"


def is_dataset_folder(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder holding a ``dataset.yml``."""
    return (Path(path) / METADATA_FILE).is_file()


def _read_metadata(folder: Path) -> dict:
    path = folder / METADATA_FILE
    if not path.is_file():
        raise DataError(f"{folder} is not a dataset folder: {METADATA_FILE} is missing "
                        "(see data/README.md for the format)")
    try:
        metadata = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DataError(f"file {path}: not valid YAML ({exc})") from exc
    if isinstance(metadata, dict) and "license" in metadata and "licence" not in metadata:
        metadata["licence"] = metadata.pop("license")
    try:
        declared.check_document(metadata, METADATA_SCHEMA, f"file {path}")
    except ValueError as exc:
        raise DataError(str(exc)) from None
    try:
        metadata["sampling_rate"] = float(metadata["sampling_rate"])
    except ValueError:
        raise DataError(f"file {path}: sampling_rate {metadata['sampling_rate']!r} must be a number of Hz") from None
    if not (0 < metadata["sampling_rate"] < float("inf")):
        raise DataError(f"file {path}: sampling_rate {metadata['sampling_rate']!r} must be a positive number of Hz")
    metadata["info"] = metadata.get("info") or {}
    metadata["muscles"] = check_muscle_names(metadata["muscles"], f"file {path}")
    return metadata


def _as_numbers(column: pd.Series, name: str, path: Path, integer: bool) -> pd.Series:
    text = column.str.strip()
    numbers = pd.to_numeric(text.where(text != ""), errors="coerce")
    bad = text[(text != "") & numbers.isna() & ~text.str.lower().isin({"nan", "na"})]
    if not bad.empty:
        raise DataError(f"file {path}, row {bad.index[0] + 2}, column {name!r}: {bad.iloc[0]!r} is not a number")
    if integer:
        if numbers.isna().any():
            raise DataError(f"file {path}, row {numbers.index[numbers.isna()][0] + 2}, column {name!r}: "
                            "a whole number is required")
        if not (numbers == numbers.round()).all():
            row = numbers.index[numbers != numbers.round()][0]
            raise DataError(f"file {path}, row {row + 2}, column {name!r}: {text[row]!r} is not a whole number")
        return numbers.astype(int)
    return numbers.astype(float)


def _read_trials_table(folder: Path) -> pd.DataFrame:
    path = folder / TRIALS_FILE
    if not path.is_file():
        raise DataError(f"dataset folder {folder}: {TRIALS_FILE} is missing (see data/README.md)")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"file {path}: not a readable comma-separated table ({exc})") from exc
    table.columns = [str(c).strip() for c in table.columns]
    if len(table.columns) == 1:
        _check_delimiter(_read_lines(path)[0], ",", len(_TABLE_REQUIRED), f"file {path}")
    missing = [c for c in _TABLE_REQUIRED if c not in table.columns]
    if missing:
        raise DataError(f"file {path}: missing column(s) {missing}; required: {list(_TABLE_REQUIRED)}, "
                        f"optional: target, plane, onset, offset, sha256, events.<name>, any extra column")
    if table.empty:
        raise DataError(f"file {path}: the trial table has no rows")
    for column in table.columns:
        if column in _TABLE_TEXT or column.startswith(_EVENT_PREFIX):
            table[column] = table[column].astype(str).str.strip()
        elif column == "repetition" or column == "target":
            table[column] = _as_numbers(table[column].astype(str), column, path, integer=True)
        elif column in ("onset", "offset"):
            table[column] = _as_numbers(table[column].astype(str), column, path, integer=False)
        else:
            text = table[column].astype(str).str.strip()
            numbers = pd.to_numeric(text, errors="coerce")
            table[column] = numbers if numbers.notna().all() else text
    for key in ("participant", "trial", "file"):
        empty = table.index[table[key] == ""]
        if len(empty):
            raise DataError(f"file {path}, row {empty[0] + 2}: column {key!r} is empty")
    duplicated = table[table.duplicated(["participant", "trial"], keep=False)]
    if not duplicated.empty:
        row = duplicated.iloc[0]
        raise DataError(f"file {path}: participant {row['participant']!r} has trial {row['trial']!r} "
                        "more than once; trial ids must be unique within a participant")
    bad_repetition = table.index[table["repetition"] < 1]
    if len(bad_repetition):
        raise DataError(f"file {path}, row {bad_repetition[0] + 2}: repetition must be 1 or more")
    for row in table.itertuples():
        file = folder / row.file
        if Path(row.file).suffix.lower() not in TRIAL_FILE_FORMATS:
            raise DataError(f"file {path}, participant {row.participant!r}, trial {row.trial!r}: {row.file!r} "
                            f"has an unknown format; use one of {', '.join(TRIAL_FILE_FORMATS)}")
        if not file.is_file():
            raise DataError(f"file {path}, participant {row.participant!r}, trial {row.trial!r}: "
                            f"trial file {file} does not exist")
    return table


def trials_from_pattern(folder: str | os.PathLike, pattern: str, *, write: bool = False) -> pd.DataFrame:
    """The rows of ``trials.csv`` read off the names of a folder's trial files.

    Parameters
    ----------
    folder : path
        The dataset folder.
    pattern : str
        Path of a trial file relative to ``folder``, with ``{participant}``,
        ``{condition}`` and ``{repetition}`` (required) and any other ``{field}``
        (``target``, ``plane``, or a column of your own) standing for one part of a
        name, and ``*`` for any text, e.g. ``"trials/{participant}_{condition}_{repetition}_*.csv"``.
        A field matches no ``/``; a field named twice must match the same text.
    write : bool
        Also write ``<folder>/trials.csv`` (atomically); an existing one is refused.

    Returns
    -------
    DataFrame
        ``participant``, ``trial`` (the file's name without its suffix), ``condition``,
        ``repetition``, ``file`` and the other fields, sorted by participant,
        condition and repetition.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> for name in ("S01_abd_1_raw.csv", "S01_abd_2_raw.csv", "S02_flx_1_raw.csv", "notes.txt"):
    ...     _ = (folder / name).write_text("")
    >>> trials_from_pattern(folder, "{participant}_{condition}_{repetition}_*.csv")[["participant", "condition", "repetition"]].values.tolist()
    [['S01', 'abd', 1], ['S01', 'abd', 2], ['S02', 'flx', 1]]
    """
    folder = Path(folder)
    fields = re.findall(r"\{(\w+)\}", pattern)
    missing = [f for f in ("participant", "condition", "repetition") if f not in fields]
    if missing:
        raise DataError(f"pattern {pattern!r} lacks {', '.join('{' + f + '}' for f in missing)}; "
                        "it must name participant, condition and repetition")
    regex, seen = "", set()
    for part in re.split(r"(\{\w+\}|\*)", pattern):
        if part == "*":
            regex += "[^/]*"
        elif re.fullmatch(r"\{\w+\}", part):
            name = part[1:-1]
            regex += f"(?P={name})" if name in seen else f"(?P<{name}>[^/]+?)"
            seen.add(name)
        else:
            regex += re.escape(part)
    matcher = re.compile(regex)
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    rows = []
    for file in files:
        found = matcher.fullmatch(file)
        if found is None:
            continue
        repetition = found["repetition"]
        if not repetition.isdigit() or int(repetition) < 1:
            raise DataError(f"{folder / file}: repetition {repetition!r} (from the pattern {pattern!r}) "
                            "is not a whole number ≥ 1")
        rows.append({"participant": found["participant"], "trial": Path(file).stem, "condition": found["condition"],
                     "repetition": int(repetition), "file": file,
                     **{k: v for k, v in found.groupdict().items() if k not in ("participant", "condition", "repetition")}})
    if not rows:
        raise DataError(f"no file of {folder} matches the pattern {pattern!r}; its files include "
                        f"{files[:5] or 'none'}")
    table = pd.DataFrame(rows).sort_values(["participant", "condition", "repetition"], kind="stable")
    twice = table[table.duplicated(["participant", "condition", "repetition"], keep=False)]
    if len(twice):
        raise DataError(f"participant {twice['participant'].iloc[0]!r}, condition {twice['condition'].iloc[0]!r}, "
                        f"repetition {twice['repetition'].iloc[0]} has more than one file: "
                        f"{', '.join(twice['file'].iloc[:2])}; add a field to the pattern that tells them apart")
    table = table.reset_index(drop=True)
    if write:
        from synlib.results import atomic_write_bytes

        target = folder / TRIALS_FILE
        if target.exists():
            raise DataError(f"{target} exists; remove it to write it again from the pattern")
        atomic_write_bytes(target, table.to_csv(index=False, lineterminator="\n").encode())
    return table


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"file {path}: not a readable .npy array ({exc}); is it truncated?") from exc


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as content:
            return {key: content[key] for key in content.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"file {path}: not a readable .npz archive ({exc}); is it truncated?") from exc


def read_trial_file(path: str | os.PathLike, muscles: Sequence[str]
                    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Read one trial file of a dataset folder: EMG (samples × muscles) and any truth arrays.

    ``.csv``: comma-separated, a header row naming the muscles (an optional
    ``time`` column is ignored). ``.npy``: the EMG matrix. ``.npz``: key ``emg``,
    optionally ``muscles`` (checked) and ``truth_<name>`` arrays. ``.mat``:
    variable ``emg``, optionally ``muscles``.
    """
    path = Path(path)
    where = f"file {path}"
    suffix = path.suffix.lower()
    truth: dict[str, np.ndarray] = {}
    if suffix == ".csv":
        emg, _ = read_delimited(path, delimiter=",", header=True, muscles=muscles)
    elif suffix == ".npy":
        emg = _load_npy(path)
    elif suffix == ".npz":
        content = _load_npz(path)
        if "emg" not in content:
            raise DataError(f"{where}: no array named 'emg'; it has {sorted(content)}")
        emg = content["emg"]
        if "muscles" in content:
            check_same_muscles([str(m) for m in content["muscles"]], muscles, where)
        truth = {k[len(_TRUTH_PREFIX):]: v for k, v in content.items() if k.startswith(_TRUTH_PREFIX)}
    elif suffix == ".mat":
        names = None
        try:
            emg, names, _ = read_mat(path, "emg", muscles_variable="muscles")
        except DataError as exc:
            if "'muscles' not found" not in str(exc):
                raise
            emg, _, _ = read_mat(path, "emg")
        if names is not None:
            check_same_muscles(names, muscles, where)
    else:
        raise DataError(f"{where}: unknown trial file format; use one of {', '.join(TRIAL_FILE_FORMATS)}")
    if emg.dtype.kind not in "fiu":
        raise DataError(f"{where}: EMG has dtype {emg.dtype}; expected numbers")
    return emg, truth


def _meta_from_row(row: Mapping[str, Any]) -> dict:
    meta: dict[str, Any] = {}
    events = {}
    for key, value in row.items():
        if key in ("file", "sha256"):
            continue
        if key.startswith(_EVENT_PREFIX):
            events[key[len(_EVENT_PREFIX):]] = np.array([float(v) for v in str(value).split()])
            continue
        meta[key] = value.item() if isinstance(value, np.generic) else value
    for key in ("onset", "offset"):
        meta.setdefault(key, math.nan)
    if events:
        meta["events"] = events
    return meta


def read_dataset_folder(path: str | os.PathLike) -> Dataset:
    """Open a dataset folder in the documented on-disk format (``data/README.md``).

    The metadata and the trial table are checked at once (every trial file must
    exist); each participant's files are read, checked against their SHA-256
    when the table has one, and validated when that participant is loaded.

    Examples
    --------
    >>> import tempfile
    >>> folder = write_dataset_folder(
    ...     [{"participant": "S1", "trial": "t1", "condition": "reach", "repetition": 1,
    ...       "emg": np.random.default_rng(0).normal(size=(500, 2))}],
    ...     tempfile.mkdtemp() + "/mine", name="mine", fs=1000, muscles=["DeltA", "DeltM"])
    >>> dataset = read_dataset_folder(folder)
    >>> dataset.participants, dataset.muscles, dataset.trials("S1")[0].emg.shape
    (['S1'], ('DeltA', 'DeltM'), (500, 2))
    """
    folder = Path(path).expanduser().resolve()
    metadata = _read_metadata(folder)
    table = _read_trials_table(folder)
    muscles = metadata["muscles"]
    fs = metadata["sampling_rate"]
    has_checksums = "sha256" in table.columns

    def load_participant(participant: str) -> list[Trial]:
        trials = []
        for row in table[table["participant"] == participant].to_dict("records"):
            file = folder / row["file"]
            if has_checksums and row["sha256"]:
                actual = sha256_of(file)
                if actual != row["sha256"].lower():
                    raise DataError(f"file {file} (participant {participant!r}, trial {row['trial']!r}): SHA-256 "
                                    f"{actual} does not match {row['sha256']} in {TRIALS_FILE}; the file was "
                                    "changed or damaged and is not used — restore it or update the checksum")
            emg, truth = read_trial_file(file, muscles)
            trials.append(Trial(emg=emg, meta=_meta_from_row(row), source=str(file), truth=truth or None))
        return trials

    truth_synergies = None
    synergy_file = folder / TRUTH_SYNERGIES_FILE
    if synergy_file.is_file():
        synergies = _load_npz(synergy_file)
        truth_synergies = synergies.__getitem__
    info = {key: metadata[key] for key in ("units", "licence", "citation", "description") if key in metadata}
    info.update(metadata.get("info", {}))
    info["source"] = str(folder)
    return Dataset(name=str(metadata["name"]), fs=fs, muscles=muscles,
                   participants=list(dict.fromkeys(table["participant"])),
                   load_participant=load_participant, info=info, truth_synergies=truth_synergies)


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._+-]+")


def _yaml_ready(value: Any) -> Any:
    """Plain Python values that yaml.safe_dump writes (numpy scalars and arrays converted)."""
    if isinstance(value, Mapping):
        return {str(k): _yaml_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_yaml_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return _yaml_ready(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _trials_from(data: Any) -> Iterable[tuple[str, list[Trial]]]:
    """(participant, trials) pairs from a Dataset, Trials, or dicts holding ``emg`` and metadata."""
    if isinstance(data, Dataset):
        for participant in data.participants:
            yield participant, data.trials(participant)
        return
    by_participant: dict[str, list[Trial]] = {}
    for number, item in enumerate(data, start=1):
        if isinstance(item, Trial):
            trial = item
        elif isinstance(item, Mapping) and "emg" in item:
            meta = {k: v for k, v in item.items() if k not in ("emg", "truth")}
            trial = Trial(emg=np.asarray(item["emg"]), meta=meta, source=f"item {number}",
                          truth=item.get("truth"))
        else:
            raise DataError(f"item {number}: expected a Trial or a dict with 'emg' and metadata "
                            f"{list(REQUIRED_META)}, got {type(item).__name__}")
        missing = [k for k in REQUIRED_META if k not in trial.meta]
        if missing:
            raise DataError(f"item {number}: metadata lacks {missing}; every trial needs {list(REQUIRED_META)}")
        by_participant.setdefault(str(trial.meta["participant"]), []).append(trial)
    yield from by_participant.items()


def write_dataset_folder(data: Any, path: str | os.PathLike, *, name: str | None = None,
                         fs: float | None = None, muscles: Sequence[str] | None = None,
                         info: Mapping[str, Any] | None = None, file_format: str = "npz",
                         include_truth: bool = True, overwrite: bool = False) -> Path:
    """Write a dataset folder in the documented format, in one call.

    Parameters
    ----------
    data : Dataset or iterable of Trial or of dict
        A :class:`~synlib.data.model.Dataset` (participants written one at a time), or trials: each a
        :class:`~synlib.data.model.Trial` or a dict with ``emg`` (samples × muscles), optional
        ``truth`` and the metadata (``participant``, ``trial``, ``condition``,
        ``repetition`` and any of ``target``, ``plane``, ``onset``, ``offset``,
        ``events``, extra columns).
    path : path-like
        The folder to create.
    name, fs, muscles, info
        Required for trials, taken from the dataset otherwise (arguments win).
        ``info`` may hold ``units``, ``licence``, ``citation``, ``description``
        and any free-form entries.
    file_format : {"npz", "npy", "csv"}
        Trial file format. ``npz`` also stores the truth of simulated trials.
    include_truth : bool
        Store trials' truth (``npz`` only) and true synergies when the data have them.
    overwrite : bool
        Replace an existing folder.

    Returns
    -------
    Path
        The folder. It appears complete or not at all (written aside, then renamed).
    """
    target = Path(path).expanduser().resolve()
    if file_format not in ("npz", "npy", "csv"):
        raise ValueError(f"file_format={file_format!r}; use 'npz', 'npy' or 'csv'")
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists; pass overwrite=True to replace it")
    if isinstance(data, Dataset):
        name = name or data.name
        fs = fs or data.fs
        muscles = muscles or data.muscles
        info = {**data.info, **(info or {})}
    if name is None or fs is None or muscles is None:
        raise ValueError("writing trials needs name=, fs= and muscles= (a Dataset carries them)")
    muscles = check_muscle_names(muscles, f"dataset {name!r}")
    info = dict(info or {})
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    except OSError as exc:
        raise OSError(f"cannot write to {target.parent}: {exc.strerror or exc}") from exc
    try:
        rows, synergies = _write_trials(data, staging, muscles, float(fs), file_format, include_truth)
        if synergies:
            np.savez(staging / TRUTH_SYNERGIES_FILE, **synergies)
        pd.DataFrame(rows).to_csv(staging / TRIALS_FILE, index=False, lineterminator="\n")
        metadata = {"name": name, "sampling_rate": float(fs), "muscles": list(muscles)}
        for key in ("units", "licence", "citation", "description"):
            if key in info:
                metadata[key] = info.pop(key)
        info.pop("source", None)
        if info:
            metadata["info"] = _yaml_ready(info)
        (staging / METADATA_FILE).write_text(yaml.safe_dump(_yaml_ready(metadata), sort_keys=False,
                                                            allow_unicode=True), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError) and not isinstance(exc, FileExistsError):
            raise OSError(f"cannot write dataset folder {target}: {exc.strerror or exc}; nothing was written") from exc
        raise
    return target


def _write_trials(data: Any, folder: Path, muscles: tuple[str, ...], fs: float, file_format: str,
                  include_truth: bool) -> tuple[list[dict], dict[str, np.ndarray]]:
    rows: list[dict] = []
    synergies: dict[str, np.ndarray] = {}
    for participant, trials in _trials_from(data):
        validate_trials(trials, muscles, fs, participant)
        participant_folder = folder / "trials" / _SAFE_NAME.sub("_", participant)
        participant_folder.mkdir(parents=True, exist_ok=True)
        used: set[str] = set()
        for trial in trials:
            stem = _SAFE_NAME.sub("_", str(trial.meta["trial"]))
            while stem in used:
                stem += "_"
            used.add(stem)
            file = participant_folder / f"{stem}.{file_format}"
            _write_trial_file(file, trial, muscles, file_format, include_truth)
            row = {k: v for k, v in trial.meta.items() if k != "events"}
            for event, times in (trial.meta.get("events") or {}).items():
                row[_EVENT_PREFIX + event] = " ".join(repr(float(t)) for t in np.ravel(times))
            row["file"] = file.relative_to(folder).as_posix()
            row["sha256"] = sha256_of(file)
            rows.append(row)
        if include_truth and isinstance(data, Dataset) and data.truth_synergies is not None:
            synergies[participant] = np.asarray(data.truth_synergies(participant))
    return rows, synergies


def _write_trial_file(file: Path, trial: Trial, muscles: tuple[str, ...], file_format: str,
                      include_truth: bool) -> None:
    emg = np.asarray(trial.emg, dtype=float)
    if file_format == "npy":
        np.save(file, emg)
    elif file_format == "npz":
        arrays = {"emg": emg, "muscles": np.array(muscles)}
        if include_truth and trial.truth:
            arrays.update({_TRUTH_PREFIX + k: np.asarray(v) for k, v in trial.truth.items()})
        np.savez(file, **arrays)
    else:
        buffer = _io.StringIO()
        np.savetxt(buffer, emg, delimiter=",", fmt="%.17g", header=",".join(muscles), comments="")
        file.write_text(buffer.getvalue(), encoding="utf-8")
