"""Preprocessing: from raw EMG to the normalised envelopes the extractors take.

- :mod:`synlib.preprocess.steps`: small signal-processing steps over samples × muscles arrays;
- :mod:`synlib.preprocess.segment`: movements and cycle phases of a trial;
- :class:`PreprocessConfig`: every choice, with the authors' group's defaults;
- :mod:`synlib.preprocess.chain`: the named steps a configuration builds, which a fork extends;
- :func:`preprocess`: a dataset, participant by participant, into :class:`Envelopes`;
- :func:`envelope_recovery`: on simulated data, how well the true envelopes are recovered;
- :func:`detection_errors`: how far detected movement onsets and offsets are from known ones.
"""

from synlib.preprocess.config import PreprocessConfig
from synlib.preprocess.envelopes import Envelopes
from synlib.preprocess.segment import detection_errors
from synlib.preprocess.pipeline import (
    PreprocessWarning,
    TrialEnvelope,
    concatenate,
    envelope_recovery,
    preprocess,
    preprocess_participant,
    process_trial,
    trace_trial,
)

__all__ = [
    "Envelopes",
    "PreprocessConfig",
    "PreprocessWarning",
    "TrialEnvelope",
    "concatenate",
    "detection_errors",
    "envelope_recovery",
    "preprocess",
    "preprocess_participant",
    "process_trial",
    "trace_trial",
]
