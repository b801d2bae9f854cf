"""Configuration declared once: each option's check, default, meaning and provenance in one place."""

from __future__ import annotations

import dataclasses

import pytest

from synlib import declared
from synlib.data import DataError, read_dataset_folder
from synlib.preprocess import PreprocessConfig

from test_data import HANDMADE_TABLE, handmade_files, write_folder


def test_every_preprocess_option_is_documented_once_from_its_declaration():
    fields = dataclasses.fields(PreprocessConfig)
    assert all("check" in f.metadata and f.metadata["doc"] and f.metadata["by"] for f in fields)
    doc = PreprocessConfig.__doc__
    for f in fields:  # the numpydoc entry written from the declaration, with its type and default
        assert f"\n{f.name} : {f.metadata['check'].type}, default " in doc, f.name
    table = PreprocessConfig(lowpass_hz=10).describe().set_index("option")
    assert list(table.index) == [f.name for f in fields]
    assert table.loc["lowpass_hz", "default is"] == "authors' group"
    assert table.loc["highpass_hz", "what it does"].startswith("High-pass cut-off before rectification")
    assert "``" not in " ".join(table["what it does"])   # plain text in the book's table


@pytest.mark.parametrize("options, message", [
    ({"demean": 1}, "preprocess option demean=1 must be true or false"),
    ({"filter_order": 2.5}, r"filter_order=2.5 must be an integer ≥ 1"),
    ({"speed_fraction": 1.0}, "speed_fraction=1.0 must be a number between 0 and 1"),
    ({"highpass_hz": float("nan")}, "highpass_hz=nan must be a positive number or null"),
    ({"cycle_events": "touchdown"}, "cycle_events='touchdown' must be a list of names"),
    ({"reference": {"Bic": 0}}, r"reference=\{'Bic': 0\} must be a mapping of names to positive numbers"),
    ({"time_points": [100, 1]}, r"time_points=\[100, 1\] must be an integer ≥ 2 or a list of them"),
])
def test_a_bad_value_is_refused_naming_the_option_the_value_and_what_is_allowed(options, message):
    with pytest.raises(ValueError, match=message):
        PreprocessConfig.from_dict(options)


def test_values_are_normalised_by_their_declaration():
    config = PreprocessConfig.from_dict({"lowpass_hz": 10, "filter_order": 2.0, "tonic_pre_s": [-0.5, -0.1],
                                         "cycle_events": ["a", "b"], "time_points": [50, 50],
                                         "segmentation": "events", "tonic": "none"})
    assert (config.lowpass_hz, config.filter_order, config.tonic_pre_s) == (10.0, 2, (-0.5, -0.1))
    assert isinstance(config.filter_order, int) and config.cycle_events == ("a", "b")
    assert config.time_points == (50, 50)


def test_a_mutable_default_is_refused_when_declared():
    with pytest.raises(TypeError, match="mutable default"):
        declared.option([1], declared.names(), "ours", "A list.")


@pytest.mark.parametrize("extra, message", [
    ("", None),
    ("sampling_rate: fast\n", r"dataset.yml: sampling_rate 'fast' must be a number of Hz"),
    ("sampling_rate: 1e3\n", None),
    ("sampling_rate: [1000]\n", r"dataset.yml: sampling_rate: \[1000\] is not allowed: .*\(sampling_rate: EMG "
                                 r"samples per second \(Hz\)\)"),
    ("info: [a]\n", r"dataset.yml: info: \['a'\] is not allowed"),
])
def test_dataset_yml_is_checked_against_its_declaration(tmp_path, extra, message):
    text_lines = handmade_files()
    folder = write_folder(tmp_path / "lab", HANDMADE_TABLE, text_lines)
    if extra:
        yml = folder / "dataset.yml"
        key = extra.split(":")[0]
        kept = [line for line in yml.read_text().splitlines() if not line.startswith(key + ":")]
        yml.write_text("\n".join(kept) + "\n" + extra)
    if message is None:
        assert read_dataset_folder(folder).fs == 1000.0
    else:
        with pytest.raises(DataError, match=message):
            read_dataset_folder(folder)
