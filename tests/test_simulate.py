"""The simulated reaching cohort: design, determinism, ground truth, timing."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from scipy import signal

from synlib.simulate import (
    MUSCLES,
    PLANES,
    TEMPLATE_SYNERGIES,
    SimulationConfig,
    participant_model,
    simulate_cohort,
)

SMALL = {"n_repetitions": 1}

# SHA-256 of the cohort as generated before the difficulty options existed (commit e71cb62):
# every option's default must reproduce it byte for byte.
DEFAULT_P01_EMG = "fd5ce7c0a8fa49f767728714180cfede9c12425b67529fa52af915244db6363c"
DEFAULT_P01_ACTIVATIONS = "8c04fc84794a8b4003e9dccf1916d152c35575af473640b1dbbf8ab23ab7e877"
DEFAULT_P01_SYNERGIES = "d3180e819642994d607c1c455522fa14935efdb080e89ae7519b3bcdae13f99d"
SMALL_P03_EMG = {"linear": "ef6b966e808d4749ea12e2f56f15bcf5fddb30b73678e46bd3768471ca1ee8ff",
                 "nonlinear": "305b1742182e53fc7f2f1555548a41c960e0bf860ac97a7b08e810b3ee9cc6c1"}


def digest(trials, key=None) -> str:
    """SHA-256 of the trials' raw EMG (or of one truth array), in trial order."""
    hasher = hashlib.sha256()
    for trial in trials:
        hasher.update(np.ascontiguousarray(trial.emg if key is None else trial.truth[key]).tobytes())
    return hasher.hexdigest()


@pytest.fixture(scope="module")
def linear_trials():
    return simulate_cohort(n_participants=2, **SMALL).trials("P02")


def test_design_of_the_paper():
    cohort = simulate_cohort()
    assert cohort.participants == [f"P{i:02d}" for i in range(1, 16)]
    assert cohort.fs == 1000.0
    assert cohort.muscles == MUSCLES and len(MUSCLES) == 16
    assert cohort.muscles[:3] == ("ES", "TMaj", "Infra") and cohort.muscles[-1] == "BrRad"
    table = cohort.subset(["P03"]).trial_table()
    assert len(table) == 450
    assert sorted(table["plane"].unique()) == sorted(PLANES)
    assert sorted(table["target"].unique()) == list(range(1, 10))
    assert (table.groupby("condition")["repetition"].apply(sorted) == [list(range(1, 11))] * 45).all()
    assert table["trial"].is_unique


def test_the_default_cohort_is_the_one_before_the_difficulty_options():
    cohort = simulate_cohort()
    trials = cohort.trials("P01")
    assert digest(trials) == DEFAULT_P01_EMG
    assert digest(trials, "activations") == DEFAULT_P01_ACTIVATIONS
    assert hashlib.sha256(cohort.truth_synergies("P01").tobytes()).hexdigest() == DEFAULT_P01_SYNERGIES


@pytest.mark.parametrize("mixing", ["linear", "nonlinear"])
def test_both_old_mixing_modes_are_unchanged(mixing):
    assert digest(simulate_cohort(n_participants=3, mixing=mixing, **SMALL).trials("P03")) == SMALL_P03_EMG[mixing]


def test_same_seed_same_cohort_byte_for_byte():
    options = {"n_participants": 2, "seed": 7, **SMALL}
    assert digest(simulate_cohort(**options).trials("P02")) == digest(simulate_cohort(**options).trials("P02"))


def test_trial_table_matches_generated_trials(linear_trials):
    table = simulate_cohort(n_participants=2, **SMALL).subset(["P02"]).trial_table()
    assert list(table["trial"]) == [t.meta["trial"] for t in linear_trials]
    assert list(table["n_samples"]) == [t.emg.shape[0] for t in linear_trials]
    assert list(table["onset"]) == [t.meta["onset"] for t in linear_trials]


def test_a_participant_alone_is_identical_and_seeds_differ(linear_trials):
    alone = simulate_cohort(n_participants=5, **SMALL).trials("P02")
    assert all(np.array_equal(a.emg, b.emg) for a, b in zip(alone, linear_trials))
    other_seed = simulate_cohort(n_participants=2, seed=1, **SMALL).trials("P02")
    assert not np.array_equal(other_seed[0].emg[:100], linear_trials[0].emg[:100])
    other_participant = simulate_cohort(n_participants=2, **SMALL).trials("P01")
    assert not np.array_equal(other_participant[0].emg[:100], linear_trials[0].emg[:100])


