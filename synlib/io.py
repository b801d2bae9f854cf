"""The in-memory dataset model shared by every data source.

A :class:`Dataset` describes a recording session set (muscles, sampling rate,
participants) and hands out :class:`Trial` objects one participant at a time,
so that a cohort larger than memory can be processed participant by
participant. Readers for files and the simulated cohort all produce this form.

Bad input is rejected when it is loaded, before any computation, with a
:class:`DataError` whose message names the file, participant, trial and muscle
at fault and what is allowed. The module also holds the readers for the file
formats labs have (delimited text, the tab-separated ``.exp`` motion-capture
export, C3D, MATLAB ``.mat``) and the on-disk dataset folder that a fork fills
(:func:`read_dataset_folder`, :func:`write_dataset_folder`; documented in
``data/README.md``).
"""

from __future__ import annotations

import csv
import hashlib
import io as _io
import math
import os
import re
import shutil
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import yaml

REQUIRED_META = ("participant", "trial", "condition", "repetition")
MIN_TRIAL_SECONDS = 0.1
"""Shortest trial accepted: shorter ones cannot hold a movement and its rest."""


class DataError(ValueError):
    """Input data that cannot be used as given (the message says where and why)."""


class DataWarning(UserWarning):
    """Input data that can be used but look suspicious (e.g. a constant channel)."""


@dataclass(frozen=True)
class Trial:
    """One recorded trial.

    Attributes
    ----------
    emg : ndarray of shape (n_samples, n_muscles)
        Raw EMG, read-only, columns in the dataset's muscle order.
    meta : dict
        ``participant`` (str), ``trial`` (str, unique within the participant),
        ``condition`` (str), ``repetition`` (int, from 1); when known ``target``
        (int), ``plane`` (str), ``onset`` and ``offset`` (s from the first sample,
        NaN when unknown), ``events`` (dict name → times in s) and extra columns.
    source : str
        The file (or generator) the trial came from, quoted in error messages.
    truth : dict or None
        Ground truth on the time base of ``emg`` when the data are simulated:
        ``envelope`` (n_samples × n_muscles) and ``activations`` (n_samples × k).
    kinematics : dict or None
        Movement signals recorded with the EMG, on its time base; today
        ``hand_speed`` (n_samples, m/s), from which segmentation ``"speed"``
        detects movement onset and offset.
    """

    emg: np.ndarray
    meta: Mapping[str, Any]
    source: str = ""
    truth: Mapping[str, np.ndarray] | None = None
    kinematics: Mapping[str, np.ndarray] | None = None

    @property
    def label(self) -> str:
        """Human-readable identity used in messages: participant, trial and source."""
        where = f" ({self.source})" if self.source else ""
        return f"participant {self.meta.get('participant')!r}, trial {self.meta.get('trial')!r}{where}"


