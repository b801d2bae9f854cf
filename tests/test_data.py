"""The dataset model, its validation, the file readers and the dataset-folder format."""

from __future__ import annotations

import math
import sys

import numpy as np
import pandas as pd
import pytest
import scipy.io

from synlib.data import (
    DataError,
    Dataset,
    DataWarning,
    Trial,
    check_muscle_names,
    check_sampling_rate,
    read_c3d,
    read_dataset_folder,
    read_delimited,
    read_exp,
    read_mat,
    trials_from_pattern,
    validate_trial,
    write_dataset_folder,
)

MUSCLES = ("DeltA", "DeltM", "TrapUp")
FS = 1000.0


def emg(n=400, seed=0, m=len(MUSCLES)):
    return np.random.default_rng(seed).normal(size=(n, m))


def trial(data=None, participant="S1", name="t1", **meta):
    meta = {"participant": participant, "trial": name, "condition": "reach", "repetition": 1, **meta}
    return Trial(emg=emg() if data is None else data, meta=meta, source="unit test")


def dataset(trials_by_participant):
    return Dataset(name="toy", fs=FS, muscles=MUSCLES, participants=list(trials_by_participant),
                   load_participant=lambda p: trials_by_participant[p])


def write_folder(root, table_rows, files, muscles=MUSCLES, fs=1000, extra_yaml=""):
    """A dataset folder written by hand with plain text files, as a lab would."""
    root.mkdir()
    (root / "dataset.yml").write_text(
        f"name: handmade\nsampling_rate: {fs}\nmuscles: [{', '.join(muscles)}]\nunits: mV\n"
        f"licence: CC-BY-4.0\ncitation: Doe et al. 2024\n{extra_yaml}")
    (root / "trials.csv").write_text("\n".join(table_rows) + "\n")
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def csv_text(data, muscles=MUSCLES, delimiter=","):
    lines = [delimiter.join(("time",) + tuple(muscles))]
    lines += [delimiter.join([f"{i / FS:.3f}"] + [f"{v:.6f}" for v in row]) for i, row in enumerate(data)]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the model


def test_trial_table_and_subset():
    data = dataset({"S1": [trial(name="a"), trial(name="b", repetition=2)], "S2": [trial(participant="S2")]})
    table = data.trial_table()
    assert list(table["trial"]) == ["a", "b", "t1"]
    assert list(table["n_samples"]) == [400, 400, 400]
    assert data.subset(1).participants == ["S1"]
    with pytest.raises(KeyError, match="'S9' .* has S1, S2"):
        data.trials("S9")


def test_check_sampling_rate_refuses_cutoff_above_nyquist():
    check_sampling_rate(1000.0, 450.0, "ok")
    with pytest.raises(DataError, match=r"dataset 'x': sampling rate 500 Hz is too low for a 450 Hz cutoff"):
        check_sampling_rate(500.0, 450.0, "dataset 'x'")
    with pytest.raises(DataError, match="must be a positive number"):
        check_sampling_rate(float("nan"), 20.0, "dataset 'x'")


def test_nan_names_participant_trial_muscle_and_time():
    data = emg()
    data[120:123, 1] = np.nan
    with pytest.raises(DataError, match=r"participant 'S1', trial 't1' \(unit test\), muscle 'DeltM': 3 NaN.*t = 0.120 s"):
        validate_trial(trial(data), MUSCLES, FS)


def test_infinite_sample_is_refused():
    data = emg()
    data[5, 2] = np.inf
    with pytest.raises(DataError, match="muscle 'TrapUp': 1 NaN or infinite"):
        validate_trial(trial(data), MUSCLES, FS)


def test_wrong_number_of_columns():
    with pytest.raises(DataError, match=r"trial 't1'.*EMG has 2 columns but the dataset has 3 muscles"):
        validate_trial(trial(emg(m=2)), MUSCLES, FS)


def test_transposed_emg_is_pointed_out():
    with pytest.raises(DataError, match="is it transposed"):
        validate_trial(trial(emg(n=3, m=400)), MUSCLES, FS)


