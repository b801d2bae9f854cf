"""Atomic, reproducible result files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synlib import paths, results


@pytest.fixture(autouse=True)
def private_results(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNLIB_RESULTS", str(tmp_path))


def test_table_round_trip_keeps_every_digit():
    df = pd.DataFrame({"participant": ["P01", "P02"], "r2": [0.1 + 0.2, 1 / 3]})
    results.write_table(df, "s", "fits")
    back = results.read_table("s", "fits")
    assert back["r2"].tolist() == df["r2"].tolist()


def test_arrays_round_trip_and_identical_bytes_for_identical_arrays():
    arrays = {"P01.synergies": np.arange(6.0).reshape(2, 3), "P02.synergies": np.eye(2)}
    path = results.write_arrays("s", "syn", **arrays)
    first = path.read_bytes()
    back = results.read_arrays("s", "syn")
    assert set(back) == set(arrays)
    np.testing.assert_array_equal(back["P01.synergies"], arrays["P01.synergies"])
    results.write_arrays("s", "syn", **dict(reversed(list(arrays.items()))))
    assert path.read_bytes() == first


def test_missing_table_names_the_study_and_what_to_run():
    with pytest.raises(FileNotFoundError, match="'nmf_fits' of study 's' not found"):
        results.read_table("s", "nmf_fits")


def test_study_names_cannot_escape_the_results_folder():
    with pytest.raises(ValueError, match="plain folder name"):
        paths.results_dir("../elsewhere")


def test_no_temporary_file_is_left_after_a_write(tmp_path):
    results.write_table(pd.DataFrame({"a": [1]}), "s", "t")
    assert [p.name for p in (tmp_path / "s").iterdir()] == ["t.csv"]


def test_identifiers_come_back_as_text():
    results.write_table(pd.DataFrame({"participant": ["01", "02"], "k": [3, 4]}), "s", "ids")
    back = results.read_table("s", "ids")
    assert back["participant"].tolist() == ["01", "02"]
    assert back["k"].tolist() == [3, 4]