def test_linear_truth_reconstructs_the_noiseless_envelope(linear_trials):
    cohort = simulate_cohort(n_participants=2, **SMALL)
    synergies = cohort.truth_synergies("P02")
    np.testing.assert_allclose(np.linalg.norm(synergies, axis=1), 1.0)
    for trial in linear_trials[::7]:
        truth = trial.truth
        np.testing.assert_allclose(truth["activations"] @ synergies, truth["phasic"], rtol=1e-12, atol=1e-15)
        tonic = truth["envelope"] - truth["phasic"]
        assert tonic.min() > 0
        assert truth["activations"].min() >= 0 and truth["activations"].max() > 0.01


def test_nonlinear_mixing_saturates_the_same_drive(linear_trials):
    nonlinear = simulate_cohort(n_participants=2, mixing="nonlinear", **SMALL).trials("P02")
    synergies = participant_model(SimulationConfig(), "P02").synergies
    lin, non = linear_trials[40].truth, nonlinear[40].truth
    np.testing.assert_array_equal(lin["activations"], non["activations"])
    drive = non["activations"] @ synergies
    assert np.all(non["phasic"] <= drive + 1e-15)
    assert np.abs(non["phasic"] - drive).max() > 0.1 * drive.max()


def test_rest_and_movement_timing(linear_trials):
    for trial in linear_trials:
        onset, offset = trial.meta["onset"], trial.meta["offset"]
        duration = trial.emg.shape[0] / 1000.0
        assert onset >= 0.6 and duration - offset >= 0.6
        assert 0.8 - 1e-9 <= offset - onset <= 1.2 + 1e-9
        t = np.arange(trial.emg.shape[0]) / 1000.0
        activations = trial.truth["activations"]
        quiet = ((t >= onset - 0.4) & (t <= onset - 0.2)) | ((t >= offset + 0.2) & (t <= offset + 0.4))
        assert activations[quiet].max() == 0.0
        tonic = trial.truth["envelope"] - trial.truth["phasic"]
        before, after = tonic[t < onset], tonic[t > offset]
        assert np.ptp(before, axis=0).max() < 1e-12 and np.ptp(after, axis=0).max() < 1e-12


def test_rectified_raw_emg_gives_back_the_envelope(linear_trials):
    trial = linear_trials[22]
    sos = signal.butter(4, 20, fs=1000, output="sos")
    rectified = np.abs(trial.emg - trial.emg.mean(axis=0))
    smooth = signal.sosfiltfilt(sos, rectified, axis=0)
    envelope = trial.truth["envelope"]
    active = envelope.max(axis=0) > 0.05
    for m in np.flatnonzero(active):
        assert np.corrcoef(smooth[:, m], envelope[:, m])[0, 1] > 0.9, MUSCLES[m]
        assert 0.8 < smooth[:, m].mean() / envelope[:, m].mean() < 1.25, MUSCLES[m]


def test_raw_emg_is_band_limited(linear_trials):
    f, power = signal.welch(np.stack([t.emg[:2000] for t in linear_trials[:10]]), fs=1000, nperseg=512, axis=1)
    power = power.mean(axis=(0, 2))
    assert power[(f > 60) & (f < 300)].mean() > 20 * power[(f > 1) & (f < 8)].mean()


def test_activations_are_tuned_to_the_reach(linear_trials):
    peaks = np.array([t.truth["activations"].max(axis=0) for t in linear_trials])   # conditions × k
    planes = np.array([t.meta["plane"] for t in linear_trials])
    targets = np.array([t.meta["target"] for t in linear_trials])
    lateral, medial = peaks[planes == PLANES[-1]].mean(axis=0), peaks[planes == PLANES[0]].mean(axis=0)
    assert lateral[1] > 1.5 * medial[1]      # lateral-shoulder synergy: lateral reaches
    assert medial[0] > 1.5 * lateral[0]      # anterior shoulder: forward reaches across the body
    far, near = peaks[targets == 9].mean(axis=0), peaks[targets == 4].mean(axis=0)
    assert far[3] > 5 * near[3]              # elbow extensors: the arm extends to far targets
    assert near[4] > 5 * far[4]              # elbow flexors: the hand comes closer


def test_individual_synergies_vary_around_the_template():
    similarity = []
    for participant in ("P01", "P02", "P03"):
        synergies = participant_model(SimulationConfig(), participant).synergies
        similarity.append(np.sum(synergies * TEMPLATE_SYNERGIES, axis=1))
    similarity = np.array(similarity)
    assert similarity.min() > 0.8 and similarity.max() < 0.9999
    assert not np.allclose(similarity[0], similarity[1])


@pytest.mark.parametrize("options, message", [
    ({"mixing": "quadratic"}, "mixing='quadratic' is not known; use one of linear, nonlinear"),
    ({"n_participants": 0}, "n_participants=0 must be a positive integer"),
    ({"fs": 600.0}, "sampling rate 600 Hz is too low for a 450 Hz cutoff"),
])
def test_bad_options(options, message):
    with pytest.raises(ValueError, match=message):
        simulate_cohort(**options)
