"""Signal-processing steps over samples × muscles arrays.

Each step is a small function that takes an array whose rows are samples and
whose columns are muscles, and returns a new array (pyomeca style: steps
compose, nothing is modified in place). Steps that need the sampling rate take
``fs`` in Hz; steps that look at time take the samples' ``times`` in seconds.
``where`` names the trial (and dataset) in error messages.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import numpy as np
from scipy import ndimage, signal

#: Times closer than this (s) count as equal, so that an event at 1.4 s selects
#: the sample at 1.4 s whichever way the floating-point subtraction rounded.
TIME_TOLERANCE_S = 1e-6


def _as_2d(x) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"expected a samples × muscles array, got shape {x.shape}")
    return x


def _in(where: str) -> str:
    return f" in {where}" if where else ""


def demean(x) -> np.ndarray:
    """Subtract each muscle's mean (removes the amplifier's DC offset).

    Examples
    --------
    >>> demean([[1.0, 10.0], [3.0, 20.0]])
    array([[-1., -5.],
           [ 1.,  5.]])
    """
    x = _as_2d(x)
    return x - x.mean(axis=0)


def check_cutoff(cutoff_hz: float, fs: float, what: str = "cut-off", where: str = "") -> None:
    """Raise unless ``0 < cutoff_hz < fs / 2`` (the Nyquist frequency)."""
    nyquist = fs / 2.0
    if not (np.isfinite(cutoff_hz) and 0.0 < cutoff_hz < nyquist):
        raise ValueError(
            f"{what} {cutoff_hz!r} Hz{_in(where)} must lie strictly between 0 and the Nyquist "
            f"frequency {nyquist:g} Hz (sampling rate {fs:g} Hz)"
        )


def _r_signal_filtfilt(sos: np.ndarray, n_coefficients: int, x: np.ndarray) -> np.ndarray:
    # The R package `signal` appends 2 × (number of coefficients) zeros, filters
    # forwards and backwards from rest, and keeps the first n samples: no
    # reflected padding and no matched initial state (unlike scipy).
    pad = np.zeros((2 * n_coefficients, x.shape[1]))
    forward = signal.sosfilt(sos, np.concatenate([x, pad]), axis=0)
    backward = signal.sosfilt(sos, forward[::-1], axis=0)[::-1]
    return backward[: x.shape[0]]


@lru_cache(maxsize=64)
def _butter_sos(order: int, cutoffs: tuple, btype: str, fs: float) -> np.ndarray:
    # Designing the filter costs more than running it on a short trial; a
    # dataset uses a handful of designs, so each is computed once.
    wn = cutoffs if btype == "bandpass" else cutoffs[0]
    return signal.butter(order, wn, btype=btype, fs=fs, output="sos")


def butterworth(x, fs: float, cutoff_hz, btype: str = "lowpass", order: int = 4,
                method: str = "scipy", where: str = "") -> np.ndarray:
    """Zero-phase Butterworth filter (forward and backward, second-order sections).

    Parameters
    ----------
    x : array of shape (n_samples, n_muscles)
    fs : float
        Sampling rate in Hz.
    cutoff_hz : float or pair of float
        Cut-off frequency; a ``(low, high)`` pair for ``btype="bandpass"``.
    btype : {"lowpass", "highpass", "bandpass"}
    order : int
        Order of the filter designed (each pass); the magnitude response is squared
        by the two passes.
    method : {"scipy", "r-signal"}
        ``"scipy"``: :func:`scipy.signal.sosfiltfilt` with odd reflected padding.
        ``"r-signal"``: as the R package ``signal``'s ``filtfilt`` (zero padding at
        the end, filtering from rest), which musclesyneRgies uses.
    where : str
        Trial named in error messages.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(1000) / 1000
    >>> x = np.c_[np.sin(2 * np.pi * 5 * t) + np.sin(2 * np.pi * 200 * t)]
    >>> y = butterworth(x, 1000, 20, "lowpass")
    >>> bool(np.abs(y[100:-100, 0] - np.sin(2 * np.pi * 5 * t[100:-100])).max() < 0.05)
    True
    """
    x = _as_2d(x)
    cutoffs = np.atleast_1d(np.asarray(cutoff_hz, dtype=float))
    expected = 2 if btype == "bandpass" else 1
    if cutoffs.size != expected:
        raise ValueError(f"a {btype} filter takes {expected} cut-off(s), got {cutoff_hz!r}")
    for c in cutoffs:
        check_cutoff(float(c), fs, f"{btype} cut-off", where)
    if btype == "bandpass" and not cutoffs[0] < cutoffs[1]:
        raise ValueError(f"band-pass edges {cutoff_hz!r} Hz{_in(where)} must be increasing")
    if int(order) < 1:
        raise ValueError(f"filter order {order!r} must be a positive integer")
    sos = _butter_sos(int(order), tuple(cutoffs.tolist()), btype, float(fs)).copy()
    if method == "r-signal":
        n_coefficients = 2 * int(order) + 1 if btype == "bandpass" else int(order) + 1
        return _r_signal_filtfilt(sos, n_coefficients, x)
    if method != "scipy":
        raise ValueError(f"zero-phase method {method!r} is not one of 'scipy', 'r-signal'")
    padlen = 3 * (2 * len(sos) + 1 - min((sos[:, 2] == 0).sum(), (sos[:, 5] == 0).sum()))
    if x.shape[0] <= padlen:
        raise ValueError(
            f"{x.shape[0]} samples{_in(where)} are too few for an order-{order} zero-phase "
            f"{btype} filter, which needs more than {padlen}"
        )
    return signal.sosfiltfilt(sos, x, axis=0)


def fir(x, fs: float, cutoff_hz, btype: str = "highpass", numtaps: int = 201,
        where: str = "") -> np.ndarray:
    """Zero-phase FIR filter (Hamming-window design, applied forwards and backwards).

    ``numtaps`` is made odd, as a high-pass FIR needs.

    Examples
    --------
    >>> import numpy as np
    >>> y = fir(np.ones((2000, 1)) + 5.0, 1000, 20, "highpass")
    >>> bool(np.abs(y[300:-300]).max() < 1e-2)
    True
    """
    x = _as_2d(x)
    cutoffs = np.atleast_1d(np.asarray(cutoff_hz, dtype=float))
    for c in cutoffs:
        check_cutoff(float(c), fs, f"{btype} cut-off", where)
    numtaps = int(numtaps) | 1
    pass_zero = {"lowpass": True, "highpass": False, "bandpass": False}[btype]
    taps = signal.firwin(numtaps, cutoffs if btype == "bandpass" else cutoffs[0],
                         pass_zero=pass_zero, fs=fs)
    if x.shape[0] <= 3 * numtaps:
        raise ValueError(
            f"{x.shape[0]} samples{_in(where)} are too few for a {numtaps}-tap zero-phase FIR "
            f"filter, which needs more than {3 * numtaps}"
        )
    return signal.filtfilt(taps, [1.0], x, axis=0)


def rectify(x, kind: str = "fullwave") -> np.ndarray:
    """Full-wave (absolute value) or half-wave (negatives to zero) rectification.

    Examples
    --------
    >>> rectify([[-2.0, 1.0]])
    array([[2., 1.]])
    >>> rectify([[-2.0, 1.0]], "halfwave")
    array([[0., 1.]])
    """
    x = _as_2d(x)
    if kind == "fullwave":
        return np.abs(x)
    if kind == "halfwave":
        return np.clip(x, 0.0, None)
    if kind == "none":
        return x.copy()
    raise ValueError(f"rectification {kind!r} is not one of 'fullwave', 'halfwave', 'none'")


def rms_envelope(x, fs: float, window_s: float, where: str = "") -> np.ndarray:
    """Centred moving root-mean-square over ``window_s`` seconds (zero phase).

    Examples
    --------
    >>> import numpy as np
    >>> y = rms_envelope(np.tile([[1.0], [-1.0]], (50, 1)), 1000, 0.01)
    >>> bool(np.allclose(y, 1.0))
    True
    """
    x = _as_2d(x)
    width = int(round(window_s * fs))
    if width < 1:
        raise ValueError(f"RMS window {window_s!r} s{_in(where)} is shorter than one sample at {fs:g} Hz")
    if width > x.shape[0]:
        raise ValueError(
            f"RMS window {window_s!r} s ({width} samples){_in(where)} is longer than the trial "
            f"({x.shape[0]} samples)"
        )
    mean_square = ndimage.uniform_filter1d(x**2, size=width, axis=0, mode="reflect")
    return np.sqrt(np.clip(mean_square, 0.0, None))


def bin_average(x, fs: float, bin_s: float, where: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Average consecutive, non-overlapping bins of ``bin_s`` seconds.

    A trailing partial bin is dropped. Returns the binned array and the time of
    each bin's centre (s from the first sample).

    Examples
    --------
    >>> import numpy as np
    >>> y, t = bin_average(np.arange(10.0)[:, None], 1000, 0.004)
    >>> y.ravel(), t
    (array([1.5, 5.5]), array([0.0015, 0.0055]))
    """
    x = _as_2d(x)
    width = int(round(bin_s * fs))
    if width < 1:
        raise ValueError(f"bin width {bin_s!r} s{_in(where)} is shorter than one sample at {fs:g} Hz")
    n_bins = x.shape[0] // width
    if n_bins < 1:
        raise ValueError(
            f"bin width {bin_s!r} s ({width} samples){_in(where)} is longer than the trial "
            f"({x.shape[0]} samples)"
        )
    binned = x[: n_bins * width].reshape(n_bins, width, x.shape[1]).mean(axis=1)
    centres = (np.arange(n_bins) * width + (width - 1) / 2.0) / fs
    return binned, centres


