"""What fitting a study's participants gives, whichever the extractor.

Both extractors have one entry point of one shape,
``fit_participants(envelopes, *, participants=None, test_repetitions=None, device=..., ...)``
(:func:`synlib.nmf.fit_participants`, :func:`synlib.autoencoder.study.fit_participants`),
which holds out repetitions by the one rule of
:func:`synlib.preprocess.envelopes.held_out_repetitions` (:func:`split_participants`)
and returns a :class:`StudyFit`: a table with one row per participant × rank ×
seed, the arrays a chapter saves, the fitted models and the held-out rows.
NMF's adds the rank selection (:class:`NMFStudyFit`).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["StudyFit", "NMFStudyFit", "split_participants", "shares_study_parameters"]

# The numpydoc entries of the parameters every fit_participants takes, written once.
STUDY_PARAMETERS = """\
envelopes : synlib.preprocess.envelopes.Envelopes
    The study's envelopes.
participants : list of str, optional
    Participants to fit, in order (default: all of ``envelopes``).
test_repetitions : int, list of int or None
    Held-out repetitions; ``None`` = :func:`synlib.preprocess.envelopes.held_out_repetitions`
    (the last one; none for single-repetition data, whose test columns are then NaN)."""


def shares_study_parameters(function):
    """Write the shared ``STUDY_PARAMETERS`` text into ``function``'s docstring where it says ``{study_parameters}``."""
    placeholder = "    {study_parameters}"
    if function.__doc__ is None:  # python -OO strips docstrings
        return function
    if placeholder not in (function.__doc__ or ""):
        raise ValueError(f"{function.__qualname__}: its docstring has no line {placeholder.strip()!r}")
    function.__doc__ = function.__doc__.replace(placeholder, textwrap.indent(STUDY_PARAMETERS, "    "))
    return function


@dataclass
class StudyFit:
    """The fits of one extractor (NMF, or one autoencoder activation pair) to a study's participants.

    Attributes
    ----------
    table : DataFrame
        One row per participant × rank × seed, with the columns of the extractor's fits table
        (``nmf_fits`` or ``ae_fits_<encoder>_<decoder>`` in :mod:`synlib.schema`).
    arrays : dict of str to ndarray
        :func:`synlib.schema.fit_key` → array: the content of the extractor's NPZ archive.
    models : dict of (str, int, int) to estimator
        The fitted models by (participant, rank, seed).
    test_repetitions : list of int
        The repetitions held out (empty for single-repetition data: the test columns are NaN).
    test_rows : dict of str to DataFrame
        Each participant's held-out rows, in the order of the ``*_test`` arrays.
    """

    table: pd.DataFrame
    arrays: dict
    models: dict
    test_repetitions: list[int]
    test_rows: dict[str, pd.DataFrame] = field(default_factory=dict)


@dataclass
class NMFStudyFit(StudyFit):
    """A :class:`StudyFit` of NMF, with the rank selection that chose which ranks were fitted.

    Attributes
    ----------
    ranks : DataFrame
        :func:`synlib.ranks.rank_table` of the study (``nmf_ranks.csv``): which rank each rule picked.
    curve : DataFrame
        Every participant's rank sweep (``nmf_rank_curve.csv``).
    sweeps : dict of str to RankSweep
        The :class:`synlib.nmf.RankSweep` of each participant.
    """

    ranks: pd.DataFrame = field(default_factory=pd.DataFrame)
    curve: pd.DataFrame = field(default_factory=pd.DataFrame)
    sweeps: dict = field(default_factory=dict)

    def headline(self) -> pd.DataFrame:
        """The rows of ``table`` at each participant's headline rank."""
        from synlib.ranks import headline_ranks

        k = headline_ranks(self.ranks)
        return self.table[self.table["k"] == self.table["participant"].map(k)].reset_index(drop=True)


def split_participants(envelopes, participants=None, test_repetitions=None) -> tuple[list[int], dict]:
    """The held-out repetitions and each participant's (train, test) envelopes.

    ``participants`` defaults (``None`` or empty) to all of ``envelopes`` (in their order);
    ``test_repetitions`` to :func:`synlib.preprocess.envelopes.held_out_repetitions`. A participant
    who lacks a held-out repetition is refused by name.
    """
    held_out = envelopes.held_out(test_repetitions)
    chosen = list(participants) if participants else envelopes.participants
    splits = {}
    for participant in chosen:
        try:
            splits[participant] = envelopes.select(participant).split(held_out)
        except ValueError as exc:
            raise ValueError(f"participant {participant!r}: {exc}") from None
    return held_out, splits