@dataclass
class Dataset:
    """Muscles, sampling rate and a lazy source of trials for each participant.

    Parameters
    ----------
    name : str
        Short name used in messages and result folders.
    fs : float
        Sampling rate of the raw EMG in Hz.
    muscles : sequence of str
        Muscle names, in the column order of every trial's ``emg``.
    participants : sequence of str
        Participant identifiers, in the order chapters iterate over them.
    load_participant : callable
        ``load_participant(participant) -> list[Trial]``; called each time that
        participant's trials are needed, so memory holds one participant at a time.
    info : dict
        Units, licence, citation, description and any source-specific facts.
    truth_synergies : callable or None
        ``truth_synergies(participant) -> ndarray (k × muscles)`` for simulated data.
    """

    name: str
    fs: float
    muscles: Sequence[str]
    participants: Sequence[str]
    load_participant: Callable[[str], list[Trial]]
    info: dict = field(default_factory=dict)
    truth_synergies: Callable[[str], np.ndarray] | None = None
    trial_metadata: Callable[[str], pd.DataFrame] | None = None

    def __post_init__(self) -> None:
        where = f"dataset {self.name!r}"
        self.muscles = check_muscle_names(self.muscles, where)
        self.participants = [str(p) for p in self.participants]
        if not self.participants:
            raise DataError(f"{where} has no participants")
        duplicated = sorted({p for p in self.participants if self.participants.count(p) > 1})
        if duplicated:
            raise DataError(f"{where}: participants {duplicated} are listed more than once")
        if not (isinstance(self.fs, (int, float, np.number)) and math.isfinite(self.fs) and self.fs > 0):
            raise DataError(f"{where}: sampling rate {self.fs!r} must be a positive number of Hz")
        self.fs = float(self.fs)

    def trials(self, participant: str) -> list[Trial]:
        """All trials of ``participant``, validated (see :func:`validate_trials`)."""
        if participant not in self.participants:
            raise KeyError(
                f"participant {participant!r} is not in dataset {self.name!r}; "
                f"it has {', '.join(map(str, self.participants))}"
            )
        trials = self.load_participant(participant)
        validate_trials(trials, self.muscles, self.fs, participant)
        return trials

    def validate(self) -> "Dataset":
        """Load and check every participant's trials now; returns the dataset."""
        for participant in self.participants:
            self.trials(participant)
        return self

    def subset(self, participants: None | int | Sequence[str]) -> "Dataset":
        """The same dataset restricted to some participants.

        ``None`` keeps all, an int keeps the first n, a list keeps those named.
        """
        if participants is None:
            chosen = list(self.participants)
        elif isinstance(participants, (int, np.integer)):
            if participants < 1:
                raise ValueError(f"participants={participants}: ask for at least 1")
            chosen = list(self.participants[: int(participants)])
        else:
            chosen = [str(p) for p in participants]
            unknown = [p for p in chosen if p not in self.participants]
            if unknown:
                raise KeyError(
                    f"participants {unknown} are not in dataset {self.name!r}; "
                    f"it has {', '.join(map(str, self.participants))}"
                )
        return Dataset(
            name=self.name,
            fs=self.fs,
            muscles=self.muscles,
            participants=chosen,
            load_participant=self.load_participant,
            info=self.info,
            truth_synergies=self.truth_synergies,
            trial_metadata=self.trial_metadata,
        )

    def trial_table(self) -> pd.DataFrame:
        """Tidy table with one row per trial (loads every participant in turn).

        Sources that know their trials without reading the signals (the
        simulated cohort) answer through ``trial_metadata`` instead.
        """
        if self.trial_metadata is not None:
            return pd.concat([self.trial_metadata(p) for p in self.participants], ignore_index=True)
        rows = []
        for participant in self.participants:
            for trial in self.trials(participant):
                row = {k: v for k, v in trial.meta.items() if k != "events"}
                row["n_samples"] = trial.emg.shape[0]
                row["source"] = trial.source
                rows.append(row)
        return pd.DataFrame(rows)


# --------------------------------------------------------------------------- validation


def check_sampling_rate(fs: float, highest_cutoff_hz: float, where: str) -> None:
    """Refuse a sampling rate that cannot represent a filter cutoff.

    A digital filter's cutoff must lie below the Nyquist frequency ``fs / 2``.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    highest_cutoff_hz : float
        Highest cutoff (or signal band edge) the processing asks for, in Hz.
    where : str
        What is being processed (dataset, file, step), quoted in the message.

    Raises
    ------
    DataError
        When ``fs`` is not positive or ``fs / 2 <= highest_cutoff_hz``.

    Examples
    --------
    >>> check_sampling_rate(1000.0, 450.0, "dataset 'shoulder'")
    >>> check_sampling_rate(500.0, 450.0, "dataset 'x'")
    Traceback (most recent call last):
    ...
    synlib.io.DataError: dataset 'x': sampling rate 500 Hz is too low for a 450 Hz cutoff; ...
    """
    if not (isinstance(fs, (int, float, np.number)) and math.isfinite(fs) and fs > 0):
        raise DataError(f"{where}: sampling rate {fs!r} must be a positive number of Hz")
    if not fs / 2 > highest_cutoff_hz:
        raise DataError(
            f"{where}: sampling rate {fs:g} Hz is too low for a {highest_cutoff_hz:g} Hz cutoff; "
            f"the cutoff must lie below the Nyquist frequency fs/2 = {fs / 2:g} Hz, so record at more "
            f"than {2 * highest_cutoff_hz:g} Hz or lower the cutoff"
        )