def test_one_dimensional_emg_is_refused():
    with pytest.raises(DataError, match=r"shape \(400,\); expected a 2-D array samples × muscles \(n, 3\)"):
        validate_trial(trial(np.zeros(400)), MUSCLES, FS)


def test_duplicated_muscle_names():
    with pytest.raises(DataError, match=r"dataset 'toy': muscle names \['DeltA'\] appear more than once"):
        Dataset("toy", FS, ["DeltA", "DeltM", "DeltA"], ["S1"], lambda p: [])


def test_missing_muscle_name():
    with pytest.raises(DataError, match="file f.csv: muscle name of column 2 is missing"):
        check_muscle_names(["DeltA", "", "TrapUp"], "file f.csv")


def test_empty_trial():
    with pytest.raises(DataError, match=r"trial 't1'.*the trial is empty \(0 samples\)"):
        validate_trial(trial(np.zeros((0, 3))), MUSCLES, FS)


def test_too_short_trial():
    with pytest.raises(DataError, match=r"has 50 samples \(0.05 s\); a trial needs at least 0.1 s"):
        validate_trial(trial(emg(n=50)), MUSCLES, FS)


def test_onset_outside_trial():
    with pytest.raises(DataError, match=r"offset = 2 s lies outside the trial \(0 to 0.400 s\)"):
        validate_trial(trial(onset=0.1, offset=2.0), MUSCLES, FS)


def test_constant_channel_warns_with_muscle_and_trial():
    data = emg()
    data[:, 0] = 0.0
    with pytest.warns(DataWarning, match=r"trial 't1'.*muscle 'DeltA': the channel is constant"):
        validate_trial(trial(data), MUSCLES, FS)


def test_dataset_validates_trials_on_load():
    data = dataset({"S1": [trial(name="a"), trial(name="a")]})
    with pytest.raises(DataError, match="trial id 'a' appears twice for participant 'S1'"):
        data.trials("S1")


def test_dataset_refuses_trial_of_another_participant():
    data = dataset({"S1": [trial(participant="S2")]})
    with pytest.raises(DataError, match="belongs to participant 'S2', not 'S1'"):
        data.validate()


# --------------------------------------------------------------------------- readers


