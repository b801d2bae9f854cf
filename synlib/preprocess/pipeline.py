"""From a :class:`~synlib.data.model.Dataset` of raw EMG to :class:`Envelopes`.

:func:`process_trial` runs the steps of a :class:`PreprocessConfig` on one trial
(filter → rectify → envelope → downsample → segment → tonic removal → time
normalisation); :func:`preprocess` does so participant by participant (one
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
from synlib.preprocess.config import PreprocessConfig
from synlib.preprocess.envelopes import Envelopes
from synlib.progress import progress as progress_bar

#: Trial metadata that describe timing, not the row, and stay out of the row table.
_TIMING_META = {"onset", "offset", "events"}


class PreprocessWarning(UserWarning):
    """Something in a trial was worked around; the message names the trial and muscle."""


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


def _filter(x, fs, config: PreprocessConfig, where: str) -> np.ndarray:
    if config.band_upper_hz is not None:
        cutoff, btype = (config.highpass_hz, config.band_upper_hz), "bandpass"
    else:
        cutoff, btype = config.highpass_hz, "highpass"
    if config.filter_type == "fir":
        return steps.fir(x, fs, cutoff, btype, config.fir_numtaps, where)
    return steps.butterworth(x, fs, cutoff, btype, config.filter_order, config.zero_phase, where)


def _envelope(x, fs, config: PreprocessConfig, where: str) -> tuple[np.ndarray, np.ndarray]:
    if config.envelope == "rms":
        env = steps.rms_envelope(x, fs, config.rms_window_s, where)
    else:
        env = steps.butterworth(x, fs, config.lowpass_hz, "lowpass", config.lowpass_order, config.zero_phase, where)
    if config.downsample == "bin":
        return steps.bin_average(env, fs, config.bin_s, where)
    if config.downsample == "resample":
        return steps.resample(env, fs, 1.0 / config.bin_s, where)
    return env, np.arange(env.shape[0]) / fs


def _segments(trial: Trial, env, times, duration, fs: float, config: PreprocessConfig, where: str) -> list[seg.Segment]:
    meta = trial.meta
    if config.segmentation == "events":
        return seg.cycles(meta.get("events") or {}, config.cycle_events, config.time_points, duration,
                          config.phase_names, config.drop_cycles_start, config.drop_cycles_end,
                          config.max_cycles, where)
    if config.segmentation == "whole":
        return seg.movement(0.0, duration, duration, config.time_points, where)
    speed = (trial.kinematics or {}).get("hand_speed")
    if config.segmentation == "speed" or (config.segmentation == "auto" and speed is not None):
        if speed is None:
            raise ValueError(f"{where} has no recorded hand speed (Trial.kinematics['hand_speed']); "
                             "use segmentation='onset_offset', 'threshold' or 'whole'")
        onset, offset = seg.speed_onset_offset(speed, np.arange(len(speed)) / fs,
                                               config.speed_fraction, where)
        return seg.movement(onset, offset, duration, config.time_points, where)
    onset, offset = float(meta.get("onset", np.nan)), float(meta.get("offset", np.nan))
    known = np.isfinite(onset) and np.isfinite(offset)
    if config.segmentation == "onset_offset" and not known:
        raise ValueError(f"{where} has no movement onset/offset (got {onset!r}, {offset!r}); "
                         "use segmentation='threshold' or 'whole'")
    if config.segmentation == "threshold" or not known:
        onset, offset = seg.threshold_onset_offset(env, times, config.threshold_fraction,
                                                   config.threshold_min_s, where)
    return seg.movement(onset, offset, duration, config.time_points, where)


def _tonic_level(env, times, anchor: float, window, duration: float, before: bool, where: str) -> np.ndarray:
    start, end = anchor + window[0], anchor + window[1]
    clipped = (max(start, 0.0), min(end, duration))
    level, count = steps.window_mean(env, times, *clipped)
    if count and clipped == (start, end):
        return level
    side = "onset" if before else "offset"
    if count:
        warnings.warn(f"tonic window {start:.3g}–{end:.3g} s around the {side} of {where} reaches past the "
                      f"trial; its part inside ({clipped[0]:.3g}–{clipped[1]:.3g} s) is used", PreprocessWarning,
                      stacklevel=4)
        return level
    rest = (0.0, anchor) if before else (anchor, duration)
    level, count = steps.window_mean(env, times, *rest)
    if not count:
        raise ValueError(f"tonic window {start:.3g}–{end:.3g} s around the {side} of {where} lies outside the "
                         f"trial and no rest is recorded {'before' if before else 'after'} the movement; "
                         "set tonic='none' or give the trial rest around the movement")
    warnings.warn(f"tonic window {start:.3g}–{end:.3g} s around the {side} of {where} lies outside the trial; "
                  f"the rest {rest[0]:.3g}–{rest[1]:.3g} s is used instead", PreprocessWarning, stacklevel=4)
    return level


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
                  keep_steps: bool = False, scale=None) -> TrialEnvelope:
    """Run the configured steps on one trial.

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
    where = trial.label
    n_muscles = np.shape(trial.emg)[1] if np.ndim(trial.emg) == 2 else 0
    muscles = tuple(muscles) if muscles is not None else tuple(f"muscle {j + 1}" for j in range(n_muscles))
    raw = _check_raw(trial, muscles, where)
    duration = raw.shape[0] / fs
    raw_times = np.arange(raw.shape[0]) / fs
    record: dict[str, tuple[np.ndarray, np.ndarray]] = {"raw": (raw_times, raw)}

    x = steps.demean(raw) if config.demean else raw
    if config.highpass_hz is not None:
        x = _filter(x, fs, config, where)
        record["filtered"] = (raw_times, x)
    x = steps.rectify(x, config.rectify)
    record["rectified"] = (raw_times, x)
    env, times = _envelope(x, fs, config, where)
    if config.floor_nonpositive:
        env = steps.floor_nonpositive(env, where)
    if config.subtract_min:
        env = steps.subtract_min(env)
    if config.amplitude_norm == "trial_max":
        env = steps.divide_by(env, env.max(axis=0), muscles, where)
    record["envelope"] = (times, env)

    segments = _segments(trial, env, times, duration, fs, config, where)
    if config.tonic == "ramp":
        # Movement segmentations give one segment per trial (the configuration
        # forbids ramps with cycles); the ramp spans it and stays flat outside.
        (move,) = segments
        pre = _tonic_level(env, times, move.start, config.tonic_pre_s, duration, True, where)
        post = _tonic_level(env, times, move.end, config.tonic_post_s, duration, False, where)
        tonic = steps.linear_ramp_tonic(env, times, move.start, move.end, pre, post)
        signal_out = steps.remove_tonic(env, tonic, config.clip_negative)
        record["tonic"] = (times, tonic)
        record["phasic"] = (times, signal_out)
    else:
        # a zero-phase low-pass rings slightly below zero around bursts; envelopes are non-negative
        signal_out = np.maximum(env, 0.0) if config.clip_negative else env

    X = np.concatenate([steps.time_normalise(signal_out, times, s.start, s.end, s.n_points, where)
                        for s in segments])
    truth = {
        name: np.concatenate([steps.time_normalise(values, raw_times, s.start, s.end, s.n_points,
                                                   f"truth {name!r} of {where}") for s in segments])
        for name, values in (trial.truth or {}).items()
    }
    if keep_steps and scale is not None:
        record["normalised"] = (times, steps.divide_by(signal_out, scale, muscles, where))
    return TrialEnvelope(X=X, row_columns=_row_columns(trial.meta, segments), truth=truth, segments=segments,
                         steps=record if keep_steps else {})


