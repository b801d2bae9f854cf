"""The in-memory dataset model shared by every data source.

A :class:`Dataset` describes a recording session set (muscles, sampling rate,
participants) and hands out :class:`Trial` objects one participant at a time,
so that a cohort larger than memory can be processed participant by
participant. Readers for files and the simulated cohort all produce this form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

REQUIRED_META = ("participant", "trial", "condition", "repetition")


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
    """

    emg: np.ndarray
    meta: Mapping[str, Any]
    source: str = ""
    truth: Mapping[str, np.ndarray] | None = None

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

    def __post_init__(self) -> None:
        self.muscles = tuple(self.muscles)
        self.participants = list(self.participants)

    def trials(self, participant: str) -> list[Trial]:
        """All trials of ``participant``."""
        if participant not in self.participants:
            raise KeyError(
                f"participant {participant!r} is not in dataset {self.name!r}; "
                f"it has {', '.join(map(str, self.participants))}"
            )
        return self.load_participant(participant)

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
        )

    def trial_table(self) -> pd.DataFrame:
        """Tidy table with one row per trial (loads every participant in turn)."""
        rows = []
        for participant in self.participants:
            for trial in self.trials(participant):
                row = {k: v for k, v in trial.meta.items() if k != "events"}
                row["n_samples"] = trial.emg.shape[0]
                row["source"] = trial.source
                rows.append(row)
        return pd.DataFrame(rows)
