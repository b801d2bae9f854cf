"""Atomic, reproducible result files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synlib import paths, results, schema


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


def _ranks_table():
    return pd.DataFrame({"participant": ["01", "02"], "rule": "r2_0.80", "k": [3, 4], "headline": True, "offset": 0})


def test_a_declared_table_with_a_misspelt_column_is_refused_on_read_naming_file_and_column(tmp_path):
    path = results.write_table(_ranks_table(), "s", "nmf_ranks")
    path.write_text(path.read_text().replace("headline", "headlin", 1))   # written by hand, or by an old version
    with pytest.raises(schema.SchemaError) as refused:
        results.read_table("s", "nmf_ranks")
    message = str(refused.value)
    assert str(path) in message and "column 'headline' is missing (found 'headlin'?)" in message
    assert "written by 02_nmf" in message


def test_a_declared_table_is_checked_on_write_too():
    with pytest.raises(schema.SchemaError, match=r"nmf_ranks.csv .*column 'ofset' is not one of its columns "
                                                 r"\(did you mean 'offset'\?\)"):
        results.write_table(_ranks_table().assign(ofset=1), "s", "nmf_ranks")
    with pytest.raises(schema.SchemaError, match="column 'k' should hold int values .* found 'three'"):
        results.write_table(_ranks_table().assign(k=["three", "four"]), "s", "nmf_ranks")
    assert not (paths.results_dir("s") / "nmf_ranks.csv").exists()


def test_declared_tables_read_back_with_their_kinds():
    results.write_table(_ranks_table(), "s", "nmf_ranks")
    back = results.read_table("s", "nmf_ranks")
    assert back["participant"].tolist() == ["01", "02"] and back["headline"].dtype == bool
    pd.testing.assert_frame_equal(back, _ranks_table())


def test_open_tables_take_extra_columns_and_patterns_match_their_family():
    rows = pd.DataFrame({"participant": ["P1"], "trial": ["t1"], "condition": ["c"], "repetition": [1],
                         "segment": [1], "phase": ["movement"], "time": [0.0], "azimuth_deg": [30.0]})
    results.write_table(rows, "s", "envelope_rows")
    assert schema.table_for("ae_fits_relu_tanh") is schema.TABLES["ae_fits"]
    assert schema.table_for("ae_fits_relu") is None and schema.table_for("my_own_table") is None


def test_an_archive_key_outside_its_schema_is_refused_on_write_and_read():
    good = {schema.fit_key("P01", 3, "synergies"): np.eye(3)}
    with pytest.raises(schema.SchemaError, match=r"nmf_synergies.npz \(written by 02_nmf\): key 'P01.k3.synergy' "):
        results.write_arrays("s", "nmf_synergies", **{"P01.k3.synergy": np.eye(3)})
    with pytest.raises(schema.SchemaError, match="key 'P01.k3.s0.synergies'"):   # an NMF key carries no seed
        results.write_arrays("s", "nmf_synergies", **{schema.fit_key("P01", 3, "synergies", seed=0): np.eye(3)})
    path = results.write_arrays("s", "nmf_synergies", **good)
    path.write_bytes(results.npz_bytes({**good, "stray": np.eye(2)}))
    with pytest.raises(schema.SchemaError, match="key 'stray'"):
        results.read_arrays("s", "nmf_synergies")
    assert schema.parse_fit_key("P.01.k12.s3.loss_curve") == ("P.01", 12, 3, "loss_curve")
