"""Readers for the file formats labs have: delimited text, the tab-separated ``.exp`` export, C3D, MATLAB ``.mat``.

Each returns the EMG as samples × muscles and the muscle names, checked; every
error names the file, line and column at fault.
"""

from __future__ import annotations

import csv
import io as _io
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from synlib.data.model import DataError, check_muscle_names, check_same_muscles

__all__ = ["read_c3d", "read_delimited", "read_exp", "read_mat"]

_DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", " ": "space", "|": "bar"}


def _delimiter_name(delimiter: str) -> str:
    return _DELIMITER_NAMES.get(delimiter, repr(delimiter))


def _split(line: str, delimiter: str) -> list[str]:
    fields = line.split(delimiter)
    if len(fields) > 1 and fields[-1].strip() == "":
        fields = fields[:-1]     # a trailing delimiter ends the line, it opens no column
    return [f.strip() for f in fields]


def _parse_rows(lines: list[str], first_line: int, delimiter: str, columns: Sequence[str],
                where: str) -> np.ndarray:
    """Numbers from text rows, each with ``len(columns)`` fields; errors name line and column.

    pandas' C parser reads a well-formed file (quoted fields included); only a file
    it cannot read as ``len(columns)`` numbers per line is split line by line
    here, to say which line and column is wrong.
    """
    expected = len(columns)
    try:
        frame = pd.read_csv(_io.StringIO("\n".join(lines)), sep=delimiter, header=None, dtype=float,
                            skipinitialspace=True, engine="c" if len(delimiter) == 1 else "python")
    except (ValueError, pd.errors.ParserError):
        frame = None
    if frame is not None:
        if frame.shape[1] == expected + 1 and frame.iloc[:, -1].isna().all():
            frame = frame.iloc[:, :-1]     # a trailing delimiter ends each line, it opens no column
        if frame.shape == (len(lines), expected) and not frame.isna().to_numpy().any():
            return frame.to_numpy()
    rows = [_split(line, delimiter) for line in lines]
    for number, fields in enumerate(rows):
        if len(fields) != expected:
            line_number = first_line + number
            if number == len(rows) - 1 and len(fields) < expected:
                raise DataError(f"{where}: the last line (line {line_number}) has {len(fields)} of {expected} "
                                "values; the file looks truncated (an interrupted copy or export?)")
            raise DataError(f"{where}: line {line_number} has {len(fields)} values, expected {expected} "
                            f"({_delimiter_name(delimiter)}-separated columns {list(columns)})")
    try:
        return np.asarray(rows, dtype=float).reshape(len(rows), expected)
    except ValueError:
        for number, fields in enumerate(rows):
            for column, value in zip(columns, fields):
                try:
                    float(value)
                except ValueError:
                    raise DataError(f"{where}: line {first_line + number}, column {column!r}: {value!r} is not "
                                    "a number; EMG columns must hold numbers only") from None
        raise


def _check_delimiter(line: str, delimiter: str, expected_columns: int | None, where: str) -> None:
    if len(_split(line, delimiter)) > 1 or expected_columns == 1:
        return
    others = [d for d in (",", "\t", ";", "|", " ") if d != delimiter and len(_split(line.strip(), d)) > 1]
    hint = f"; it looks {_delimiter_name(others[0])}-separated" if others else ""
    raise DataError(f"{where}: line {line[:60]!r} has a single column with the {_delimiter_name(delimiter)} "
                    f"delimiter{hint}. Pass the right delimiter (dataset-folder CSV files must be comma-separated)")


