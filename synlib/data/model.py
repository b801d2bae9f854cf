"""The in-memory dataset model shared by every data source: :class:`Dataset` and :class:`Trial`.

A :class:`Dataset` describes a recording session set (muscles, sampling rate,
participants) and hands out :class:`Trial` objects one participant at a time,
so that a cohort larger than memory can be processed participant by
participant. Bad input is rejected when it is loaded, before any computation,
with a :class:`DataError` whose message names the file, participant, trial and
muscle at fault and what is allowed.
"""

from __future__ import annotations

import hashlib
import math
import os
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "DataError",
    "DataWarning",
    "Dataset",
    "MIN_TRIAL_SECONDS",
    "REQUIRED_META",
    "Trial",
    "check_muscle_names",
    "check_same_muscles",
    "check_sampling_rate",
    "sha256_of",
    "validate_trial",
    "validate_trials",
]

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
    synlib.data.model.DataError: dataset 'x': sampling rate 500 Hz is too low for a 450 Hz cutoff; ...
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
