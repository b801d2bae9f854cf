"""Preprocessing as a list of named steps: built from the configuration, extended by a fork, recorded."""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass

import numpy as np
import pytest

from synlib import results
from synlib.preprocess import PreprocessConfig, concatenate, preprocess, process_trial
from synlib.preprocess import chain as chain_module
from synlib.preprocess.chain import build_steps, check_steps, insert_step

from test_preprocess import FS, bursty_trial, synthetic_dataset


@dataclass(frozen=True)
class Square:
    """A fork's step: square the rectified signal (an energy envelope)."""

    name = "square"
    trace = None

    def params(self):
        return {}

    def apply(self, signal):
        signal.x = signal.x ** 2


def test_each_configuration_builds_the_steps_it_names():
    names = lambda options: [s.name for s in build_steps(PreprocessConfig.from_dict(options))]  # noqa: E731
    assert names({}) == ["demean", "filter", "rectify", "lowpass", "bin", "segment", "tonic_ramp",
                         "time_normalise"]
    assert names({"envelope": "rms", "downsample": "resample", "tonic": "none", "demean": False}) == [
        "filter", "rectify", "rms", "resample", "segment", "clip_negative", "time_normalise"]
    assert names({"highpass_hz": None, "tonic": "none", "clip_negative": False, "downsample": "none"}) == [
        "demean", "rectify", "lowpass", "segment", "time_normalise"]
    (band,) = [s for s in build_steps(PreprocessConfig(band_upper_hz=200)) if s.name == "filter"]
    assert band.params() == {"cutoff_hz": [20.0, 200.0], "btype": "bandpass", "design": "butterworth",
                             "order": 4, "numtaps": 201, "zero_phase": "scipy"}


def test_a_step_put_in_by_hand_runs_where_it_was_put():
    trial = bursty_trial()
    default = process_trial(trial, FS, keep_steps=True)
    squared = process_trial(trial, FS, keep_steps=True,
                            chain=insert_step(build_steps(), Square(), after="rectify"))
    np.testing.assert_array_equal(squared.steps["rectified"][1], default.steps["rectified"][1])
    assert not np.allclose(squared.X, default.X)
    # the fork's envelope is the square of the same rectified signal, then the same low-pass and bins
    rectified = default.steps["rectified"][1]
    signal = chain_module.TrialSignal(rectified ** 2, default.steps["raw"][0], trial, FS, ("a", "b", "c"),
                                      "t", rectified.shape[0] / FS)
    for step in build_steps():
        if step.name in ("lowpass", "bin"):
            step.apply(signal)
    np.testing.assert_array_equal(signal.x, squared.steps["envelope"][1])


def test_insert_steps_option_imports_a_forks_step_and_the_envelopes_record_it(tmp_path, monkeypatch):
    (tmp_path / "mylab_steps.py").write_text(textwrap.dedent('''
        from dataclasses import dataclass

        @dataclass(frozen=True)
        class Gain:
            factor: float
            name = "gain"
            trace = None

            def params(self):
                return {"factor": self.factor}

            def apply(self, signal):
                signal.x = signal.x * self.factor
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("SYNLIB_RESULTS", str(tmp_path / "results"))
    data = synthetic_dataset(n_participants=2, n_repetitions=2)
    options = {"amplitude_norm": "none",
               "insert_steps": [{"after": "filter", "step": "mylab_steps:Gain", "options": {"factor": 3.0}}]}
    plain = preprocess(data, {"amplitude_norm": "none"}, progress=False)
    forked = preprocess(data, options, progress=False)
    np.testing.assert_allclose(forked.X, 3.0 * plain.X, rtol=1e-9, atol=1e-12)   # every later step is linear or
    steps = [(r["stage"], r["step"]) for r in forked.preprocessing]   # clips at zero
    assert steps == [("trial", "demean"), ("trial", "filter"), ("trial", "gain"), ("trial", "rectify"),
                     ("trial", "lowpass"), ("trial", "bin"), ("trial", "segment"), ("trial", "tonic_ramp"),
                     ("trial", "time_normalise")]
    assert json.loads(forked.preprocessing[2]["parameters"]) == {"factor": 3.0}
    results.save_envelopes(forked, "fork")
    assert results.load_envelopes("fork").preprocessing == forked.preprocessing
    assert [r["step"] for r in preprocess(data, progress=False).preprocessing][-1] == "participant_max"


@pytest.mark.parametrize("entry, message", [
    ({"after": "rectify"}, r"must be \{after: <step name>, step: 'package.module:callable'"),
    ({"after": "rectify", "step": "mylab"}, r"step 'mylab' must be 'package.module:callable'"),
    ({"after": "rectify", "step": "no_such_module_xyz:Step"}, r"cannot import step 'no_such_module_xyz:Step'"),
    ({"after": "rectify", "step": "math:floor"}, r"'math:floor' with options \{\} gives no step"),
    ({"after": "rectify", "step": "builtins:dict"}, r"insert_steps: 'builtins:dict': \{\} is not a preprocessing step"),
    ({"after": "notch", "step": "synlib.preprocess.chain:Simple", "options": {"name": "demean"}},
     r"cannot insert step 'demean' after 'notch': the steps are demean, filter"),
])
def test_a_bad_inserted_step_is_refused_naming_it(entry, message):
    with pytest.raises(ValueError, match=message):
        build_steps(PreprocessConfig.from_dict({"insert_steps": [entry]}))


def test_steps_without_segmentation_or_time_normalisation_are_refused():
    default = build_steps()
    with pytest.raises(ValueError, match="must end with time_normalise; they are demean, filter"):
        check_steps(default[:-1])
    with pytest.raises(ValueError, match="have no segment step"):
        check_steps([s for s in default if s.name not in ("segment", "tonic_ramp")])
    with pytest.raises(TypeError, match="is not a preprocessing step: it has no 'name'"):
        insert_step(default, object(), after="rectify")


def test_envelopes_of_different_steps_are_not_concatenated():
    data = synthetic_dataset(n_participants=1, n_repetitions=2)
    a = preprocess(data, progress=False)
    b = preprocess(data, {"lowpass_hz": 10}, progress=False)
    with pytest.raises(ValueError, match="preprocessed with different steps"):
        concatenate([a, b])
