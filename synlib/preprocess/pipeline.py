"""From a :class:`~synlib.data.model.Dataset` of raw EMG to :class:`Envelopes`.

:func:`process_trial` runs the named steps of a :class:`PreprocessConfig` on one
trial (filter → rectify → envelope → downsample → segment → tonic removal → time
normalisation; :mod:`synlib.preprocess.chain` builds them); :func:`preprocess` does so participant by participant (one
participant in memory at a time), normalises amplitude across each participant's
trials and concatenates the rows. Simulated ground truth travels through the same
segmentation and time normalisation (not through the filters), so that its rows
line up with ``X``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from synlib.data import Dataset, Trial
from synlib.preprocess import segment as seg
from synlib.preprocess import steps
from synlib.preprocess.chain import PreprocessWarning, TrialSignal, build_steps, check_steps, describe, record
from synlib.preprocess.config import PreprocessConfig
from synlib.preprocess.envelopes import Envelopes
from synlib.progress import progress as progress_bar

#: Trial metadata that describe timing, not the row, and stay out of the row table.
_TIMING_META = {"onset", "offset", "events"}


@dataclass
class TrialEnvelope:
    """One trial after preprocessing.

    ``X`` holds the time-normalised rows (before per-participant amplitude
    normalisation), ``rows`` their description, ``truth`` the simulated truth on
    the same rows, ``segments`` the spans used and ``steps`` (when asked for) every
    intermediate signal as ``name -> (times_s, samples × muscles)``.
    """

    X: np.ndarray
    row_columns: dict[str, np.ndarray]
    truth: dict[str, np.ndarray]
    segments: list[seg.Segment]
    steps: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @property
    def rows(self) -> pd.DataFrame:
        """What each row of ``X`` is (participant, trial, …, phase, time)."""
        return _rows_frame([self.row_columns])


def _check_raw(trial: Trial, muscles, where: str) -> np.ndarray:
    emg = np.asarray(trial.emg, dtype=float)
    if emg.ndim != 2 or emg.shape[1] != len(muscles):
        raise ValueError(f"EMG of {where} has shape {emg.shape}; expected samples × {len(muscles)} muscles")
    bad = ~np.isfinite(emg).all(axis=0)
    if bad.any():
        raise ValueError(f"EMG of {where} holds NaN or infinite values in muscle(s) "
                         f"{[muscles[j] for j in np.flatnonzero(bad)]}")
    flat = np.ptp(emg, axis=0) == 0
    for j in np.flatnonzero(flat):
        warnings.warn(f"muscle {muscles[j]!r} is flat (constant {emg[0, j]:g}) in {where}: its envelope is zero",
                      PreprocessWarning, stacklevel=3)
    return emg


def _row_columns(meta, segments: list[seg.Segment]) -> dict[str, np.ndarray]:
    n_rows = sum(s.n_points for s in segments)
    target = meta.get("target")
    constant = {
        "participant": str(meta["participant"]), "trial": str(meta["trial"]),
        "condition": str(meta.get("condition", "")),
        "target": pd.NA if target is None or (isinstance(target, float) and np.isnan(target)) else int(target),
        "plane": str(meta.get("plane") or ""), "repetition": int(meta.get("repetition", 1)),
    }
    columns = {name: np.full(n_rows, value, dtype=object if isinstance(value, str) or value is pd.NA else None)
               for name, value in constant.items()}
    columns["segment"] = np.repeat([s.index for s in segments], [s.n_points for s in segments])
    columns["phase"] = np.repeat(np.array([s.phase for s in segments], dtype=object), [s.n_points for s in segments])
    columns["time"] = np.concatenate([np.linspace(0.0, 1.0, s.n_points) for s in segments])
    # where each segment was cut (s from the trial's start), to compare a detected onset with a known one
    columns["segment_start"] = np.repeat([s.start for s in segments], [s.n_points for s in segments])
    columns["segment_end"] = np.repeat([s.end for s in segments], [s.n_points for s in segments])
    for name, value in meta.items():
        if name not in _TIMING_META and name not in columns and np.isscalar(value):
            columns[name] = np.full(n_rows, value)
    return columns


def _rows_frame(columns: list[dict[str, np.ndarray]]) -> pd.DataFrame:
    names = list(dict.fromkeys(name for c in columns for name in c))
    frame = pd.DataFrame({
        name: np.concatenate([c[name] if name in c else np.full(len(c["time"]), None) for c in columns])
        for name in names
    })
    frame["target"] = frame["target"].astype("Int64")
    return frame


def process_trial(trial: Trial, fs: float, config: PreprocessConfig | None = None, muscles=None,
                  keep_steps: bool = False, scale=None, chain=None) -> TrialEnvelope:
    """Run the steps of ``config`` (or ``chain``) on one trial.

    Parameters
    ----------
    trial : Trial
    fs : float
        Sampling rate of ``trial.emg`` (Hz).
    config : PreprocessConfig, optional
        Defaults to ``PreprocessConfig()``.
    muscles : sequence of str, optional
        Names used in messages (default: ``muscle 1`` …).
    keep_steps : bool
        Also return every intermediate signal in ``steps`` (for figures).
    scale : array of shape (n_muscles,), optional
        Per-muscle divisor giving the ``"normalised"`` step (e.g. a participant's
        ``Envelopes.amplitude_scale``) when ``keep_steps``.
    chain : list of steps, optional
        The steps to run (default :func:`synlib.preprocess.chain.build_steps` of ``config``),
        e.g. with a step of a fork's own put in by :func:`~synlib.preprocess.chain.insert_step`.

    Examples
    --------
    >>> import numpy as np
    >>> from synlib.data import Trial
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(3000) / 1000
    >>> burst = 0.2 + np.exp(-((t - 1.5) / 0.2) ** 2)
    >>> emg = rng.standard_normal((3000, 2)) * burst[:, None]
    >>> meta = {"participant": "p1", "trial": "t1", "condition": "c", "repetition": 1,
    ...         "onset": 1.0, "offset": 2.0}
    >>> out = process_trial(Trial(emg, meta), 1000)
    >>> out.X.shape, list(out.rows.columns[:4])
    ((100, 2), ['participant', 'trial', 'condition', 'target'])
    """
    config = config or PreprocessConfig()
    chain = build_steps(config) if chain is None else chain
    where = trial.label
    n_muscles = np.shape(trial.emg)[1] if np.ndim(trial.emg) == 2 else 0
    muscles = tuple(muscles) if muscles is not None else tuple(f"muscle {j + 1}" for j in range(n_muscles))
    raw = _check_raw(trial, muscles, where)
    raw_times = np.arange(raw.shape[0]) / fs
    signal = TrialSignal(x=raw, times=raw_times, trial=trial, fs=fs, muscles=muscles, where=where,
                         duration=raw.shape[0] / fs, trace={} if keep_steps else None)
    signal.keep("raw")
    for step in chain:
        if step.name == "time_normalise" and keep_steps and scale is not None:
            signal.keep("normalised", steps.divide_by(signal.x, scale, muscles, where))
        step.apply(signal)
        if getattr(step, "trace", None):
            signal.keep(step.trace)
    segments = signal.segments
    X = signal.x
    truth = {
        name: np.concatenate([steps.time_normalise(values, raw_times, s.start, s.end, s.n_points,
                                                   f"truth {name!r} of {where}") for s in segments])
        for name, values in (trial.truth or {}).items()
    }
    return TrialEnvelope(X=X, row_columns=_row_columns(trial.meta, segments), truth=truth, segments=segments,
                         steps=signal.trace or {})


def trace_trial(dataset: Dataset, participant: str | None = None, trial: str | None = None,
                config: PreprocessConfig | None = None, scale=None, chain=None) -> TrialEnvelope:
    """Every step of one trial of ``dataset``, for figures.

    ``participant`` defaults to the first, ``trial`` to that participant's first
    trial; ``scale`` (e.g. ``envelopes.amplitude_scale[participant]``) adds the
    ``"normalised"`` step; ``chain`` as in :func:`process_trial`.
    """
    participant = dataset.participants[0] if participant is None else str(participant)
    trials = dataset.trials(participant)
    if trial is None:
        chosen = trials[0]
    else:
        matches = [t for t in trials if str(t.meta["trial"]) == str(trial)]
        if not matches:
            names = [str(t.meta["trial"]) for t in trials]
            shown = ", ".join(names[:10]) + (", …" if len(names) > 10 else "")
            raise KeyError(f"trial {trial!r} is not a trial of participant {participant!r}; it has {shown}")
        chosen = matches[0]
    return process_trial(chosen, dataset.fs, config, dataset.muscles, keep_steps=True, scale=scale, chain=chain)


def _participant_scale(X, config: PreprocessConfig, muscles) -> np.ndarray | None:
    if config.amplitude_norm == "participant_max":
        return X.max(axis=0)
    if config.amplitude_norm == "reference":
        return np.array([config.reference[m] for m in muscles])
    return None


def _average_repetitions(X, rows: pd.DataFrame, truth: dict) -> tuple[np.ndarray, pd.DataFrame, dict]:
    keys = ["participant", "condition", "segment", "phase", "time"]
    position = rows.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
    counts = np.bincount(position)

    def mean(values):
        out = np.zeros((counts.size, values.shape[1]))
        np.add.at(out, position, values)
        return out / counts[:, None]

    first = rows.groupby(keys, sort=False, dropna=False).head(1).copy()
    first["trial"] = "mean of " + first["condition"].astype(str)
    first["repetition"] = 0
    return mean(X), first.reset_index(drop=True), {k: mean(v) for k, v in truth.items()}


def _truth_in_units_of_x(truth: dict, synergies, scale: np.ndarray) -> tuple[dict, np.ndarray | None]:
    """Express the simulated truth in the amplitude units of the normalised envelopes.

    Dividing muscle j by ``scale[j]`` turns the true synergy rows w into w / scale;
    rescaled to unit norm (factor n), their activations grow by n so that
    activations @ synergies still equals the (divided) true phasic envelope.
    """
    scaled = {k: (v / scale if k in ("envelope", "phasic") else v) for k, v in truth.items()}
    if synergies is None:
        return scaled, None
    divided = np.asarray(synergies, float) / scale
    norms = np.linalg.norm(divided, axis=1)
    norms[norms == 0] = 1.0
    if "activations" in scaled:
        scaled["activations"] = scaled["activations"] * norms
    return scaled, divided / norms[:, None]


def participant_steps(config: PreprocessConfig) -> list[dict]:
    """The records of the steps that run over a participant's trials together (after the trial steps)."""
    records = []
    if config.amplitude_norm in ("participant_max", "reference"):
        parameters = {"reference": config.reference} if config.amplitude_norm == "reference" else {}
        records.append(record("participant", config.amplitude_norm, parameters))
    if config.average_repetitions:
        records.append(record("participant", "average_repetitions", {}))
    return records


