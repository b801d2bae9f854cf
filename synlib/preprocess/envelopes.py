"""The matrix the synergy extractors take, with a tidy table of what each row is."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
import pandas as pd

from synlib import schema

def _without_padding(values: np.ndarray) -> np.ndarray:
    """``values`` without the trailing columns that are NaN in every row (the padding of narrower truth)."""
    if values.ndim != 2 or not len(values) or not np.isnan(values[:, -1]).all():
        return values
    padded = np.isnan(values).all(axis=0)
    width = len(padded) - int(np.argmin(padded[::-1])) if not padded.all() else 0
    return values[:, :width]


def _repetition_list(repetitions) -> list[int]:
    return [int(repetitions)] if np.isscalar(repetitions) else [int(r) for r in repetitions]


def held_out_repetitions(repetitions, test_repetitions=None) -> list[int]:
    """The one held-out rule of every chapter and extractor: ``test_repetitions`` as a list, or by
    default the last repetition (the group's 10th of 10), and none when there is only one: then
    every repetition trains and the test columns of the results stay empty (NaN).

    Examples
    --------
    >>> held_out_repetitions([1, 2, 3]), held_out_repetitions([1]), held_out_repetitions([1, 2], 1)
    ([3], [], [1])
    """
    if test_repetitions is not None:
        return _repetition_list(test_repetitions)
    repetitions = sorted(set(_repetition_list(repetitions)))
    return [repetitions[-1]] if len(repetitions) > 1 else []


_ROW_DTYPES = {"participant": str, "trial": str, "condition": str, "plane": str, "phase": str}


@dataclass
class Envelopes:
    """Preprocessed envelopes of a dataset: rows × muscles plus a row table.

    Attributes
    ----------
    X : ndarray of shape (n_rows, n_muscles)
        Float64; non-negative after the default preprocessing.
    rows : DataFrame
        One row per row of ``X``: participant, trial, condition, target, plane,
        repetition, segment (movement or cycle number within the trial), phase,
        time (normalised 0..1 within the phase), and the trials' other scalar
        metadata.
    muscles : tuple of str
    truth : dict of str to ndarray
        Simulated data only, aligned with ``X``'s rows: ``envelope``, ``phasic``
        (rows × muscles) and ``activations`` (rows × k; with participants of
        different k, NaN-padded to the largest, and :meth:`select` drops the
        columns that are padding in every selected row); empty for real data.
    true_synergies : dict of str to ndarray
        Participant → k × muscles (simulated data only).
    amplitude_scale : dict of str to ndarray
        Participant → the per-muscle divisor of the amplitude normalisation
        (empty when amplitude is not normalised per participant).
    preprocessing : list of dict
        The steps that made these envelopes, in order: ``stage`` (``trial`` or
        ``participant``), ``step`` (its name) and ``parameters`` (JSON); written
        beside them as ``preprocess_steps.csv`` (empty when not recorded).

    :func:`synlib.results.save_envelopes` and :func:`~synlib.results.load_envelopes`
    write and read them in a study's results folder.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rows = pd.DataFrame({"participant": ["p1", "p1", "p2"], "repetition": [1, 2, 1]})
    >>> env = Envelopes(np.eye(3)[:, :2], rows, ("a", "b"))
    >>> env.participants, env.select("p1").X.shape
    (['p1', 'p2'], (2, 2))
    """

    X: np.ndarray
    rows: pd.DataFrame
    muscles: tuple[str, ...]
    truth: dict[str, np.ndarray] = field(default_factory=dict)
    true_synergies: dict[str, np.ndarray] = field(default_factory=dict)
    amplitude_scale: dict[str, np.ndarray] = field(default_factory=dict)
    preprocessing: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.X = np.asarray(self.X, dtype=np.float64)
        self.muscles = tuple(str(m) for m in self.muscles)
        self.rows = self.rows.reset_index(drop=True)
        if self.X.ndim != 2 or self.X.shape[1] != len(self.muscles):
            raise ValueError(f"X has shape {self.X.shape}; expected rows × {len(self.muscles)} muscles")
        if len(self.rows) != self.X.shape[0]:
            raise ValueError(f"row table has {len(self.rows)} rows but X has {self.X.shape[0]}")
        for name, values in self.truth.items():
            if len(values) != self.X.shape[0]:
                raise ValueError(f"truth {name!r} has {len(values)} rows but X has {self.X.shape[0]}")

    def __repr__(self) -> str:
        return (f"Envelopes({self.X.shape[0]} rows × {len(self.muscles)} muscles, "
                f"{len(self.participants)} participant(s), truth={sorted(self.truth)})")

    @property
    def participants(self) -> list[str]:
        """Participants in the order of their first row."""
        return list(pd.unique(self.rows["participant"].astype(str)))

    def select(self, participant: str | None = None, mask: np.ndarray | None = None) -> "Envelopes":
        """The rows of one participant and/or those where ``mask`` is true."""
        keep = np.ones(len(self.rows), dtype=bool)
        if participant is not None:
            if participant not in self.participants:
                raise KeyError(f"participant {participant!r} has no rows; there are {', '.join(self.participants)}")
            keep &= (self.rows["participant"].astype(str) == str(participant)).to_numpy()
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != keep.shape:
                raise ValueError(f"mask has shape {mask.shape}; expected ({len(self.rows)},)")
            keep &= mask
        chosen = set(self.rows.loc[keep, "participant"].astype(str))
        return Envelopes(
            X=self.X[keep], rows=self.rows.loc[keep], muscles=self.muscles,
            truth={k: _without_padding(v[keep]) for k, v in self.truth.items()},
            true_synergies={p: w for p, w in self.true_synergies.items() if p in chosen},
            amplitude_scale={p: s for p, s in self.amplitude_scale.items() if p in chosen},
            preprocessing=list(self.preprocessing),
        )

    def held_out(self, test_repetitions=None) -> list[int]:
        """:func:`held_out_repetitions` of these envelopes' repetitions."""
        return held_out_repetitions(self.rows["repetition"], test_repetitions)

    def split(self, test_repetitions: int | Iterable[int]) -> tuple["Envelopes", "Envelopes"]:
        """(train, test): the rows of the repetitions in ``test_repetitions`` form the test set
        (empty when ``test_repetitions`` is an empty list: single-repetition data)."""
        wanted = set(_repetition_list(test_repetitions))
        present = set(self.rows["repetition"].astype(int))
        absent = sorted(wanted - present)
        if absent:
            raise ValueError(f"test repetitions {sorted(wanted)} not all present; repetitions are {sorted(present)}")
        if wanted >= present:
            raise ValueError(f"test repetitions {sorted(wanted)} leave no repetition to train on")
        test = self.rows["repetition"].astype(int).isin(wanted).to_numpy()
        return self.select(mask=~test), self.select(mask=test)

    # ------------------------------------------------------------------ plain parts (files: synlib.results)
    def to_parts(self) -> tuple[dict[str, np.ndarray], pd.DataFrame, pd.DataFrame]:
        """(arrays, row table, steps table): what :func:`synlib.results.save_envelopes` writes."""
        arrays = {"X": self.X, "muscles": np.array(self.muscles, dtype=str)}
        arrays.update({f"truth.{k}": v for k, v in self.truth.items()})
        arrays.update({f"{p}.true_synergies": w for p, w in self.true_synergies.items()})
        arrays.update({f"{p}.amplitude_scale": s for p, s in self.amplitude_scale.items()})
        return arrays, self.rows, pd.DataFrame(self.preprocessing, columns=schema.TABLES["preprocess_steps"].names)

    @classmethod
    def from_parts(cls, arrays: dict[str, np.ndarray], rows: pd.DataFrame, steps: pd.DataFrame) -> "Envelopes":
        """The inverse of :meth:`to_parts`, with the row table's columns given back their types."""
        arrays, rows = dict(arrays), rows.copy()
        for column, dtype in _ROW_DTYPES.items():
            if column in rows:
                rows[column] = rows[column].fillna("").astype(dtype)
        if "target" in rows:
            rows["target"] = rows["target"].astype("Int64")
        return cls(
            X=arrays.pop("X"), rows=rows, muscles=tuple(arrays.pop("muscles").tolist()),
            truth={k.split(".", 1)[1]: v for k, v in arrays.items() if k.startswith("truth.")},
            true_synergies={k.rsplit(".", 1)[0]: v for k, v in arrays.items() if k.endswith(".true_synergies")},
            amplitude_scale={k.rsplit(".", 1)[0]: v for k, v in arrays.items() if k.endswith(".amplitude_scale")},
            preprocessing=steps.fillna("").to_dict("records"),
        )