def _read_lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        text = path.read_text(encoding="latin-1")
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from exc
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def read_delimited(path: str | os.PathLike, *, delimiter: str = ",", header: bool = True,
                   skip_lines: int = 0, muscles: Sequence[str] | None = None,
                   ignore_columns: Sequence[str] = ("time",)) -> tuple[np.ndarray, tuple[str, ...]]:
    """Read EMG from delimited text (CSV, TSV, ...), one column per muscle.

    Parameters
    ----------
    path : path-like
        The file.
    delimiter : str
        Column separator (``","``, ``"\\t"``, ``";"``...). A file whose first
        line has a single column is refused with the delimiter it seems to use.
    header : bool
        Whether the first line (after ``skip_lines``) names the columns.
    skip_lines : int
        Lines to skip before the header or the data (e.g. an export's preamble).
    muscles : sequence of str, optional
        Expected muscle names, in order: with a header they are checked
        (columns listed in ``ignore_columns`` aside), without one they name the columns.
    ignore_columns : sequence of str
        Header names of non-EMG columns to drop (case-insensitive), e.g. time or frame.

    Returns
    -------
    emg : ndarray (n_samples × n_muscles)
    muscles : tuple of str

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "trial.csv"
    >>> _ = path.write_text("time,DeltA,DeltM\\n0.000,0.1,0.2\\n0.001,0.3,0.4\\n")
    >>> emg, names = read_delimited(path)
    >>> emg.shape, names
    ((2, 2), ('DeltA', 'DeltM'))
    """
    path = Path(path)
    where = f"file {path}"
    lines = _read_lines(path)[skip_lines:]
    if not lines:
        raise DataError(f"{where}: the file is empty (no header, no samples)")
    expected = None if muscles is None else len(muscles)
    if header:
        names = [n.strip() for n in next(csv.reader([lines[0]], delimiter=delimiter, skipinitialspace=True))]
        if len(names) > 1 and names[-1] == "":
            names = names[:-1]     # a trailing delimiter
        if expected is not None:
            expected += sum(n.lower() in {c.lower() for c in ignore_columns} for n in names)
        _check_delimiter(lines[0], delimiter, expected, where)
        data_lines, first_line = lines[1:], skip_lines + 2
    else:
        if muscles is None:
            raise DataError(f"{where}: a file without a header needs the muscle names (muscles=...)")
        _check_delimiter(lines[0], delimiter, expected, where)
        names, data_lines, first_line = list(muscles), lines, skip_lines + 1
    if not data_lines:
        raise DataError(f"{where}: the file has a header but no samples")
    table = _parse_rows(data_lines, first_line, delimiter, names, where)
    ignored = {c.lower() for c in ignore_columns}
    keep = [i for i, n in enumerate(names) if n.lower() not in ignored]
    found = check_muscle_names([names[i] for i in keep], where)
    if muscles is not None:
        check_same_muscles(found, muscles, where)
    return table[:, keep], found


def read_exp(path: str | os.PathLike, muscles: Sequence[str] | None = None
             ) -> tuple[np.ndarray, tuple[str, ...], float | None]:
    """Read a tab-separated ``.exp`` motion-capture EMG export.

    The export starts with a preamble of ``value<TAB>// description`` lines (one
    holds ``<rate><TAB>// Measurement rate``), then a header row
    ``Frame #<TAB>name...`` and one row per sample, each line ending in a tab.
    Files exported without the preamble and header hold the EMG columns alone;
    pass ``muscles`` to name them.

    Returns
    -------
    emg : ndarray (n_samples × n_muscles)
    muscles : tuple of str
    fs : float or None
        The measurement rate of the preamble (``None`` without a preamble).
    """
    path = Path(path)
    lines = _read_lines(path)
    where = f"file {path}"
    if not lines:
        raise DataError(f"{where}: the file is empty")
    first = _split(lines[0], "\t")[0]
    try:
        float(first)
        has_header = False
    except ValueError:
        has_header = True
    if not has_header:
        if muscles is None:
            raise DataError(f"{where}: the export has no header row; pass the muscle names (muscles=...)")
        emg, names = read_delimited(path, delimiter="\t", header=False, muscles=muscles)
        return emg, names, None
    fs = None
    header_row = None
    for number, line in enumerate(lines):
        if "measurement rate" in line.lower():
            try:
                fs = float(_split(line, "\t")[0])
            except ValueError:
                raise DataError(f"{where}, line {number + 1}: measurement rate {line!r} is not a number") from None
        if _split(line, "\t")[0].lower().startswith("frame"):
            header_row = number
            break
    if header_row is None:
        raise DataError(f"{where}: no header row starting with 'Frame #' was found after the preamble")
    emg, names = read_delimited(path, delimiter="\t", header=True, skip_lines=header_row, muscles=muscles,
                                ignore_columns=(_split(lines[header_row], "\t")[0],))
    return emg, names, fs