def preprocess_participant(dataset: Dataset, participant: str, config: PreprocessConfig | None = None,
                           chain=None) -> Envelopes:
    """Preprocess every trial of one participant and normalise amplitude across them.

    ``chain`` is the list of trial steps (default: those of ``config``); the
    envelopes record the steps applied (their ``preprocessing``).
    """
    config = config or PreprocessConfig()
    chain = build_steps(config) if chain is None else list(chain)
    check_steps(chain)
    outputs = [process_trial(trial, dataset.fs, config, dataset.muscles, chain=chain)
               for trial in dataset.trials(participant)]
    if not outputs:
        raise ValueError(f"participant {participant!r} of dataset {dataset.name!r} has no trials")
    X = np.concatenate([o.X for o in outputs])
    rows = _rows_frame([o.row_columns for o in outputs])
    with_truth = [bool(o.truth) for o in outputs]
    if any(with_truth) and not all(with_truth):
        raise ValueError(f"only some trials of participant {participant!r} carry ground truth")
    truth = {k: np.concatenate([o.truth[k] for o in outputs]) for k in outputs[0].truth}
    where = f"participant {participant!r} of dataset {dataset.name!r}"
    scale = _participant_scale(X, config, dataset.muscles)
    synergies = dataset.truth_synergies(participant) if dataset.truth_synergies is not None else None
    if scale is not None:
        X = steps.divide_by(X, scale, dataset.muscles, where)
        truth, synergies = _truth_in_units_of_x(truth, synergies, scale)
    if config.average_repetitions:
        X, rows, truth = _average_repetitions(X, rows, truth)
    return Envelopes(X=X, rows=rows, muscles=dataset.muscles, truth=truth,
                     true_synergies={participant: np.asarray(synergies)} if synergies is not None else {},
                     amplitude_scale={participant: scale} if scale is not None else {},
                     preprocessing=describe(chain) + participant_steps(config))