def check_muscle_names(muscles: Iterable[Any], where: str) -> tuple[str, ...]:
    """Muscle names as a tuple of non-empty, unique strings, or a :class:`DataError`.

    Examples
    --------
    >>> check_muscle_names(["DeltA", "DeltM"], "file a.csv")
    ('DeltA', 'DeltM')
    """
    names = tuple(muscles)
    if not names:
        raise DataError(f"{where}: no muscle names given; list one name per EMG column")
    for position, name in enumerate(names, start=1):
        if not isinstance(name, str) or not name.strip() or name.strip().lower() in {"nan", "none"}:
            raise DataError(f"{where}: muscle name of column {position} is missing ({name!r}); "
                            "every EMG column needs a non-empty name")
    names = tuple(name.strip() for name in names)
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise DataError(f"{where}: muscle names {duplicated} appear more than once; names must be unique")
    return names


def check_same_muscles(found: Sequence[str], expected: Sequence[str], where: str) -> None:
    """Refuse a file whose muscle columns differ from the dataset's (names and order)."""
    found, expected = tuple(found), tuple(expected)
    if found == expected:
        return
    missing = [m for m in expected if m not in found]
    extra = [m for m in found if m not in expected]
    if missing or extra:
        detail = "; ".join(part for part in (
            f"missing muscle(s) {missing}" if missing else "",
            f"unexpected muscle(s) {extra}" if extra else "") if part)
    else:
        first = next(i for i, (a, b) in enumerate(zip(found, expected)) if a != b)
        detail = (f"same muscles in another order: column {first + 1} is {found[first]!r} "
                  f"where the dataset has {expected[first]!r}")
    raise DataError(f"{where}: muscles differ from the dataset's {list(expected)}: {detail}")


def validate_trial(trial: Trial, muscles: Sequence[str], fs: float,
                   min_duration: float = MIN_TRIAL_SECONDS) -> None:
    """Check one trial's EMG and timing against the dataset's muscles and rate.

    Raises :class:`DataError` for a wrong shape, an empty or too-short trial,
    NaN or infinite samples, or onset/offset outside the trial; warns
    (:class:`DataWarning`) for a constant channel. Messages name the
    participant, trial, source file and muscle.
    """
    emg = trial.emg
    label = trial.label
    if not isinstance(emg, np.ndarray) or emg.ndim != 2:
        shape = getattr(emg, "shape", type(emg).__name__)
        raise DataError(f"{label}: EMG has shape {shape}; expected a 2-D array "
                        f"samples × muscles (n, {len(muscles)})")
    if not np.issubdtype(emg.dtype, np.number) or np.issubdtype(emg.dtype, np.complexfloating):
        raise DataError(f"{label}: EMG has dtype {emg.dtype}; expected real numbers")
    n_samples, n_columns = emg.shape
    if n_columns != len(muscles):
        hint = " (is it transposed? rows must be samples)" if n_samples == len(muscles) else ""
        raise DataError(f"{label}: EMG has {n_columns} columns but the dataset has {len(muscles)} "
                        f"muscles {list(muscles)}{hint}")
    if n_samples == 0:
        raise DataError(f"{label}: the trial is empty (0 samples)")
    if n_samples < min_duration * fs:
        raise DataError(f"{label}: the trial has {n_samples} samples ({n_samples / fs:.3g} s); a trial "
                        f"needs at least {min_duration:g} s ({math.ceil(min_duration * fs)} samples at {fs:g} Hz)")
    # max and min propagate NaN and show inf: two passes check finiteness and constancy.
    highest, lowest = emg.max(axis=0), emg.min(axis=0)
    if not (np.isfinite(highest).all() and np.isfinite(lowest).all()):
        column = int(np.flatnonzero(~(np.isfinite(highest) & np.isfinite(lowest)))[0])
        bad = np.flatnonzero(~np.isfinite(emg[:, column]))
        raise DataError(f"{label}, muscle {muscles[column]!r}: {bad.size} NaN or infinite sample(s), first at "
                        f"sample {bad[0]} (t = {bad[0] / fs:.3f} s); raw EMG must be finite, so fill or "
                        "cut the gap before loading")
    duration = n_samples / fs
    onset, offset = (float(trial.meta.get(key, math.nan)) for key in ("onset", "offset"))
    for key, value in (("onset", onset), ("offset", offset)):
        if math.isfinite(value) and not 0.0 <= value <= duration:
            raise DataError(f"{label}: {key} = {value:g} s lies outside the trial (0 to {duration:.3f} s)")
    if math.isfinite(onset) and math.isfinite(offset) and not onset < offset:
        raise DataError(f"{label}: onset {onset:g} s is not before offset {offset:g} s")
    constant = np.flatnonzero(highest == lowest)
    for column in constant:
        warnings.warn(f"{label}, muscle {muscles[column]!r}: the channel is constant ({emg[0, column]:g}) — "
                      "a disconnected electrode? Its envelope will be zero", DataWarning, stacklevel=3)