def read_c3d(path: str | os.PathLike, channels: Sequence[str] | None = None
             ) -> tuple[np.ndarray, tuple[str, ...], float, tuple[str, ...]]:
    """Read analog channels (e.g. EMG) from a C3D file with ezc3d.

    Parameters
    ----------
    path : path-like
    channels : sequence of str, optional
        Analog labels to keep, in this order (default: all).

    Returns
    -------
    emg : ndarray (n_samples × n_channels)
    labels : tuple of str
    fs : float
        Analog sampling rate in Hz.
    units : tuple of str
    """
    try:
        import ezc3d
    except ImportError:
        raise ImportError("reading C3D files needs the optional package ezc3d: "
                          "pip install 'synlib[formats]' (or pip install ezc3d)") from None
    path = Path(path)
    try:
        c3d = ezc3d.c3d(str(path))
    except Exception as exc:     # ezc3d raises bare RuntimeErrors for damaged files
        raise DataError(f"file {path}: not a readable C3D file ({exc})") from exc
    analog = c3d["parameters"]["ANALOG"]
    labels = tuple(str(label).strip() for label in analog["LABELS"]["value"])
    units = tuple(analog["UNITS"]["value"]) if "UNITS" in analog else ("",) * len(labels)
    fs = float(np.ravel(analog["RATE"]["value"])[0])
    data = np.asarray(c3d["data"]["analogs"])[0].T
    if channels is not None:
        missing = [c for c in channels if c not in labels]
        if missing:
            raise DataError(f"file {path}: analog channels {missing} not found; it has {list(labels)}")
        index = [labels.index(c) for c in channels]
        data, labels, units = data[:, index], tuple(channels), tuple(units[i] for i in index)
    return np.ascontiguousarray(data, dtype=float), labels, fs, units


def read_mat(path: str | os.PathLike, variable: str = "emg", *, muscles_variable: str | None = None,
             fs_variable: str | None = None, transpose: bool = False
             ) -> tuple[np.ndarray, tuple[str, ...] | None, float | None]:
    """Read EMG (and optionally muscle names and rate) from a MATLAB ``.mat`` file.

    Parameters
    ----------
    path : path-like
    variable : str
        Name of the samples × muscles matrix.
    muscles_variable, fs_variable : str, optional
        Names of a cell array of muscle names and of the sampling rate.
    transpose : bool
        Set when the matrix is stored muscles × samples.

    Returns
    -------
    emg, muscles (or None), fs (or None)

    Examples
    --------
    >>> import tempfile, pathlib, scipy.io
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "trial.mat"
    >>> scipy.io.savemat(path, {"emg": np.ones((5, 2)), "names": np.array(["A", "B"], dtype=object)})
    >>> emg, names, fs = read_mat(path, muscles_variable="names")
    >>> emg.shape, names, fs
    ((5, 2), ('A', 'B'), None)
    """
    import scipy.io

    path = Path(path)
    where = f"file {path}"
    try:
        content = scipy.io.loadmat(path, squeeze_me=True)
    except NotImplementedError:
        raise DataError(f"{where}: MATLAB v7.3 (HDF5) files are not read; save with -v7 in MATLAB "
                        "(save(file, 'emg', '-v7')) or convert with h5py") from None
    except Exception as exc:      # scipy raises several types for damaged files
        raise DataError(f"{where}: not a readable MATLAB file ({exc}); is it truncated?") from exc
    available = sorted(k for k in content if not k.startswith("__"))

    def get(name: str) -> Any:
        if name not in content:
            raise DataError(f"{where}: variable {name!r} not found; it has {available}")
        return content[name]

    emg = np.asarray(get(variable))
    if emg.ndim == 1:
        emg = emg[:, None]
    if emg.dtype == object or emg.ndim != 2:
        raise DataError(f"{where}: variable {variable!r} has shape {emg.shape} and dtype {emg.dtype}; "
                        "expected a numeric samples × muscles matrix")
    emg = emg.T if transpose else emg
    names = None
    if muscles_variable is not None:
        names = check_muscle_names([str(n) for n in np.atleast_1d(get(muscles_variable))], where)
    fs = float(get(fs_variable)) if fs_variable is not None else None
    return np.ascontiguousarray(emg, dtype=float), names, fs


# --------------------------------------------------------------------------- dataset folders
