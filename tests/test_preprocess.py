"""Preprocessing: steps, configuration, segmentation, the pipeline and its validation on data."""

from __future__ import annotations

import textwrap
import warnings

import numpy as np
import pandas as pd
import pytest

from synlib import datasets, results
from synlib.data import Dataset, Trial
from synlib.preprocess import (
    Envelopes,
    PreprocessConfig,
    PreprocessWarning,
    envelope_recovery,
    preprocess,
    process_trial,
)
from synlib.preprocess import segment, steps

FS = 1000.0
MUSCLES = ("DeltA", "DeltM", "Bic")


def bursty_trial(participant="p1", trial="t1", repetition=1, seed=0, n=3000, onset=1.0, offset=2.0,
                 gains=(1.0, 0.5, 2.0), tonic=0.2, **meta) -> Trial:
    """Raw EMG whose true envelope is a tonic level plus a burst between onset and offset."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / FS
    phase = np.clip((t - onset) / (offset - onset), 0, 1)
    burst = np.where((t > onset) & (t < offset), np.sin(np.pi * phase) ** 2, 0.0)
    envelope = tonic + np.outer(burst, gains)
    carrier = rng.standard_normal((n, len(gains)))
    emg = envelope * carrier * np.sqrt(np.pi / 2) + 0.05  # E|N(0,1)| = sqrt(2/pi); plus a DC offset
    info = {"participant": participant, "trial": trial, "condition": "c1", "repetition": repetition,
            "target": 1, "plane": "frontal", "onset": onset, "offset": offset, **meta}
    truth = {"envelope": envelope, "phasic": np.outer(burst, gains), "activations": burst[:, None]}
    return Trial(emg, info, source="synthetic", truth=truth)


def synthetic_dataset(n_participants=2, n_repetitions=3, **trial_options) -> Dataset:
    def load(participant):
        index = int(participant[1:])
        return [bursty_trial(participant, f"r{r}", r, seed=100 * index + r, **trial_options)
                for r in range(1, n_repetitions + 1)]

    return Dataset("synthetic", FS, MUSCLES, [f"p{i}" for i in range(1, n_participants + 1)], load,
                   truth_synergies=lambda p: np.array([[1.0, 0.5, 2.0]]) / np.sqrt(5.25))


# ----------------------------------------------------------------------------- steps


def test_highpass_removes_offset_and_drift_but_keeps_emg_band():
    t = np.arange(4000) / FS
    emg_band = np.sin(2 * np.pi * 100 * t)
    x = np.c_[3.0 + 2.0 * np.sin(2 * np.pi * 1 * t) + emg_band]
    y = steps.butterworth(x, FS, 20, "highpass")
    np.testing.assert_allclose(y[500:-500, 0], emg_band[500:-500], atol=0.02)


def test_r_signal_filtfilt_agrees_with_scipy_away_from_the_edges():
    x = np.random.default_rng(1).standard_normal((3000, 2))
    a = steps.butterworth(x, FS, 20, "lowpass", method="scipy")
    b = steps.butterworth(x, FS, 20, "lowpass", method="r-signal")
    np.testing.assert_allclose(a[500:-500], b[500:-500], atol=1e-6)
    assert np.abs(a[:20] - b[:20]).max() > 1e-4  # the padding rules differ at the edges


@pytest.mark.parametrize("cutoff", [500.0, 800.0, 0.0])
def test_cutoff_outside_zero_to_nyquist_is_refused(cutoff):
    with pytest.raises(ValueError, match=r"in trial 'x' must lie strictly between 0 and the Nyquist frequency 500 Hz"):
        steps.butterworth(np.ones((2000, 1)), FS, cutoff, "lowpass", where="trial 'x'")


def test_filter_on_a_trial_too_short_is_refused_with_the_trial_named():
    with pytest.raises(ValueError, match=r"10 samples in trial 'short' are too few"):
        steps.butterworth(np.ones((10, 2)), FS, 20, "lowpass", where="trial 'short'")


def test_fir_highpass_removes_offset():
    y = steps.fir(np.full((3000, 1), 4.0), FS, 20, "highpass")
    assert np.abs(y[600:-600]).max() < 1e-2


def test_bin_average_and_its_bin_centres():
    y, t = steps.bin_average(np.arange(25.0)[:, None], FS, 0.01)
    np.testing.assert_allclose(y.ravel(), [4.5, 14.5])  # the partial last bin is dropped
    np.testing.assert_allclose(t, [0.0045, 0.0145])


@pytest.mark.parametrize("step", [
    lambda x: steps.bin_average(x, FS, 0.5, "trial 't'"),
    lambda x: steps.rms_envelope(x, FS, 0.5, "trial 't'"),
])
def test_windows_longer_than_the_trial_are_refused(step):
    with pytest.raises(ValueError, match=r"longer than the trial \(100 samples\)"):
        step(np.ones((100, 2)))


def test_rms_envelope_of_a_sine_is_its_rms():
    t = np.arange(2000) / FS
    y = steps.rms_envelope(np.c_[2 * np.sin(2 * np.pi * 50 * t)], FS, 0.1)
    np.testing.assert_allclose(y[200:-200], np.sqrt(2), rtol=1e-3)


def test_resample_changes_rate_and_keeps_a_constant():
    y, t = steps.resample(np.full((1000, 2), 3.0), FS, 100)
    assert y.shape == (100, 2) and t[1] == pytest.approx(0.01)
    np.testing.assert_allclose(y[5:-5], 3.0, rtol=1e-6)


def test_linear_ramp_tonic_and_clipping():
    times = np.arange(0, 3, 0.01)
    env = np.full((times.size, 1), 1.0)
    env[(times >= 1) & (times < 2)] += 0.5
    pre, _ = steps.window_mean(env, times, 1 - 0.4, 1 - 0.2)
    post, _ = steps.window_mean(env, times, 2 + 0.2, 2 + 0.4)
    tonic = steps.linear_ramp_tonic(env, times, 1.0, 2.0, pre, post)
    phasic = steps.remove_tonic(env, tonic)
    np.testing.assert_allclose(phasic[(times >= 1) & (times < 2)], 0.5)
    assert phasic.min() == 0.0
    assert steps.remove_tonic([[0.2]], [[1.0]], clip_negative=False)[0, 0] == pytest.approx(-0.8)


def test_time_normalise_interpolates_between_segment_samples():
    times = np.arange(10) / 10
    x = np.c_[np.arange(10.0)]
    y = steps.time_normalise(x, times, 0.2, 0.6, 5)  # samples 2, 3, 4, 5
    np.testing.assert_allclose(y.ravel(), [2.0, 2.75, 3.5, 4.25, 5.0])


def test_time_normalise_refuses_a_segment_with_too_few_samples():
    with pytest.raises(ValueError, match="holds 0 sample"):
        steps.time_normalise(np.ones((10, 1)), np.arange(10.0), 20, 30, 100, "trial 'x'")


def test_divide_by_names_flat_muscles():
    with pytest.raises(ValueError, match=r"'Bic' \(0\)"):
        steps.divide_by(np.ones((3, 3)), [1.0, 2.0, 0.0], MUSCLES, "participant 'p1'")


def test_floor_nonpositive_uses_smallest_positive_of_the_whole_trial():
    y = steps.floor_nonpositive([[0.3, -1.0], [0.0, 0.7]])
    np.testing.assert_allclose(y, [[0.3, 0.3], [0.3, 0.7]])
    with pytest.raises(ValueError, match="no positive value"):
        steps.floor_nonpositive(np.zeros((3, 2)))


# ----------------------------------------------------------------------------- configuration


def test_defaults_are_the_groups_choices():
    config = PreprocessConfig()
    assert (config.rectify, config.lowpass_hz, config.bin_s, config.tonic) == ("fullwave", 20.0, 0.01, "ramp")
    assert (config.tonic_pre_s, config.tonic_post_s, config.clip_negative) == ((-0.4, -0.2), (0.2, 0.4), True)
    assert (config.amplitude_norm, config.time_points) == ("participant_max", 100)


def test_from_dict_rejects_unknown_names_and_lists_the_allowed_ones():
    with pytest.raises(ValueError, match=r"unknown preprocess option\(s\) \['lowpas_hz'\]; allowed: .*lowpass_hz"):
        PreprocessConfig.from_dict({"lowpas_hz": 10})


@pytest.mark.parametrize("options, message", [
    ({"lowpass_hz": -5}, "lowpass_hz=-5 must be a positive number"),
    ({"rectify": "square"}, "rectify=.square. must be one of .fullwave., .halfwave., .none."),
    ({"time_points": 1}, "time_points=1 must be an integer ≥ 2"),
    ({"tonic_pre_s": [-0.2, -0.4]}, "start < end"),
    ({"segmentation": "whole"}, "segmentation='whole' set tonic='none'"),
    ({"segmentation": "events", "tonic": "none"}, "needs cycle_events"),
    ({"amplitude_norm": "reference"}, "needs reference="),
    ({"preset": "pyomeca"}, "unknown preprocess preset 'pyomeca'"),
])
def test_bad_options_are_refused_by_name(options, message):
    with pytest.raises(ValueError, match=message):
        PreprocessConfig.from_dict(options)


def test_config_round_trips_through_plain_values():
    config = PreprocessConfig.from_dict({"preset": "musclesyneRgies", "max_cycles": 2})
    assert PreprocessConfig.from_dict(config.to_dict()) == config
    assert config.cycle_events == ("touchdown", "liftoff") and config.max_cycles == 2


# ----------------------------------------------------------------------------- segmentation


@pytest.mark.parametrize("onset, offset", [(-0.1, 1.0), (1.0, 3.5), (2.0, 1.0)])
def test_onset_or_offset_outside_the_trial_is_refused(onset, offset):
    trial = bursty_trial(onset=onset, offset=offset)
    with pytest.raises(ValueError, match=r"participant 'p1', trial 't1'.*0 ≤ onset < offset ≤ 3 s"):
        process_trial(trial, FS)


def test_threshold_segmentation_finds_the_burst():
    trial = bursty_trial(onset=1.0, offset=2.0)
    meta = {k: v for k, v in trial.meta.items() if k not in ("onset", "offset")}
    out = process_trial(Trial(trial.emg, meta), FS, keep_steps=True)
    (move,) = out.segments
    assert 1.0 < move.start < 1.35 and 1.65 < move.end < 2.0


def test_cycles_drop_and_limit_like_musclesynergies():
    td = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    segs = segment.cycles({"touchdown": td, "liftoff": [t + 0.6 for t in td]}, ["touchdown", "liftoff"],
                          (100, 100), 6.0, ["stance", "swing"], drop_start=1, drop_end=1, max_cycles=3)
    assert [(s.start, s.phase, s.index) for s in segs[:2]] == [(1.0, "stance", 1), (1.6, "swing", 1)]
    assert segs[-1].end == 4.0 and len(segs) == 6


def test_cycle_without_its_middle_event_is_refused():
    with pytest.raises(ValueError, match=r"cycle 2 .* has no 'liftoff' event"):
        segment.cycles({"touchdown": [0, 1, 2], "liftoff": [0.6]}, ["touchdown", "liftoff"], 100, 3.0)


def test_events_outside_the_trial_are_refused():
    with pytest.raises(ValueError, match=r"event 'liftoff' at \[7.5\] s in trial 'g' lies outside"):
        segment.cycles({"touchdown": [0, 1, 2], "liftoff": [0.6, 7.5]}, ["touchdown", "liftoff"], 100, 3.0,
                       where="trial 'g'")


# ----------------------------------------------------------------------------- pipeline


def test_preprocess_gives_normalised_rows_with_aligned_truth():
    data = synthetic_dataset(n_participants=2, n_repetitions=3)
    env = preprocess(data, progress=False)
    assert env.X.shape == (2 * 3 * 100, 3) and env.participants == ["p1", "p2"]
    assert np.isfinite(env.X).all() and env.X.min() >= 0
    for p in env.participants:
        np.testing.assert_allclose(env.select(p).X.max(axis=0), 1.0)
        np.testing.assert_allclose(env.amplitude_scale[p] > 0, True)
    assert list(env.rows.columns[:9]) == ["participant", "trial", "condition", "target", "plane",
                                          "repetition", "segment", "phase", "time"]
    assert {k: v.shape for k, v in env.truth.items()} == {"envelope": (600, 3), "phasic": (600, 3),
                                                           "activations": (600, 1)}
    assert env.true_synergies["p1"].shape == (1, 3)
    table = envelope_recovery(env)
    assert list(table.columns) == ["participant", "muscle", "r"] and len(table) == 6
    assert table["r"].min() > 0.9


def test_config_is_checked_against_the_rate_before_any_trial_is_read():
    read = []
    data = Dataset("slow", 200.0, MUSCLES, ["p1"], lambda p: read.append(p) or [])
    with pytest.raises(ValueError, match=r"highpass_hz 120.0 Hz in dataset 'slow' .*Nyquist frequency 100 Hz"):
        preprocess(data, {"highpass_hz": 120}, progress=False)
    assert read == []


def test_flat_muscle_is_named_in_a_warning_then_in_the_normalisation_error():
    trial = bursty_trial()
    emg = trial.emg.copy()
    emg[:, 1] = 0.0
    data = Dataset("flat", FS, MUSCLES, ["p1"], lambda p: [Trial(emg, trial.meta)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match=r"participant 'p1'.*'DeltM' \(0\)"):
            preprocess(data, progress=False)
    messages = [str(w.message) for w in caught if issubclass(w.category, PreprocessWarning)]
    assert any("'DeltM' is flat" in m and "trial 't1'" in m for m in messages)


def test_tonic_window_past_the_trial_edge_warns_and_no_rest_at_all_fails():
    with pytest.warns(PreprocessWarning, match=r"trial 't1'.*reaches past the trial"):
        process_trial(bursty_trial(onset=0.3, offset=2.0), FS)
    with pytest.raises(ValueError, match=r"no rest is recorded before the movement"):
        process_trial(bursty_trial(onset=0.0, offset=2.0), FS)


@pytest.mark.parametrize("options", [
    {"envelope": "rms"},
    {"downsample": "resample"},
    {"downsample": "none", "tonic": "none"},
    {"filter_type": "fir", "band_upper_hz": 450},
    {"amplitude_norm": "trial_max"},
    {"amplitude_norm": "reference", "reference": {"DeltA": 2.0, "DeltM": 1.0, "Bic": 4.0}},
])
def test_alternative_steps_recover_the_burst(options):
    env = preprocess(synthetic_dataset(n_participants=1, n_repetitions=2), options, progress=False)
    assert np.isfinite(env.X).all() and env.X.shape == (200, 3)
    assert envelope_recovery(env)["r"].min() > 0.9


def test_average_of_repetitions():
    env = preprocess(synthetic_dataset(n_participants=1, n_repetitions=3), {"average_repetitions": True},
                     progress=False)
    assert env.X.shape == (100, 3) and set(env.rows["repetition"]) == {0}
    single = preprocess(synthetic_dataset(n_participants=1, n_repetitions=3), progress=False)
    np.testing.assert_allclose(env.X, single.X.reshape(3, 100, 3).mean(axis=0))


def test_progress_bar_is_quiet_in_ci(monkeypatch):
    from synlib.progress import progress, quiet

    monkeypatch.setenv("CI", "true")
    assert quiet()
    assert progress(range(3)).disable


# ----------------------------------------------------------------------------- Envelopes


def test_envelopes_save_load_select_split(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNLIB_RESULTS", str(tmp_path))
    env = preprocess(synthetic_dataset(n_participants=2, n_repetitions=3), progress=False)
    results.save_envelopes(env, "unit")
    back = results.load_envelopes("unit")
    np.testing.assert_array_equal(back.X, env.X)
    pd.testing.assert_frame_equal(back.rows, env.rows, check_dtype=False)
    assert back.muscles == env.muscles and set(back.truth) == set(env.truth)
    np.testing.assert_array_equal(back.true_synergies["p2"], env.true_synergies["p2"])
    train, test = back.split(3)
    assert set(test.rows["repetition"]) == {3} and len(train.X) + len(test.X) == len(env.X)
    assert len(test.truth["phasic"]) == len(test.X)
    with pytest.raises(ValueError, match=r"test repetitions \[7\] not all present"):
        back.split([7])
    with pytest.raises(KeyError, match="participant 'p9' has no rows"):
        back.select("p9")
    light = results.load_envelopes("unit", truth=False)       # what the autoencoder pages read
    assert light.truth == {} and set(light.true_synergies) == {"p1", "p2"}
    np.testing.assert_array_equal(light.X, env.X)


# ----------------------------------------------------------------------------- datasets of the registry


def test_simulated_envelopes_match_the_true_phasic_envelopes():
    # 2 repetitions instead of 10 keep the test fast; the chapter reports the full cohort.
    data = datasets.load("simulated", n_participants=2, mixing="linear", seed=0, n_repetitions=2)
    env = preprocess(data, progress=False)
    table = envelope_recovery(env)
    assert len(table) == 2 * len(data.muscles)
    assert table["r"].median() >= 0.95


# ----------------------------------------------------------------------------- real recordings


@pytest.mark.realdata
def test_musclesynergies_gait_reproduces_the_r_package(musclesynergies_dir):
    rdata = pytest.importorskip("rdata")
    data = datasets.load("gait")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rdata warns about R classes it does not know
        parsed = rdata.conversion.convert(rdata.parser.parse_file(musclesynergies_dir / "FILT_EMG.RData"))
    (reference,) = parsed["FILT_EMG"].values()
    expected = reference[list(data.muscles)].to_numpy(float)
    for options, max_diff in (({"preset": "musclesyneRgies"}, 1e-9),
                              ({"preset": "musclesyneRgies", "zero_phase": "scipy"}, 0.02)):
        env = preprocess(data, options, progress=False)
        assert env.X.shape == expected.shape == (600, 13)
        r = [np.corrcoef(env.X[:, j], expected[:, j])[0, 1] for j in range(13)]
        assert min(r) >= 0.999
        assert np.abs(env.X - expected).max() <= max_diff
    assert list(env.rows["phase"].iloc[[0, 100, 200]]) == ["stance", "swing", "stance"]


@pytest.mark.realdata
@pytest.mark.parametrize("name, folder", [("shoulder", "shoulder_dir"), ("pyomeca-c3d", "pyomeca_dir")])
def test_real_upper_limb_recordings_run_through_the_default_steps(name, folder, request):
    request.getfixturevalue(folder)  # skips, saying why, when the recordings are absent
    data = datasets.load(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PreprocessWarning)
        env = preprocess(data, progress=False)
    assert env.X.shape[1] == len(data.muscles) and len(env.X) % 100 == 0
    assert np.isfinite(env.X).all() and env.X.min() >= 0
    np.testing.assert_allclose(env.X.max(axis=0), 1.0)
    assert env.truth == {}


def test_truth_is_expressed_in_the_units_of_the_normalised_envelopes():
    from synlib import datasets
    from synlib.preprocess import preprocess

    data = datasets.load("simulated", n_participants=1, n_repetitions=1, mixing="linear", seed=3)
    env = preprocess(data, progress=False)
    participant = env.participants[0]
    W = env.true_synergies[participant]
    np.testing.assert_allclose(np.linalg.norm(W, axis=1), 1.0)
    # in linear mode the carried truth still factorises exactly after normalisation
    np.testing.assert_allclose(env.truth["activations"] @ W, env.truth["phasic"], rtol=1e-9, atol=1e-12)


def test_envelope_without_tonic_removal_is_clipped_at_zero():
    from synlib.preprocess import PreprocessConfig, process_trial
    from synlib.data import Trial

    rng = np.random.default_rng(1)
    emg = rng.normal(size=(3000, 2)) * np.r_[np.zeros(1500), np.ones(1500)][:, None]  # a step: the low-pass rings
    trial = Trial(emg=emg, meta={"participant": "P", "trial": "t", "condition": "c", "repetition": 1,
                                 "onset": 0.2, "offset": 2.8})
    clipped = process_trial(trial, 1000.0, PreprocessConfig(tonic="none"), ("a", "b"))
    assert clipped.X.min() >= 0.0
    raw = process_trial(trial, 1000.0, PreprocessConfig(tonic="none", clip_negative=False), ("a", "b"))
    assert raw.X.min() < 0.0


def test_speed_segmentation_cuts_at_the_fraction_of_peak_speed_and_refuses_a_cut_off_movement():
    t = np.arange(3000) / 1000
    speed = np.clip(1 - np.abs(t - 1.5) / 0.5, 0, None)          # a triangle from 1 to 2 s
    assert segment.speed_onset_offset(speed, t, 0.2) == pytest.approx((1.1, 1.9))
    with pytest.raises(ValueError, match="does not rise from and fall back"):
        segment.speed_onset_offset(np.clip(t - 1, 0, None), t)      # still moving at the end
    with pytest.raises(ValueError, match="missing or infinite"):
        segment.speed_onset_offset(np.where(t > 2.5, np.nan, speed), t)
    emg = np.random.default_rng(0).standard_normal((3000, 2)) * (0.2 + speed)[:, None]
    meta = {"participant": "p1", "trial": "t1", "condition": "c", "repetition": 1, "onset": 0.9, "offset": 2.1}
    auto = process_trial(Trial(emg, meta, kinematics={"hand_speed": speed}), 1000)
    assert auto.rows["segment_start"].iloc[0] == pytest.approx(1.05, abs=0.01)   # the speed wins over meta
    known = process_trial(Trial(emg, meta, kinematics={"hand_speed": speed}), 1000,
                          PreprocessConfig(segmentation="onset_offset"))
    assert known.rows["segment_start"].iloc[0] == pytest.approx(0.9)
    with pytest.raises(ValueError, match="no recorded hand speed"):
        process_trial(Trial(emg, meta), 1000, PreprocessConfig(segmentation="speed"))


def test_detection_errors_compare_the_cut_with_the_known_onset_and_offset():
    data = datasets.open_dataset("simulated", {"n_participants": 1, "n_repetitions": 1}, None)
    env = preprocess(data, progress=False)
    errors = segment.detection_errors(env.rows, data.trial_table())
    assert len(errors) == 45
    # the minimum-jerk bell is at 10 % of its peak 8.6 % of the movement time after it starts (0.8–1.2 s)
    assert errors["onset_error_s"].between(0.8 * 0.086 - 0.01, 1.2 * 0.086 + 0.01).all()
    assert np.allclose(errors["onset_error_s"], -errors["offset_error_s"], atol=2e-3)


def test_truth_of_participants_with_different_k_is_padded_and_trimmed_again():
    data = datasets.open_dataset("simulated", {"n_participants": 4, "n_repetitions": 1, "k_range": [4, 6],
                                               "seed": 3}, None)
    env = preprocess(data, progress=False)
    ks = {p: env.true_synergies[p].shape[0] for p in env.participants}
    assert len(set(ks.values())) > 1
    assert env.truth["activations"].shape[1] == max(ks.values())
    for p, k in ks.items():
        assert env.select(p).truth["activations"].shape[1] == k
        assert np.isfinite(env.select(p).truth["activations"]).all()


def test_both_extractors_share_one_held_out_rule_that_holds_out_nothing_from_one_repetition():
    from synlib import datasets
    from synlib.autoencoder.study import fit_pairs
    from synlib.nmf import fit_participants
    from synlib.preprocess import preprocess

    envelopes = preprocess(datasets.load("simulated", n_participants=1, n_repetitions=1), progress=False)
    assert envelopes.held_out() == []
    train, test = envelopes.split(envelopes.held_out())
    assert len(train.X) == len(envelopes.X) and len(test.X) == 0
    ae = fit_pairs(envelopes, {p: 3 for p in envelopes.participants}, [("relu", "tanh")], [0], epochs=5)
    nmf = fit_participants(envelopes, ranks=[3], n_restarts=1, max_iter=20, rank_rule="r2_0.10")
    for table in (ae[("relu", "tanh")].table, nmf.table):
        assert table["r2_train"].notna().all()
        assert table[["r2_test", "r2_global_test", "vaf_test"]].isna().all().all()
    with pytest.raises(ValueError, match=r"test repetitions \[2\] not all present; repetitions are \[1\]"):
        envelopes.split([2])


def test_both_extractors_fit_participants_with_one_signature_and_give_one_shape():
    from synlib import datasets
    from synlib.autoencoder import study
    from synlib.fits import StudyFit
    from synlib import nmf

    envelopes = preprocess(datasets.load("simulated", n_participants=2, n_repetitions=2), progress=False)
    common = {"participants": ["P02"], "test_repetitions": [1], "device": "cpu"}
    fits = {"NMF": nmf.fit_participants(envelopes, ranks=[3], n_restarts=1, max_iter=20, rank_rule="r2_0.10",
                                        random_state=4, **common),
            "AE": study.fit_participants(envelopes, n_components={"P02": 3}, encoder="relu", decoder="tanh",
                                         seeds=[4], epochs=5, **common)}
    for method, fit in fits.items():
        assert isinstance(fit, StudyFit), method
        assert fit.test_repetitions == [1] and list(fit.test_rows) == ["P02"], method
        assert set(fit.test_rows["P02"]["repetition"]) == {1}, method
        assert list(fit.models) == [("P02", 3, 4)], method
        assert fit.table[["participant", "k", "seed"]].values.tolist() == [["P02", 3, 4]], method
        n_test = len(fit.test_rows["P02"])
        assert fit.arrays[f"P02.k3{'.s4' if method == 'AE' else ''}.activations_test"].shape == (n_test, 3)


def test_both_fit_participants_document_their_shared_parameters_from_one_text():
    from synlib import fits, nmf
    from synlib.autoencoder import study

    for function in (nmf.fit_participants, study.fit_participants):
        assert textwrap.indent(fits.STUDY_PARAMETERS, "    ") in function.__doc__
        assert "{study_parameters}" not in function.__doc__

    def undocumented():
        """Parameters are not written here."""

    with pytest.raises(ValueError, match=r"undocumented: its docstring has no line '\{study_parameters\}'"):
        fits.shares_study_parameters(undocumented)


def test_the_held_out_split_names_a_participant_who_lacks_the_held_out_repetition():
    from synlib.fits import split_participants

    rows = pd.DataFrame({"participant": ["p1"] * 3 + ["p2"] * 2, "repetition": [1, 2, 3, 1, 2]})
    envelopes = Envelopes(np.ones((5, 2)), rows, ("a", "b"))
    held_out, splits = split_participants(envelopes, [], test_repetitions=[2])
    assert held_out == [2] and list(splits) == ["p1", "p2"]        # empty means every participant
    with pytest.raises(ValueError, match=r"participant 'p2': test repetitions \[3\] not all present"):
        split_participants(envelopes, test_repetitions=None)       # the last repetition, 3, of p1