def test_read_delimited_drops_time_and_checks_names(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(csv_text(emg(n=5)))
    data, names = read_delimited(path, muscles=MUSCLES)
    assert data.shape == (5, 3) and names == MUSCLES
    np.testing.assert_allclose(data, np.round(emg(n=5), 6))


def test_inconsistent_muscles_name_the_file(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(csv_text(emg(n=5), muscles=("DeltA", "TrapUp", "DeltM")))
    with pytest.raises(DataError, match=rf"file {path}: muscles differ.*column 2 is 'TrapUp' where the dataset has 'DeltM'"):
        read_delimited(path, muscles=MUSCLES)


def test_truncated_text_file(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(csv_text(emg(n=5)) + "0.005,0.1\n")
    with pytest.raises(DataError, match=r"the last line \(line 7\) has 2 of 4 values; the file looks truncated"):
        read_delimited(path, muscles=MUSCLES)


def test_wrong_delimiter(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(csv_text(emg(n=5), delimiter=";"))
    with pytest.raises(DataError, match=rf"file {path}: .*single column with the comma delimiter; it looks semicolon-separated"):
        read_delimited(path, muscles=MUSCLES)


def test_text_in_numeric_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("DeltA,DeltM,TrapUp\n0.1,0.2,0.3\n0.1,n/a,0.3\n")
    with pytest.raises(DataError, match=r"line 3, column 'DeltM': 'n/a' is not a number"):
        read_delimited(path, muscles=MUSCLES)


def test_read_exp_with_and_without_header(tmp_path):
    preamble = "  \t// User name\n1000.000\t// Measurement rate\n\n"
    with_header = tmp_path / "a.exp"
    with_header.write_text(preamble + "Frame #\tA\tB\t\n0\t0.1\t0.2\t\n1\t0.3\t0.4\t\n")
    data, names, fs = read_exp(with_header)
    assert names == ("A", "B") and fs == 1000.0
    np.testing.assert_array_equal(data, [[0.1, 0.2], [0.3, 0.4]])
    bare = tmp_path / "b.exp"
    bare.write_text("0.1\t0.2\n0.3\t0.4\n")
    data, names, fs = read_exp(bare, muscles=("A", "B"))
    assert fs is None and names == ("A", "B") and data.shape == (2, 2)
    with pytest.raises(DataError, match="no header row; pass the muscle names"):
        read_exp(bare)


def test_read_mat(tmp_path):
    path = tmp_path / "t.mat"
    scipy.io.savemat(path, {"emg": emg(n=10).T, "names": np.array(MUSCLES, dtype=object), "fs": 1000.0})
    data, names, fs = read_mat(path, muscles_variable="names", fs_variable="fs", transpose=True)
    assert data.shape == (10, 3) and names == MUSCLES and fs == 1000.0
    with pytest.raises(DataError, match=r"variable 'EMG' not found; it has \['emg', 'fs', 'names'\]"):
        read_mat(path, "EMG")


def test_truncated_mat_file(tmp_path):
    path = tmp_path / "t.mat"
    scipy.io.savemat(path, {"emg": emg(n=200)})
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(DataError, match=rf"file {path}: not a readable MATLAB file"):
        read_mat(path)


def test_c3d_without_ezc3d_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ezc3d", None)
    with pytest.raises(ImportError, match=r"needs the optional package ezc3d: pip install 'synlib\[formats\]'"):
        read_c3d(tmp_path / "x.c3d")


# --------------------------------------------------------------------------- dataset folders


HANDMADE_TABLE = [
    "participant,trial,condition,target,plane,repetition,onset,offset,file,side",
    "S1,reach01,T1-frontal,1,frontal,1,0.1,0.3,S1/reach01.csv,right",
    "S1,reach02,T1-frontal,1,frontal,2,,,S1/reach02.csv,right",
    "S2,reach01,T2-frontal,2,frontal,1,0.12,0.35,S2/reach01.csv,left",
]


def handmade_files(**replace):
    files = {f"{p}/reach0{r}.csv": csv_text(emg(seed=i)) for i, (p, r) in enumerate([("S1", 1), ("S1", 2), ("S2", 1)])}
    files.update(replace)
    return files


def test_handwritten_folder_of_plain_csv_loads(tmp_path):
    folder = write_folder(tmp_path / "lab", HANDMADE_TABLE, handmade_files())
    data = read_dataset_folder(folder)
    assert data.name == "handmade" and data.fs == 1000.0 and data.muscles == MUSCLES
    assert data.participants == ["S1", "S2"]
    assert data.info["licence"] == "CC-BY-4.0" and data.info["citation"] == "Doe et al. 2024"
    first, second = data.trials("S1")
    assert first.meta["target"] == 1 and first.meta["plane"] == "frontal" and first.meta["side"] == "right"
    assert first.meta["onset"] == 0.1 and math.isnan(second.meta["onset"])
    assert second.meta["repetition"] == 2
    np.testing.assert_allclose(first.emg, np.round(emg(seed=0), 6))
    assert list(data.trial_table()["participant"]) == ["S1", "S1", "S2"]


def test_folder_with_inconsistent_muscles_names_the_file(tmp_path):
    bad = csv_text(emg(seed=2), muscles=("DeltA", "DeltM", "Biceps"))
    folder = write_folder(tmp_path / "lab", HANDMADE_TABLE, handmade_files(**{"S2/reach01.csv": bad}))
    data = read_dataset_folder(folder)
    data.trials("S1")
    with pytest.raises(DataError, match=r"S2/reach01.csv: muscles differ.*missing muscle\(s\) \['TrapUp'\]"):
        data.trials("S2")


def test_folder_nan_names_file_participant_trial_and_muscle(tmp_path):
    values = emg(seed=0)
    values[10, 2] = np.nan
    folder = write_folder(tmp_path / "lab", HANDMADE_TABLE, handmade_files(**{"S1/reach01.csv": csv_text(values)}))
    with pytest.raises(DataError, match=r"participant 'S1', trial 'reach01' \(.*S1/reach01.csv\), muscle 'TrapUp'"):
        read_dataset_folder(folder).trials("S1")


def test_folder_missing_trial_file_is_refused_at_open(tmp_path):
    files = handmade_files()
    del files["S2/reach01.csv"]
    folder = write_folder(tmp_path / "lab", HANDMADE_TABLE, files)
    with pytest.raises(DataError, match=r"participant 'S2', trial 'reach01': trial file .*S2/reach01.csv does not exist"):
        read_dataset_folder(folder)


def test_folder_metadata_typo_is_refused(tmp_path):
    folder = write_folder(tmp_path / "lab", HANDMADE_TABLE, handmade_files(), extra_yaml="sampling_rte: 2000\n")
    with pytest.raises(DataError, match=r"dataset.yml: unknown key\(s\) \['sampling_rte'\]"):
        read_dataset_folder(folder)


def test_folder_text_in_table_number_column(tmp_path):
    table = HANDMADE_TABLE[:2] + ["S1,reach02,T1-frontal,one,frontal,2,,,S1/reach02.csv,right"]
    folder = write_folder(tmp_path / "lab", table, handmade_files())
    with pytest.raises(DataError, match=r"trials.csv, row 3, column 'target': 'one' is not a number"):
        read_dataset_folder(folder)


def test_folder_table_with_wrong_delimiter(tmp_path):
    table = [row.replace(",", ";") for row in HANDMADE_TABLE]
    folder = write_folder(tmp_path / "lab", table, handmade_files())
    with pytest.raises(DataError, match="trials.csv: .*looks semicolon-separated"):
        read_dataset_folder(folder)


def test_folder_low_sampling_rate_is_caught_by_the_filter_check(tmp_path):
    folder = write_folder(tmp_path / "lab", HANDMADE_TABLE, handmade_files(), fs=200)
    data = read_dataset_folder(folder)
    with pytest.raises(DataError, match="sampling rate 200 Hz is too low for a 450 Hz cutoff"):
        check_sampling_rate(data.fs, 450.0, f"dataset {data.name!r}")


@pytest.mark.parametrize("file_format", ["npz", "npy", "csv"])
def test_write_and_read_back(tmp_path, file_format):
    events = {"touchdown": np.array([0.1, 0.25])}
    items = [{"participant": "S1", "trial": f"t/{i}", "condition": "c", "repetition": i, "target": 3,
              "onset": 0.05, "offset": 0.3, "events": events, "emg": emg(seed=i),
              "truth": {"envelope": np.abs(emg(seed=i))}} for i in (1, 2)]
    folder = write_dataset_folder(items, tmp_path / "out", name="w", fs=FS, muscles=MUSCLES,
                                  info={"licence": "CC0", "citation": "me", "note": np.float64(1.5)},
                                  file_format=file_format)
    data = read_dataset_folder(folder)
    assert data.info["licence"] == "CC0" and data.info["note"] == 1.5
    trials = data.trials("S1")
    assert [t.meta["trial"] for t in trials] == ["t/1", "t/2"]
    np.testing.assert_array_equal(trials[1].emg, emg(seed=2))
    np.testing.assert_array_equal(trials[0].meta["events"]["touchdown"], events["touchdown"])
    if file_format == "npz":
        np.testing.assert_array_equal(trials[0].truth["envelope"], np.abs(emg(seed=1)))
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        write_dataset_folder(items, folder, name="w", fs=FS, muscles=MUSCLES)


def test_write_refuses_bad_trials_and_leaves_nothing(tmp_path):
    values = emg()
    values[3, 0] = np.nan
    with pytest.raises(DataError, match="muscle 'DeltA': 1 NaN"):
        write_dataset_folder([{"participant": "S1", "trial": "t", "condition": "c", "repetition": 1, "emg": values}],
                             tmp_path / "out", name="w", fs=FS, muscles=MUSCLES)
    assert list(tmp_path.iterdir()) == []


def test_unwritable_destination_gives_one_clear_error(tmp_path, monkeypatch):
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", full_disk)
    with pytest.raises(OSError, match=r"cannot write dataset folder .*out: No space left on device; nothing was written"):
        write_dataset_folder([trial()], tmp_path / "out", name="w", fs=FS, muscles=MUSCLES)
    assert list(tmp_path.iterdir()) == []


def test_changed_trial_file_is_refused_by_checksum(tmp_path):
    folder = write_dataset_folder([trial()], tmp_path / "out", name="w", fs=FS, muscles=MUSCLES, file_format="npy")
    (file,) = (folder / "trials" / "S1").iterdir()
    np.save(file, emg(seed=9))
    with pytest.raises(DataError, match=r"SHA-256 .* does not match .* is not used"):
        read_dataset_folder(folder).trials("S1")


def test_truncated_npz_file(tmp_path):
    folder = write_dataset_folder([trial()], tmp_path / "out", name="w", fs=FS, muscles=MUSCLES)
    table = pd.read_csv(folder / "trials.csv")
    (folder / "trials.csv").write_text(table.drop(columns="sha256").to_csv(index=False))
    (file,) = (folder / "trials" / "S1").iterdir()
    file.write_bytes(file.read_bytes()[:500])
    with pytest.raises(DataError, match=rf"file {file}: not a readable .npz archive .*is it truncated"):
        read_dataset_folder(folder).trials("S1")


def test_trials_csv_built_from_file_names_reads_back_as_a_dataset(tmp_path):
    items = [{"participant": p, "trial": f"{c}_{r}_raw", "condition": c, "repetition": r, "emg": emg(seed=r)}
             for p in ("S01", "S02") for c in ("abd", "flx") for r in (1, 2)]
    folder = write_dataset_folder(items, tmp_path / "lab", name="lab", fs=FS, muscles=MUSCLES, file_format="csv")
    written = pd.read_csv(folder / "trials.csv", dtype=str)
    (folder / "trials.csv").unlink()
    (folder / "trials" / "S01" / "notes.txt").write_text("not a trial")
    table = trials_from_pattern(folder, "trials/{participant}/{condition}_{repetition}_*.csv", write=True)
    assert len(table) == 8 and set(table["file"]) == set(written["file"])
    data = read_dataset_folder(folder)
    assert data.participants == ["S01", "S02"]
    assert sorted({(t.meta["condition"], t.meta["repetition"]) for t in data.trials("S02")}) == [
        ("abd", 1), ("abd", 2), ("flx", 1), ("flx", 2)]
    with pytest.raises(DataError, match="trials.csv exists"):
        trials_from_pattern(folder, "trials/{participant}/{condition}_{repetition}_*.csv", write=True)


def test_trials_from_pattern_names_what_is_wrong(tmp_path):
    for name in ("S01_abd_one.csv", "S01_abd_2.csv", "S01_flx_1.csv", "S01_flx_01.csv"):
        (tmp_path / name).write_text("")
    with pytest.raises(DataError, match="lacks {repetition}"):
        trials_from_pattern(tmp_path, "{participant}_{condition}.csv")
    with pytest.raises(DataError, match=r"S01_abd_one.csv: repetition 'one' .* is not a whole number"):
        trials_from_pattern(tmp_path, "{participant}_{condition}_{repetition}.csv")
    (tmp_path / "S01_abd_one.csv").unlink()
    with pytest.raises(DataError, match="repetition 1 has more than one file: S01_flx_01.csv, S01_flx_1.csv"):
        trials_from_pattern(tmp_path, "{participant}_{condition}_{repetition}.csv")
    with pytest.raises(DataError, match="no file of .* matches the pattern 'trials/{participant}"):
        trials_from_pattern(tmp_path, "trials/{participant}/{condition}_{repetition}.csv")


def test_delimited_text_with_quoted_fields_reads_as_numbers(tmp_path):
    path = tmp_path / "quoted.csv"
    path.write_text('"time","DeltA","DeltM","TrapUp",\n"0.000","0.1","0.2","0.3",\n0.001,0.4,0.5,0.6,\n')
    values, names = read_delimited(path, muscles=MUSCLES)
    assert names == MUSCLES
    np.testing.assert_array_equal(values, [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