def check(dataset: Dataset, config: PreprocessConfig) -> None:
    """Raise before any computation if ``config`` cannot run on ``dataset``."""
    config.check_rate(dataset.fs, f"dataset {dataset.name!r}")
    if config.amplitude_norm == "reference":
        missing = [m for m in dataset.muscles if m not in config.reference]
        if missing:
            raise ValueError(f"reference values missing for muscle(s) {missing} of dataset {dataset.name!r}")


def concatenate(parts: list[Envelopes]) -> Envelopes:
    """Stack the rows of several :class:`Envelopes` with the same muscles."""
    if not parts:
        raise ValueError("nothing to concatenate")
    muscles = parts[0].muscles
    for part in parts[1:]:
        if part.muscles != muscles:
            raise ValueError(f"muscles differ: {part.muscles} against {muscles}")
    keys = set(parts[0].truth)
    if any(set(p.truth) != keys for p in parts):
        raise ValueError("only some participants carry ground truth")
    for name in keys - {"activations"}:
        widths = sorted({p.truth[name].shape[1] for p in parts})
        if len(widths) > 1:
            raise ValueError(f"truth {name!r} differs in width across participants: {widths}")
    return Envelopes(
        X=np.concatenate([p.X for p in parts]),
        rows=pd.concat([p.rows for p in parts], ignore_index=True),
        muscles=muscles,
        truth={k: _stack_columns([p.truth[k] for p in parts]) for k in keys},
        true_synergies={k: v for p in parts for k, v in p.true_synergies.items()},
        amplitude_scale={k: v for p in parts for k, v in p.amplitude_scale.items()},
        preprocessing=_same_steps(parts),
    )