def validate_trials(trials: Sequence[Trial], muscles: Sequence[str], fs: float, participant: str) -> None:
    """Check a participant's trials: metadata, unique trial ids, and each trial's EMG."""
    if not trials:
        raise DataError(f"participant {participant!r} has no trials")
    seen: set[str] = set()
    for trial in trials:
        if not isinstance(trial, Trial):
            raise DataError(f"participant {participant!r}: expected Trial objects, got {type(trial).__name__}")
        missing = [key for key in REQUIRED_META if key not in trial.meta]
        if missing:
            raise DataError(f"{trial.label}: metadata lacks {missing}; every trial needs {list(REQUIRED_META)}")
        if str(trial.meta["participant"]) != participant:
            raise DataError(f"{trial.label}: belongs to participant {trial.meta['participant']!r}, "
                            f"not {participant!r}")
        repetition = trial.meta["repetition"]
        if isinstance(repetition, bool) or not isinstance(repetition, (int, np.integer)) or repetition < 1:
            raise DataError(f"{trial.label}: repetition {repetition!r} must be an integer from 1")
        name = str(trial.meta["trial"])
        if name in seen:
            raise DataError(f"{trial.label}: trial id {name!r} appears twice for participant {participant!r}")
        seen.add(name)
        validate_trial(trial, muscles, fs)


# --------------------------------------------------------------------------- readers


