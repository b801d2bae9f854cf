"""The dataset registry, the public recordings and how their files are found, checked and fetched."""

from __future__ import annotations

import dataclasses
import http.server
import math
import shutil
import threading
from functools import partial

import numpy as np
import pytest

from synlib import datasets
from synlib.data import DataError, Dataset, Trial, write_dataset_folder


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No local copies and an empty download cache."""
    monkeypatch.setenv("SYNLIB_DATA_PATH", str(tmp_path / "search"))
    monkeypatch.setenv("SYNLIB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("SYNLIB_OFFLINE", raising=False)
    return tmp_path


# --------------------------------------------------------------------------- registry


def test_registry_names_and_options():
    assert {"simulated", "shoulder", "pyomeca-c3d", "gait"} <= set(datasets.available())
    assert datasets.options("simulated")["n_participants"] == 15
    assert datasets.options("shoulder") == {}


def test_unknown_dataset_lists_what_exists():
    with pytest.raises(KeyError, match=r"unknown dataset 'simulatd': not a registered name \(.*simulated"):
        datasets.load("simulatd")


def test_unknown_option_lists_the_accepted_ones():
    with pytest.raises(TypeError, match=r"dataset 'simulated' has no option\(s\) \['mixng'\]; it accepts: n_participants"):
        datasets.load("simulated", mixng="nonlinear")


def test_a_registered_adapter_loads_by_name():
    @datasets.register("test-adapter", replace=True)
    def adapter(gain: float = 1.0) -> Dataset:
        data = gain * np.random.default_rng(0).normal(size=(300, 2))
        trial = Trial(data, {"participant": "A", "trial": "1", "condition": "c", "repetition": 1})
        return Dataset("test-adapter", 1000.0, ["M1", "M2"], ["A"], lambda p: [trial])

    assert datasets.load("test-adapter", gain=2.0).trials("A")[0].emg.shape == (300, 2)
    with pytest.raises(ValueError, match="'test-adapter' is already registered"):
        datasets.register("test-adapter")(adapter)


def test_a_folder_path_loads_and_takes_no_options(tmp_path):
    trial = Trial(np.random.default_rng(1).normal(size=(300, 2)),
                  {"participant": "A", "trial": "1", "condition": "c", "repetition": 1})
    folder = write_dataset_folder([trial], tmp_path / "mine", name="mine", fs=1000, muscles=["M1", "M2"])
    assert datasets.load(str(folder)).name == "mine"
    assert datasets.open_dataset(folder, None, participants=["A"]).participants == ["A"]
    with pytest.raises(TypeError, match="a dataset folder takes no options"):
        datasets.load(folder, seed=1)


def test_simulated_round_trip_through_a_folder_keeps_truth(tmp_path):
    cohort = datasets.load("simulated", n_participants=1, n_repetitions=1)
    folder = write_dataset_folder(cohort, tmp_path / "sim")
    copy = datasets.load(folder)
    assert copy.muscles == cohort.muscles and copy.fs == cohort.fs
    assert copy.info["licence"] == cohort.info["licence"]
    original, loaded = cohort.trials("P01")[3], copy.trials("P01")[3]
    np.testing.assert_array_equal(loaded.emg, original.emg)
    np.testing.assert_array_equal(loaded.truth["phasic"], original.truth["phasic"])
    assert loaded.meta["onset"] == original.meta["onset"] and loaded.meta["target"] == original.meta["target"]
    np.testing.assert_array_equal(copy.truth_synergies("P01"), cohort.truth_synergies("P01"))


# --------------------------------------------------------------------------- real recordings


@pytest.mark.realdata
def test_shoulder(shoulder_dir, monkeypatch):
    monkeypatch.setenv("SYNLIB_DATA_PATH", str(shoulder_dir.parent))
    data = datasets.load("shoulder")
    assert data.fs == 1000.0 and len(data.muscles) == 14
    assert data.muscles[:3] == ("AD", "MD", "PD") and data.muscles[-1] == "Tric"
    assert data.participants == ["P01"]
    assert "CC BY 4.0" in data.info["licence"] and "Belli" in data.info["citation"]
    trials = {t.meta["trial"]: t for t in data.trials("P01")}
    assert len(trials) == 18
    assert trials["abd01"].emg.shape == (10910, 14)
    assert trials["shrug01"].emg.shape == (4620, 14)       # the export without a header
    assert trials["flx22"].meta["condition"] == "flx-loaded" and trials["flx22"].meta["repetition"] == 2
    assert math.isnan(trials["abd01"].meta["onset"])
    table = data.trial_table()
    assert sorted(table["condition"].unique()) == ["abd-loaded", "abd-unloaded", "flx-loaded", "flx-unloaded",
                                                   "shrug-loaded", "shrug-unloaded"]
    assert (table.groupby("condition")["repetition"].apply(sorted) == [[1, 2, 3]] * 6).all()


@pytest.mark.realdata
def test_pyomeca_c3d(pyomeca_dir, monkeypatch):
    monkeypatch.setenv("SYNLIB_DATA_PATH", str(pyomeca_dir.parent))
    data = datasets.load("pyomeca-c3d")
    assert data.fs == 2000.0
    assert data.muscles == ("Delt_ant", "Delt_med", "Delt_post", "Biceps", "Triceps", "Trap_sup", "Trap_inf",
                            "Gd_dent", "Supra", "Infra", "Subscap", "Pec", "Gd_dors")
    (trial,) = data.trials("P01")
    assert trial.emg.shape == (11600, 13)
    assert np.all(trial.emg.std(axis=0) > 0)
    assert "Apache" in data.info["licence"]


@pytest.mark.realdata
def test_gait(musclesynergies_dir, monkeypatch):
    monkeypatch.setenv("SYNLIB_DATA_PATH", str(musclesynergies_dir.parent))
    data = datasets.load("gait")
    assert data.fs == 1000.0 and data.muscles == datasets.GAIT_MUSCLES and len(data.muscles) == 13
    (trial,) = data.trials(data.participants[0])
    assert trial.emg.shape == (7618, 13)
    events = trial.meta["events"]
    assert len(events["touchdown"]) == len(events["liftoff"]) == 6
    assert events["touchdown"][0] == pytest.approx(1.4)       # 1.414 s in the R data, whose time starts at 0.014 s
    assert np.all(events["liftoff"] > events["touchdown"]) and events["liftoff"][-1] < 7.618
    assert "MIT" in data.info["licence"]


@pytest.mark.realdata
def test_musclesynergies_reference(musclesynergies_dir, monkeypatch):
    monkeypatch.setenv("SYNLIB_DATA_PATH", str(musclesynergies_dir.parent))
    reference = datasets.musclesynergies_reference()
    assert len(reference) == 15
    assert [r["participant"] for r in reference[:2]] == ["ID0001", "ID0002"]
    assert {r["k"] for r in reference} == {4, 5, 6}
    for r in reference:
        assert r["muscles"] == datasets.GAIT_MUSCLES
        assert r["V"].shape == (200, 13)
        assert r["synergies"].shape == (r["k"], 13) and r["activations"].shape == (200, r["k"])
        assert 0.8 < r["r2"] < 0.94
        # the package's R² is centred on the grand mean of V: recompute it from its factors
        V, Vhat = r["V"], r["activations"] @ r["synergies"]
        assert 1 - ((V - Vhat) ** 2).sum() / ((V - V.mean()) ** 2).sum() == pytest.approx(r["r2"], abs=1e-9)


# --------------------------------------------------------------------------- finding and fetching files


def test_changed_local_file_is_refused(isolated):
    folder = isolated / "search" / "pyomeca"
    folder.mkdir(parents=True)
    (folder / "markers_analogs.c3d").write_bytes(b"not the published bytes")
    with pytest.raises(DataError, match=r"markers_analogs.c3d: SHA-256 \w+ does not match the published .* refused"):
        datasets.load("pyomeca-c3d")


def test_missing_files_offline_give_one_clear_error(isolated, monkeypatch):
    monkeypatch.setenv("SYNLIB_OFFLINE", "1")
    with pytest.raises(DataError) as error:
        datasets.load("shoulder")
    message = str(error.value)
    assert "needs 18 public file(s)" in message
    assert "rmr-solver-shoulder/shrug23.exp" in message
    assert "https://raw.githubusercontent.com/ComputationalBiomechanicsLab/rmr-solver/" in message
    assert str(isolated / "search" / "rmr-solver-shoulder") in message
    assert "SYNLIB_DATA_PATH" in message and "SYNLIB_OFFLINE" in message


def test_unreachable_download_is_reported_once(isolated, monkeypatch):
    unreachable = [dataclasses.replace(f, url=f"http://127.0.0.1:9/{f.name}") for f in datasets.PUBLIC_FILES["shoulder"]]
    monkeypatch.setitem(datasets.PUBLIC_FILES, "shoulder", unreachable)
    with pytest.raises(DataError, match=r"(?s)needs 18 public file\(s\).*download failed: ConnectionError"):
        datasets.load("shoulder")


@pytest.fixture
def file_server(tmp_path):
    """A local HTTP server for the pyomeca file (or for altered bytes), stopped afterwards."""
    served = tmp_path / "served"
    served.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.realdata
def test_download_is_verified_and_cached(isolated, pyomeca_dir, file_server, monkeypatch):
    served, address = file_server
    shutil.copy(pyomeca_dir / "markers_analogs.c3d", served)
    (file,) = datasets.PUBLIC_FILES["pyomeca-c3d"]
    monkeypatch.setitem(datasets.PUBLIC_FILES, "pyomeca-c3d",
                        [dataclasses.replace(file, url=address + "markers_analogs.c3d")])
    data = datasets.load("pyomeca-c3d")
    assert data.trials("P01")[0].emg.shape == (11600, 13)
    assert (isolated / "cache" / "data" / "pyomeca" / "markers_analogs.c3d").is_file()


def test_altered_download_is_refused(isolated, file_server, monkeypatch):
    served, address = file_server
    (served / "markers_analogs.c3d").write_bytes(b"altered bytes")
    (file,) = datasets.PUBLIC_FILES["pyomeca-c3d"]
    monkeypatch.setitem(datasets.PUBLIC_FILES, "pyomeca-c3d",
                        [dataclasses.replace(file, url=address + "markers_analogs.c3d")])
    with pytest.raises(DataError, match="does not match its published SHA-256 .* refused and not used"):
        datasets.load("pyomeca-c3d")
    assert not (isolated / "cache" / "data" / "pyomeca" / "markers_analogs.c3d").exists()