def resample(x, fs: float, new_fs: float, where: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Polyphase resampling to ``new_fs`` Hz (anti-aliasing FIR included).

    Returns the resampled array and its sample times (s from the first sample).

    Examples
    --------
    >>> import numpy as np
    >>> y, t = resample(np.ones((1000, 2)), 1000, 100)
    >>> y.shape, float(t[1])
    ((100, 2), 0.01)
    """
    x = _as_2d(x)
    ratio = Fraction(float(new_fs) / float(fs)).limit_denominator(1000)
    if ratio <= 0:
        raise ValueError(f"new sampling rate {new_fs!r} Hz{_in(where)} must be positive")
    y = signal.resample_poly(x, ratio.numerator, ratio.denominator, axis=0, padtype="line")
    if y.shape[0] < 2:
        raise ValueError(f"resampling{_in(where)} to {new_fs:g} Hz leaves fewer than 2 samples")
    return y, np.arange(y.shape[0]) / float(new_fs)


def floor_nonpositive(x, where: str = "") -> np.ndarray:
    """Replace values ≤ 0 by the smallest positive value of the whole array.

    This is musclesyneRgies' step after low-pass filtering (the minimum is taken
    over every muscle of the trial together).

    Examples
    --------
    >>> floor_nonpositive([[0.0, 2.0], [-1.0, 0.5]])
    array([[0.5, 2. ],
           [0.5, 0.5]])
    """
    x = _as_2d(x)
    positive = x[x > 0]
    if positive.size == 0:
        raise ValueError(f"no positive value{_in(where)}: every muscle is zero or negative")
    return np.where(x > 0, x, positive.min())


def subtract_min(x) -> np.ndarray:
    """Subtract each muscle's minimum, so that each muscle's smallest value is 0.

    Examples
    --------
    >>> subtract_min([[2.0, 5.0], [3.0, 4.0]])
    array([[0., 1.],
           [1., 0.]])
    """
    x = _as_2d(x)
    return x - x.min(axis=0)


def divide_by(x, scale, muscles=None, where: str = "") -> np.ndarray:
    """Divide each muscle by a positive scale (its maximum, a reference or MVC value).

    Raises naming the muscles whose scale is zero, negative or not finite, so that
    a flat muscle never turns into NaN.

    Examples
    --------
    >>> divide_by([[1.0, 4.0], [2.0, 2.0]], [2.0, 4.0])
    array([[0.5, 1. ],
           [1. , 0.5]])
    """
    x = _as_2d(x)
    scale = np.broadcast_to(np.asarray(scale, dtype=float), (x.shape[1],))
    bad = ~(np.isfinite(scale) & (scale > 0))
    if bad.any():
        names = list(muscles) if muscles is not None else [f"column {j}" for j in range(x.shape[1])]
        listed = ", ".join(f"{names[j]!r} ({scale[j]:g})" for j in np.flatnonzero(bad))
        raise ValueError(
            f"cannot normalise amplitude{_in(where)}: the scale of {listed} is not positive; "
            "a flat or all-zero muscle has no amplitude to normalise — drop it from the dataset "
            "or choose amplitude_norm='none'"
        )
    return x / scale


def window_mean(x, times, start: float, end: float) -> tuple[np.ndarray, int]:
    """Mean of the samples with ``start ≤ time < end`` and how many there were."""
    x = _as_2d(x)
    times = np.asarray(times, dtype=float)
    inside = (times >= start - TIME_TOLERANCE_S) & (times < end - TIME_TOLERANCE_S)
    count = int(inside.sum())
    return (x[inside].mean(axis=0) if count else np.full(x.shape[1], np.nan)), count


def linear_ramp_tonic(x, times, onset: float, offset: float, pre_level, post_level) -> np.ndarray:
    """Tonic component as a linear ramp from ``pre_level`` at onset to ``post_level`` at offset.

    Before the onset the tonic stays at ``pre_level`` and after the offset at
    ``post_level``, so the estimate is defined over the whole trial (for plots);
    only the movement uses the ramp.

    Examples
    --------
    >>> import numpy as np
    >>> linear_ramp_tonic(np.zeros((5, 1)), [0, 1, 2, 3, 4], 1, 3, [0.0], [2.0]).ravel()
    array([0., 0., 1., 2., 2.])
    """
    x = _as_2d(x)
    times = np.asarray(times, dtype=float)
    fraction = np.clip((times - onset) / (offset - onset), 0.0, 1.0)[:, None]
    pre = np.asarray(pre_level, dtype=float)[None, :]
    post = np.asarray(post_level, dtype=float)[None, :]
    return np.broadcast_to(pre + fraction * (post - pre), x.shape).copy()


def remove_tonic(x, tonic, clip_negative: bool = True) -> np.ndarray:
    """Subtract a tonic estimate; negatives are set to zero when ``clip_negative``.

    Examples
    --------
    >>> remove_tonic([[1.0, 0.2]], [[0.5, 0.5]])
    array([[0.5, 0. ]])
    """
    phasic = _as_2d(x) - _as_2d(tonic)
    return np.clip(phasic, 0.0, None) if clip_negative else phasic


def segment_indices(times, start: float, end: float) -> np.ndarray:
    """Indices of the samples with ``start ≤ time < end`` (a phase owns its first sample)."""
    times = np.asarray(times, dtype=float)
    return np.flatnonzero((times >= start - TIME_TOLERANCE_S) & (times < end - TIME_TOLERANCE_S))


def time_normalise(x, times, start: float, end: float, n_points: int, where: str = "") -> np.ndarray:
    """Linearly interpolate the samples of ``[start, end)`` onto ``n_points`` equally spaced points.

    The first and last points are the first and last samples of the segment, as
    R's ``approx(y, n = n_points)`` that musclesyneRgies uses.

    Examples
    --------
    >>> import numpy as np
    >>> time_normalise(np.arange(6.0)[:, None], np.arange(6.0), 1, 4, 5).ravel()
    array([1. , 1.5, 2. , 2.5, 3. ])
    """
    x = _as_2d(x)
    idx = segment_indices(times, start, end)
    if idx.size < 2:
        raise ValueError(
            f"segment {start:.4g}–{end:.4g} s{_in(where)} holds {idx.size} sample(s); "
            "time normalisation needs at least 2 (is the segment inside the trial?)"
        )
    if int(n_points) < 2:
        raise ValueError(f"time normalisation needs at least 2 points, got {n_points!r}")
    segment = x[idx]
    position = np.linspace(0.0, idx.size - 1, int(n_points))
    left = np.minimum(np.floor(position).astype(int), idx.size - 2)
    weight = (position - left)[:, None]
    return segment[left] * (1.0 - weight) + segment[left + 1] * weight