def _same_steps(parts: list[Envelopes]) -> list[dict]:
    first = parts[0].preprocessing
    for part in parts[1:]:
        if part.preprocessing != first:
            raise ValueError(f"participants {parts[0].participants} and {part.participants} were preprocessed "
                             "with different steps; concatenate envelopes of one preprocessing only")
    return first


def _stack_columns(arrays: list[np.ndarray]) -> np.ndarray:
    """Rows of ``arrays`` stacked; narrower ones padded with NaN columns on the right.

    Participants of a simulated cohort may have different numbers of true
    synergies, so their true activations differ in width;
    :meth:`Envelopes.select` drops the padding again.
    """
    width = max(a.shape[1] for a in arrays)
    return np.concatenate([np.pad(a.astype(float), ((0, 0), (0, width - a.shape[1])), constant_values=np.nan)
                           if a.shape[1] < width else a for a in arrays])


def preprocess(dataset: Dataset, config: PreprocessConfig | dict | None = None, progress: bool = True,
               chain=None) -> Envelopes:
    """Preprocess every participant of ``dataset`` into one :class:`Envelopes`.

    Participants are processed one at a time, so memory holds one participant's
    raw trials. The progress bar is hidden when stderr is not a terminal or the
    ``CI`` environment variable is set.

    Parameters
    ----------
    dataset : Dataset
    config : PreprocessConfig or dict, optional
        A configuration, or a dict of overrides for :meth:`~synlib.preprocess.config.PreprocessConfig.from_dict`.
    progress : bool
        Show a progress bar over participants.
    chain : list of steps, optional
        The trial steps to run instead of those of ``config`` (:mod:`synlib.preprocess.chain`).

    Examples
    --------
    >>> import numpy as np
    >>> from synlib.data import Dataset, Trial
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(3000) / 1000
    >>> burst = 0.2 + np.exp(-((t - 1.5) / 0.2) ** 2)
    >>> def load(p):
    ...     return [Trial(rng.standard_normal((3000, 2)) * burst[:, None],
    ...                   {"participant": p, "trial": f"t{r}", "condition": "c", "repetition": r,
    ...                    "onset": 1.0, "offset": 2.0}) for r in (1, 2)]
    >>> data = Dataset("demo", 1000, ["a", "b"], ["p1"], load)
    >>> env = preprocess(data, progress=False)
    >>> env.X.shape, float(env.X.max())
    ((200, 2), 1.0)
    """
    if not isinstance(config, PreprocessConfig):
        config = PreprocessConfig.from_dict(config)
    check(dataset, config)
    chain = build_steps(config) if chain is None else list(chain)
    check_steps(chain)
    parts = [preprocess_participant(dataset, participant, config, chain)
             for participant in progress_bar(dataset.participants, enabled=progress, desc="preprocess",
                                             unit="participant")]
    return concatenate(parts)


def envelope_recovery(envelopes: Envelopes, truth: str = "phasic") -> pd.DataFrame:
    """Pearson r between preprocessed and true envelopes, per participant and muscle.

    Computed over all rows of a participant, for each muscle. Only simulated data
    carry the truth.

    Returns
    -------
    DataFrame with columns participant, muscle, r.
    """
    if truth not in envelopes.truth:
        raise ValueError(f"these envelopes carry no true {truth!r} (truth: {sorted(envelopes.truth) or 'none'}); "
                         "only simulated datasets have ground truth")
    records = []
    participant_of_row = envelopes.rows["participant"].astype(str).to_numpy()
    for participant in envelopes.participants:
        rows = participant_of_row == participant
        X, T = envelopes.X[rows], envelopes.truth[truth][rows]
        for j, muscle in enumerate(envelopes.muscles):
            if np.ptp(X[:, j]) == 0 or np.ptp(T[:, j]) == 0:
                warnings.warn(f"muscle {muscle!r} of participant {participant!r} is constant in the "
                              f"preprocessed or the true {truth} envelope: r is undefined", PreprocessWarning,
                              stacklevel=2)
                r = np.nan
            else:
                r = float(np.corrcoef(X[:, j], T[:, j])[0, 1])
            records.append({"participant": participant, "muscle": muscle, "r": r})
    return pd.DataFrame(records)