def trace_trial(dataset: Dataset, participant: str | None = None, trial: str | None = None,
                config: PreprocessConfig | None = None, scale=None) -> TrialEnvelope:
    """Every step of one trial of ``dataset``, for figures.

    ``participant`` defaults to the first, ``trial`` to that participant's first
    trial; ``scale`` (e.g. ``envelopes.amplitude_scale[participant]``) adds the
    ``"normalised"`` step.
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
    return process_trial(chosen, dataset.fs, config, dataset.muscles, keep_steps=True, scale=scale)


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


def preprocess_participant(dataset: Dataset, participant: str, config: PreprocessConfig | None = None
                           ) -> Envelopes:
    """Preprocess every trial of one participant and normalise amplitude across them."""
    config = config or PreprocessConfig()
    outputs = [process_trial(trial, dataset.fs, config, dataset.muscles) for trial in dataset.trials(participant)]
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
                     amplitude_scale={participant: scale} if scale is not None else {})


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
    )


def _stack_columns(arrays: list[np.ndarray]) -> np.ndarray:
    """Rows of ``arrays`` stacked; narrower ones padded with NaN columns on the right.

    Participants of a simulated cohort may have different numbers of true
    synergies, so their true activations differ in width;
    :meth:`Envelopes.select` drops the padding again.
    """
    width = max(a.shape[1] for a in arrays)
    return np.concatenate([np.pad(a.astype(float), ((0, 0), (0, width - a.shape[1])), constant_values=np.nan)
                           if a.shape[1] < width else a for a in arrays])


def preprocess(dataset: Dataset, config: PreprocessConfig | dict | None = None, progress: bool = True
               ) -> Envelopes:
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
    parts = [preprocess_participant(dataset, participant, config)
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