def sha256_of(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, as 64 hexadecimal digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", " ": "space", "|": "bar"}


def _delimiter_name(delimiter: str) -> str:
    return _DELIMITER_NAMES.get(delimiter, repr(delimiter))


def _split(line: str, delimiter: str) -> list[str]:
    fields = line.split(delimiter)
    if len(fields) > 1 and fields[-1].strip() == "":
        fields = fields[:-1]     # a trailing delimiter ends the line, it opens no column
    return [f.strip() for f in fields]


def _parse_rows(lines: list[str], first_line: int, delimiter: str, columns: Sequence[str],
                where: str) -> np.ndarray:
    """Numbers from text rows, each with ``len(columns)`` fields; errors name line and column.

    pandas' C parser reads a well-formed file (quoted fields included); only a file
    it cannot read as ``len(columns)`` numbers per line is split line by line
    here, to say which line and column is wrong.
    """
    expected = len(columns)
    try:
        frame = pd.read_csv(_io.StringIO("\n".join(lines)), sep=delimiter, header=None, dtype=float,
                            skipinitialspace=True, engine="c" if len(delimiter) == 1 else "python")
    except (ValueError, pd.errors.ParserError):
        frame = None
    if frame is not None:
        if frame.shape[1] == expected + 1 and frame.iloc[:, -1].isna().all():
            frame = frame.iloc[:, :-1]     # a trailing delimiter ends each line, it opens no column
        if frame.shape == (len(lines), expected) and not frame.isna().to_numpy().any():
            return frame.to_numpy()
    rows = [_split(line, delimiter) for line in lines]
    for number, fields in enumerate(rows):
        if len(fields) != expected:
            line_number = first_line + number
            if number == len(rows) - 1 and len(fields) < expected:
                raise DataError(f"{where}: the last line (line {line_number}) has {len(fields)} of {expected} "
                                "values; the file looks truncated (an interrupted copy or export?)")
            raise DataError(f"{where}: line {line_number} has {len(fields)} values, expected {expected} "
                            f"({_delimiter_name(delimiter)}-separated columns {list(columns)})")
    try:
        return np.asarray(rows, dtype=float).reshape(len(rows), expected)
    except ValueError:
        for number, fields in enumerate(rows):
            for column, value in zip(columns, fields):
                try:
                    float(value)
                except ValueError:
                    raise DataError(f"{where}: line {first_line + number}, column {column!r}: {value!r} is not "
                                    "a number; EMG columns must hold numbers only") from None
        raise


def _check_delimiter(line: str, delimiter: str, expected_columns: int | None, where: str) -> None:
    if len(_split(line, delimiter)) > 1 or expected_columns == 1:
        return
    others = [d for d in (",", "\t", ";", "|", " ") if d != delimiter and len(_split(line.strip(), d)) > 1]
    hint = f"; it looks {_delimiter_name(others[0])}-separated" if others else ""
    raise DataError(f"{where}: line {line[:60]!r} has a single column with the {_delimiter_name(delimiter)} "
                    f"delimiter{hint}. Pass the right delimiter (dataset-folder CSV files must be comma-separated)")


def _read_lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        text = path.read_text(encoding="latin-1")
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from exc
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def read_delimited(path: str | os.PathLike, *, delimiter: str = ",", header: bool = True,
                   skip_lines: int = 0, muscles: Sequence[str] | None = None,
                   ignore_columns: Sequence[str] = ("time",)) -> tuple[np.ndarray, tuple[str, ...]]:
    """Read EMG from delimited text (CSV, TSV, ...), one column per muscle.

    Parameters
    ----------
    path : path-like
        The file.
    delimiter : str
        Column separator (``","``, ``"\\t"``, ``";"``...). A file whose first
        line has a single column is refused with the delimiter it seems to use.
    header : bool
        Whether the first line (after ``skip_lines``) names the columns.
    skip_lines : int
        Lines to skip before the header or the data (e.g. an export's preamble).
    muscles : sequence of str, optional
        Expected muscle names, in order: with a header they are checked
        (columns listed in ``ignore_columns`` aside), without one they name the columns.
    ignore_columns : sequence of str
        Header names of non-EMG columns to drop (case-insensitive), e.g. time or frame.

    Returns
    -------
    emg : ndarray (n_samples × n_muscles)
    muscles : tuple of str

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "trial.csv"
    >>> _ = path.write_text("time,DeltA,DeltM\\n0.000,0.1,0.2\\n0.001,0.3,0.4\\n")
    >>> emg, names = read_delimited(path)
    >>> emg.shape, names
    ((2, 2), ('DeltA', 'DeltM'))
    """
    path = Path(path)
    where = f"file {path}"
    lines = _read_lines(path)[skip_lines:]
    if not lines:
        raise DataError(f"{where}: the file is empty (no header, no samples)")
    expected = None if muscles is None else len(muscles)
    if header:
        names = [n.strip() for n in next(csv.reader([lines[0]], delimiter=delimiter, skipinitialspace=True))]
        if len(names) > 1 and names[-1] == "":
            names = names[:-1]     # a trailing delimiter
        if expected is not None:
            expected += sum(n.lower() in {c.lower() for c in ignore_columns} for n in names)
        _check_delimiter(lines[0], delimiter, expected, where)
        data_lines, first_line = lines[1:], skip_lines + 2
    else:
        if muscles is None:
            raise DataError(f"{where}: a file without a header needs the muscle names (muscles=...)")
        _check_delimiter(lines[0], delimiter, expected, where)
        names, data_lines, first_line = list(muscles), lines, skip_lines + 1
    if not data_lines:
        raise DataError(f"{where}: the file has a header but no samples")
    table = _parse_rows(data_lines, first_line, delimiter, names, where)
    ignored = {c.lower() for c in ignore_columns}
    keep = [i for i, n in enumerate(names) if n.lower() not in ignored]
    found = check_muscle_names([names[i] for i in keep], where)
    if muscles is not None:
        check_same_muscles(found, muscles, where)
    return table[:, keep], found


def read_exp(path: str | os.PathLike, muscles: Sequence[str] | None = None
             ) -> tuple[np.ndarray, tuple[str, ...], float | None]:
    """Read a tab-separated ``.exp`` motion-capture EMG export.

    The export starts with a preamble of ``value<TAB>// description`` lines (one
    holds ``<rate><TAB>// Measurement rate``), then a header row
    ``Frame #<TAB>name...`` and one row per sample, each line ending in a tab.
    Files exported without the preamble and header hold the EMG columns alone;
    pass ``muscles`` to name them.

    Returns
    -------
    emg : ndarray (n_samples × n_muscles)
    muscles : tuple of str
    fs : float or None
        The measurement rate of the preamble (``None`` without a preamble).
    """
    path = Path(path)
    lines = _read_lines(path)
    where = f"file {path}"
    if not lines:
        raise DataError(f"{where}: the file is empty")
    first = _split(lines[0], "\t")[0]
    try:
        float(first)
        has_header = False
    except ValueError:
        has_header = True
    if not has_header:
        if muscles is None:
            raise DataError(f"{where}: the export has no header row; pass the muscle names (muscles=...)")
        emg, names = read_delimited(path, delimiter="\t", header=False, muscles=muscles)
        return emg, names, None
    fs = None
    header_row = None
    for number, line in enumerate(lines):
        if "measurement rate" in line.lower():
            try:
                fs = float(_split(line, "\t")[0])
            except ValueError:
                raise DataError(f"{where}, line {number + 1}: measurement rate {line!r} is not a number") from None
        if _split(line, "\t")[0].lower().startswith("frame"):
            header_row = number
            break
    if header_row is None:
        raise DataError(f"{where}: no header row starting with 'Frame #' was found after the preamble")
    emg, names = read_delimited(path, delimiter="\t", header=True, skip_lines=header_row, muscles=muscles,
                                ignore_columns=(_split(lines[header_row], "\t")[0],))
    return emg, names, fs


def read_c3d(path: str | os.PathLike, channels: Sequence[str] | None = None
             ) -> tuple[np.ndarray, tuple[str, ...], float, tuple[str, ...]]:
    """Read analog channels (e.g. EMG) from a C3D file with ezc3d.

    Parameters
    ----------
    path : path-like
    channels : sequence of str, optional
        Analog labels to keep, in this order (default: all).

    Returns
    -------
    emg : ndarray (n_samples × n_channels)
    labels : tuple of str
    fs : float
        Analog sampling rate in Hz.
    units : tuple of str
    """
    try:
        import ezc3d
    except ImportError:
        raise ImportError("reading C3D files needs the optional package ezc3d: "
                          "pip install 'synlib[formats]' (or pip install ezc3d)") from None
    path = Path(path)
    try:
        c3d = ezc3d.c3d(str(path))
    except Exception as exc:     # ezc3d raises bare RuntimeErrors for damaged files
        raise DataError(f"file {path}: not a readable C3D file ({exc})") from exc
    analog = c3d["parameters"]["ANALOG"]
    labels = tuple(str(label).strip() for label in analog["LABELS"]["value"])
    units = tuple(analog["UNITS"]["value"]) if "UNITS" in analog else ("",) * len(labels)
    fs = float(np.ravel(analog["RATE"]["value"])[0])
    data = np.asarray(c3d["data"]["analogs"])[0].T
    if channels is not None:
        missing = [c for c in channels if c not in labels]
        if missing:
            raise DataError(f"file {path}: analog channels {missing} not found; it has {list(labels)}")
        index = [labels.index(c) for c in channels]
        data, labels, units = data[:, index], tuple(channels), tuple(units[i] for i in index)
    return np.ascontiguousarray(data, dtype=float), labels, fs, units


def read_mat(path: str | os.PathLike, variable: str = "emg", *, muscles_variable: str | None = None,
             fs_variable: str | None = None, transpose: bool = False
             ) -> tuple[np.ndarray, tuple[str, ...] | None, float | None]:
    """Read EMG (and optionally muscle names and rate) from a MATLAB ``.mat`` file.

    Parameters
    ----------
    path : path-like
    variable : str
        Name of the samples × muscles matrix.
    muscles_variable, fs_variable : str, optional
        Names of a cell array of muscle names and of the sampling rate.
    transpose : bool
        Set when the matrix is stored muscles × samples.

    Returns
    -------
    emg, muscles (or None), fs (or None)

    Examples
    --------
    >>> import tempfile, pathlib, scipy.io
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "trial.mat"
    >>> scipy.io.savemat(path, {"emg": np.ones((5, 2)), "names": np.array(["A", "B"], dtype=object)})
    >>> emg, names, fs = read_mat(path, muscles_variable="names")
    >>> emg.shape, names, fs
    ((5, 2), ('A', 'B'), None)
    """
    import scipy.io

    path = Path(path)
    where = f"file {path}"
    try:
        content = scipy.io.loadmat(path, squeeze_me=True)
    except NotImplementedError:
        raise DataError(f"{where}: MATLAB v7.3 (HDF5) files are not read; save with -v7 in MATLAB "
                        "(save(file, 'emg', '-v7')) or convert with h5py") from None
    except Exception as exc:      # scipy raises several types for damaged files
        raise DataError(f"{where}: not a readable MATLAB file ({exc}); is it truncated?") from exc
    available = sorted(k for k in content if not k.startswith("__"))

    def get(name: str) -> Any:
        if name not in content:
            raise DataError(f"{where}: variable {name!r} not found; it has {available}")
        return content[name]

    emg = np.asarray(get(variable))
    if emg.ndim == 1:
        emg = emg[:, None]
    if emg.dtype == object or emg.ndim != 2:
        raise DataError(f"{where}: variable {variable!r} has shape {emg.shape} and dtype {emg.dtype}; "
                        "expected a numeric samples × muscles matrix")
    emg = emg.T if transpose else emg
    names = None
    if muscles_variable is not None:
        names = check_muscle_names([str(n) for n in np.atleast_1d(get(muscles_variable))], where)
    fs = float(get(fs_variable)) if fs_variable is not None else None
    return np.ascontiguousarray(emg, dtype=float), names, fs


# --------------------------------------------------------------------------- dataset folders

METADATA_FILE = "dataset.yml"
TRIALS_FILE = "trials.csv"
TRUTH_SYNERGIES_FILE = "truth_synergies.npz"
TRIAL_FILE_FORMATS = (".csv", ".npy", ".npz", ".mat")
_METADATA_REQUIRED = ("name", "sampling_rate", "muscles")
_METADATA_OPTIONAL = ("units", "licence", "citation", "description", "info")
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
    if not isinstance(metadata, dict):
        raise DataError(f"file {path}: expected a mapping with keys {list(_METADATA_REQUIRED)}")
    if "license" in metadata and "licence" not in metadata:
        metadata["licence"] = metadata.pop("license")
    missing = [k for k in _METADATA_REQUIRED if k not in metadata]
    unknown = sorted(set(metadata) - set(_METADATA_REQUIRED) - set(_METADATA_OPTIONAL))
    if missing or unknown:
        raise DataError(f"file {path}: " + "; ".join(part for part in (
            f"missing key(s) {missing}" if missing else "",
            f"unknown key(s) {unknown} (put free-form entries under 'info:')" if unknown else "") if part)
            + f". Allowed keys: {list(_METADATA_REQUIRED + _METADATA_OPTIONAL)}")
    try:
        metadata["sampling_rate"] = float(metadata["sampling_rate"])
    except (TypeError, ValueError):
        raise DataError(f"file {path}: sampling_rate {metadata['sampling_rate']!r} must be a number of Hz") from None
    if not isinstance(metadata["muscles"], list):
        raise DataError(f"file {path}: muscles must be a list of names, got {metadata['muscles']!r}")
    metadata["muscles"] = check_muscle_names(metadata["muscles"], f"file {path}")
    if not isinstance(metadata.get("info", {}), dict):
        raise DataError(f"file {path}: info must be a mapping")
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
        A :class:`Dataset` (participants written one at a time), or trials: each a
        :class:`Trial` or a dict with ``emg`` (samples × muscles), optional
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
