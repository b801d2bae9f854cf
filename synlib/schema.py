"""The results files of a study, written down once: names, columns with their kinds, array keys.

Every chapter hands its results to the next through ``results/<study>/``: tidy
CSV tables and NPZ archives of arrays. This module is the one place that says
which files there are, which chapter writes each, what columns a table has
(and of what kind) and how the keys of an archive are built. :mod:`synlib.results`
checks every table against its :class:`Table` when it writes it and when it reads
it back, and every archive's keys against its :class:`Arrays`, so a misspelt
column or key fails where it is made or met, naming the file and the column.

The declarations are the dicts ``TABLES`` and ``ARRAYS`` (short name → :class:`Table`
or :class:`Arrays`); ``print(schema.TABLES["nmf_fits"].describe())`` lists a table's
columns. A fork's own chapters may write tables of their own under other names;
those are written and read as they are, unchecked.

Examples
--------
>>> TABLES["ae_fits"].file_name(encoder="relu", decoder="tanh")
'ae_fits_relu_tanh'
>>> TABLES["ae_fits"].match("ae_fits_relu_tanh")
{'encoder': 'relu', 'decoder': 'tanh'}
>>> fit_key("P01", 5, "synergies"), fit_key("P01", 5, "synergies", seed=2)
('P01.k5.synergies', 'P01.k5.s2.synergies')
>>> parse_fit_key("P01.k5.s2.synergies")
FitKey(participant='P01', k=5, seed=2, field='synergies')
"""

from __future__ import annotations

import difflib
import re
import string
from dataclasses import dataclass
from typing import NamedTuple

import pandas as pd

__all__ = ["Column", "Table", "Arrays", "SchemaError", "TABLES", "ARRAYS", "table_for", "arrays_for",
           "text_columns", "fit_key", "parse_fit_key", "FitKey"]

#: What a column holds. "text" is read back as text (a participant "01" stays "01").
KINDS = ("text", "int", "float", "bool")


class SchemaError(ValueError):
    """A results file that does not have the columns or keys its schema declares."""


@dataclass(frozen=True)
class Column:
    """One column of a results table: its name, kind (``KINDS``: text, int, float, bool) and meaning."""

    name: str
    kind: str
    doc: str

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"column {self.name!r}: kind {self.kind!r} is not one of {KINDS}")


def _fields(pattern: str) -> list[str]:
    return [field for _, field, _, _ in string.Formatter().parse(pattern) if field]


def _pattern_regex(pattern: str) -> re.Pattern:
    regex = "".join(re.escape(text) + (f"(?P<{field}>[A-Za-z0-9]+)" if field else "")
                    for text, field, _, _ in string.Formatter().parse(pattern))
    return re.compile(f"^{regex}$")


def _did_you_mean(name: str, choices) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass(frozen=True)
class Table:
    """A results table: file name pattern, writing chapter, columns.

    Parameters
    ----------
    pattern : str
        File name without ``.csv``; ``{field}`` parts (e.g. ``ae_fits_{encoder}_{decoder}``)
        stand for letters and digits.
    writer : str
        The chapter notebook that writes it (the only one: ``tests/test_notebooks.py``).
    doc : str
        What one row is.
    columns : tuple of Column
        The columns every such table has.
    open_columns : bool
        Whether other columns may follow (the trial metadata of a dataset, say).
    """

    pattern: str
    writer: str
    doc: str
    columns: tuple[Column, ...]
    open_columns: bool = False

    def file_name(self, **fields) -> str:
        """The file name (without ``.csv``) for the pattern's fields."""
        return self.pattern.format(**fields)

    def match(self, name: str) -> dict | None:
        """The pattern's fields if ``name`` is one of this table's file names, else ``None``."""
        found = _pattern_regex(self.pattern).match(name)
        return None if found is None else found.groupdict()

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def describe(self) -> str:
        """The table as a reader needs it: file, writer, one row, and each column with kind and meaning."""
        lines = [f"{self.pattern}.csv (written by {self.writer}): {self.doc}"]
        lines += [f"  {c.name:<24} {c.kind:<6} {c.doc}" for c in self.columns]
        if self.open_columns:
            lines.append("  (and any further columns)")
        return "\n".join(lines)

    def check(self, frame: pd.DataFrame, path) -> None:
        """Raise :class:`SchemaError` naming ``path`` and the column if ``frame`` does not fit.

        Columns must all be present, of their kind (a text column may hold anything,
        a float column only numbers or blanks, an int or bool column no blanks), and,
        unless ``open_columns``, no others.
        """
        where = f"{path} (a {self.pattern} table, written by {self.writer})"
        missing = [c for c in self.names if c not in frame.columns]
        extra = [c for c in frame.columns if c not in self.names]
        if missing:
            name = missing[0]
            hint = _did_you_mean(name, extra)
            raise SchemaError(f"{where}: column {name!r} is missing{hint.replace('did you mean', 'found')}; "
                              f"its columns are {self.names}")
        if extra and not self.open_columns:
            raise SchemaError(f"{where}: column {extra[0]!r} is not one of its columns{_did_you_mean(extra[0], self.names)}; "
                              f"its columns are {self.names}")
        for column in self.columns:
            values = frame[column.name]
            if not _is_kind(values, column.kind):
                example = values[values.notna()].iloc[0] if values.notna().any() else "a blank"
                raise SchemaError(f"{where}: column {column.name!r} should hold {column.kind} values "
                                  f"({column.doc}), found {example!r}")


def _is_kind(values: pd.Series, kind: str) -> bool:
    if kind == "text" or len(values) == 0:
        return True
    if kind == "float":
        return pd.api.types.is_numeric_dtype(values) or values.isna().all()
    if kind == "int":
        return pd.api.types.is_integer_dtype(values) and not pd.api.types.is_bool_dtype(values)
    return pd.api.types.is_bool_dtype(values)


class FitKey(NamedTuple):
    """The parts of an array key of a fitted model (``seed`` is ``None`` for NMF)."""

    participant: str
    k: int
    seed: int | None
    field: str


_FIT_KEY = re.compile(r"^(?P<participant>.+)\.k(?P<k>\d+)(?:\.s(?P<seed>\d+))?\.(?P<field>[a-z_]+)$")


def fit_key(participant: str, k: int, field: str, seed: int | None = None) -> str:
    """Key of one array of a fitted model: ``<participant>.k<k>[.s<seed>].<field>``."""
    return f"{participant}.k{int(k)}." + ("" if seed is None else f"s{int(seed)}.") + field


def parse_fit_key(key: str) -> FitKey | None:
    """The parts of a :func:`fit_key`, or ``None`` if ``key`` is not one."""
    found = _FIT_KEY.match(key)
    if found is None:
        return None
    seed = found["seed"]
    return FitKey(found["participant"], int(found["k"]), None if seed is None else int(seed), found["field"])


@dataclass(frozen=True)
class Arrays:
    """An NPZ archive of a study: file name pattern, writer, and the keys it may hold.

    ``fixed`` keys are named in full (``X``); ``fields`` are the last part of
    :func:`fit_key` keys (``seeded`` says whether they carry a seed);
    ``prefixed`` maps a key's first part to what it holds (``truth.<name>``) and
    ``suffixed`` a key's last part (``<participant>.true_synergies``).
    """

    pattern: str
    writer: str
    doc: str
    fixed: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    seeded: bool = False
    prefixed: tuple[str, ...] = ()
    suffixed: tuple[str, ...] = ()

    def file_name(self, **fields) -> str:
        return self.pattern.format(**fields)

    def match(self, name: str) -> dict | None:
        found = _pattern_regex(self.pattern).match(name)
        return None if found is None else found.groupdict()

    def key_is_valid(self, key: str) -> bool:
        if key in self.fixed or key.split(".", 1)[0] in self.prefixed and "." in key:
            return True
        if "." in key and key.rsplit(".", 1)[1] in self.suffixed:
            return True
        parsed = parse_fit_key(key)
        return parsed is not None and parsed.field in self.fields and (parsed.seed is not None) == self.seeded

    def check(self, keys, path) -> None:
        """Raise :class:`SchemaError` naming ``path`` and the first key this archive may not hold."""
        for key in keys:
            if not self.key_is_valid(key):
                shapes = [*self.fixed, *(f"{p}.<name>" for p in self.prefixed),
                          *(f"<participant>.{s}" for s in self.suffixed),
                          *(f"<participant>.k<k>{'.s<seed>' if self.seeded else ''}.{f}" for f in self.fields)]
                raise SchemaError(f"{path} (written by {self.writer}): key {key!r} is not one of its keys, "
                                  f"which are {shapes}")


def _columns(*specs: tuple[str, str, str]) -> tuple[Column, ...]:
    return tuple(Column(*spec) for spec in specs)


_METHOD = (
    ("method", "text", '"NMF" or "AE"'),
    ("encoder", "text", "encoder activation (blank for NMF)"),
    ("decoder", "text", "decoder activation (blank for NMF)"),
)

_TRUTH = (
    ("truth_similarity", "float", "recall of the true synergies (blank without truth)"),
    ("truth_precision", "float", "precision against the true synergies (blank without truth)"),
)

_FIT = (
    ("participant", "text", "participant id"),
    *_METHOD,
    ("k", "int", "number of synergies"),
    ("seed", "int", "random seed of the fit"),
    ("r2_train", "float", "centred R² on the training repetitions"),
    ("r2_global_train", "float", "uncentred R² on the training repetitions"),
    ("vaf_train", "float", "variance accounted for on the training repetitions"),
    ("r2_test", "float", "centred R² on the held-out repetitions (blank if none)"),
    ("r2_global_test", "float", "uncentred R² on the held-out repetitions"),
    ("vaf_test", "float", "variance accounted for on the held-out repetitions"),
    *_TRUTH,
)

_INTERVAL = (
    ("median", "float", "median across participants"),
    ("ci_low", "float", "lower end of the 95 % bootstrap interval of the median"),
    ("ci_high", "float", "upper end of the 95 % bootstrap interval of the median"),
)

_AE_FIT_COLUMNS = _columns(
    *_FIT,
    ("r2_test_refit", "float", "centred R² on the held-out repetitions with the hidden outputs refitted to them, "
                               "the decoder fixed (as NMF's held-out activations are)"),
    ("dead_units", "float", "fraction of hidden units never active"),
    ("effective_similarity", "float", "decoder weights against effective synergies"),
    ("final_loss", "float", "training loss at the end"),
    ("training", "text", "training specification: converged (ours) or group (2000 RMSprop steps)"),
    ("passes", "float", "passes over the training data used"),
    ("converged", "bool", "whether the model passed the convergence test"),
    ("stop", "text", "why training ended: converged, stalled, capped or budget"),
    ("loss_fall", "float", "relative fall of the loss over the test's last window"),
    ("backend", "text", "training backend (compiled kernel or torch)"),
)

# Every results table of the book's chapters, by a short name.
TABLES: dict[str, Table] = {
    "envelope_rows": Table(
        "envelope_rows", "01_preprocessing", "one envelope sample: its trial and time",
        _columns(("participant", "text", "participant id"), ("trial", "text", "trial id"),
                 ("condition", "text", "condition of the trial"), ("repetition", "int", "repetition number"),
                 ("segment", "int", "movement segment within the trial"),
                 ("phase", "text", "phase of the segment"), ("time", "float", "normalised time in the segment")),
        open_columns=True),
    "preprocess_steps": Table(
        "preprocess_steps", "01_preprocessing", "one preprocessing step applied, in the order they ran",
        _columns(("stage", "text", "trial (each trial alone) or participant (a participant's trials together)"),
                 ("step", "text", "the step's name (synlib.preprocess.chain)"),
                 ("parameters", "text", "the step's parameters as JSON"))),
    "nmf_fits": Table("nmf_fits", "02_nmf", "one NMF model: participant × rank", _columns(*_FIT)),
    "nmf_ranks": Table(
        "nmf_ranks", "02_nmf", "one rank chosen by one rule for one participant",
        _columns(("participant", "text", "participant id"), ("rule", "text", "rank rule"),
                 ("k", "int", "chosen rank"), ("headline", "bool", "whether the rule is the headline rule"),
                 ("offset", "float", "offset from the headline rank (blank for another rule's pick)"))),
    "nmf_rank_curve": Table(
        "nmf_rank_curve", "02_nmf", "one NMF restart at one rank",
        _columns(("participant", "text", "participant id"), ("k", "int", "rank"), ("restart", "int", "restart"),
                 ("r2_centred", "float", "centred R²"), ("r2_global", "float", "uncentred R²"),
                 ("vaf", "float", "variance accounted for"), ("n_iter", "int", "iterations run"),
                 ("best", "bool", "whether this restart is the rank's kept fit"))),
    "ae_fits": Table(
        "ae_fits_{encoder}_{decoder}", "03_autoencoder", "one autoencoder: participant × rank × seed",
        _AE_FIT_COLUMNS),
    "ae_group_fits": Table(
        "ae_fits_{encoder}_{decoder}_group", "03_autoencoder",
        "one autoencoder trained for the group's fixed budget (the comparison of training specifications)",
        _AE_FIT_COLUMNS),
    "tradeoff_intervals": Table(
        "tradeoff_intervals", "04_tradeoff", "one configuration × measure at the headline rank",
        _columns(("config", "text", '"NMF" or "<encoder>/<decoder>"'), ("measure", "text", "measure"),
                 ("n", "int", "participants"), *_INTERVAL, ("rule", "text", "headline rank rule"))),
    "tradeoff_claims": Table(
        "tradeoff_claims", "04_tradeoff", "the verdict on the two claims at one rank rule and measure",
        _columns(("rule", "text", "rank rule"), ("interpretability", "text", "interpretability measure"),
                 ("claim1", "text", "verdict on claim 1"), ("claim2", "text", "verdict on claim 2"),
                 ("top_reconstruction", "text", "pairs not separable from the best reconstruction (';'-joined)"),
                 ("top_interpretability", "text", "pairs not separable from the best on the measure"),
                 ("pair_rank", "float", "rank of the paper's pair on the measure (blank if it was not trained)"),
                 ("n_pairs", "int", "pairs compared"), ("n_participants", "int", "participants"),
                 ("smallest_p", "float", "smallest attainable p at this number of participants"),
                 ("rho", "float", "Spearman ρ of the pairs' medians on the two measures"),
                 ("pair_median", "float", "median of the paper's pair"),
                 ("pair_ci_low", "float", "lower end of its interval"),
                 ("pair_ci_high", "float", "upper end of its interval"),
                 ("best_median", "float", "median of the best pair"),
                 ("left_out", "text", "pairs left out: a kept model did not converge (';'-joined)"),
                 ("training", "text", "training specification of the autoencoders compared"),
                 ("study", "text", "study"), ("headline_rule", "text", "the study's headline rule"),
                 ("headline_measure", "text", "the study's headline interpretability measure"),
                 ("headline_training", "text", "the study's headline training specification"))),
    "sensitivity": Table(
        "sensitivity_{axis}", "05_sensitivity", "one fit at one level of a simulator axis",
        _columns(("axis", "text", "simulator axis"), ("level", "float", "value of the axis"),
                 ("participant", "text", "participant id"), ("k_true", "int", "true number of synergies"),
                 *_METHOD, ("config", "text", '"NMF" or "<encoder>/<decoder>"'), *_TRUTH,
                 ("r2_test", "float", "centred R² on the held-out repetitions"),
                 ("chance", "float", "recall of shuffled synergies (chance level)"))),
    "nmf_validation": Table(
        "nmf_validation", "nmf_validation", "one gait recording fitted by one solver",
        _columns(("solver", "text", "NMF solver"), ("participant", "text", "recording"),
                 ("k", "int", "rank of the reference"), ("r2_musclesynergies", "float", "R² of the reference"),
                 ("r2_synlib", "float", "R² of synlib's fit"), ("r2_difference", "float", "synlib minus reference"),
                 ("similarity_mean", "float", "mean matched similarity to the reference synergies"),
                 ("similarity_min", "float", "lowest matched similarity"), ("n_iter", "int", "iterations"))),
}

_AE_ARRAY_FIELDS = ("synergies", "activations_train", "activations_test", "hidden_test", "output_test",
                    "loss_curve", "loss_passes", "effective_synergies")

# Every NPZ archive of the book's chapters, by a short name.
ARRAYS: dict[str, Arrays] = {
    "envelopes": Arrays("envelopes", "01_preprocessing", "the envelope matrix and what the data know of it",
                        fixed=("X", "muscles"), prefixed=("truth",),
                        suffixed=("true_synergies", "amplitude_scale")),
    "nmf_synergies": Arrays("nmf_synergies", "02_nmf", "the kept NMF model of each participant and rank",
                            fields=("synergies", "activations_train", "activations_test")),
    "ae": Arrays("ae_{encoder}_{decoder}", "03_autoencoder", "each autoencoder of one activation pair",
                 fields=_AE_ARRAY_FIELDS, seeded=True),
    "ae_group": Arrays("ae_{encoder}_{decoder}_group", "03_autoencoder",
                       "each autoencoder of one activation pair trained for the group's fixed budget",
                       fields=_AE_ARRAY_FIELDS, seeded=True),
}


def _find(specs: dict, name: str):
    for spec in specs.values():
        if spec.match(name) is not None:
            return spec
    return None


def table_for(name: str) -> Table | None:
    """The :class:`Table` whose pattern matches the file name ``name``, or ``None``."""
    return _find(TABLES, name)


def arrays_for(name: str) -> Arrays | None:
    """The :class:`Arrays` whose pattern matches the file name ``name``, or ``None``."""
    return _find(ARRAYS, name)


def text_columns(name: str) -> list[str]:
    """Columns of table ``name`` to read as text (the identifier columns of any table)."""
    spec = table_for(name)
    declared = [] if spec is None else [c.name for c in spec.columns if c.kind == "text"]
    return list(dict.fromkeys([*declared, *_IDENTIFIERS]))


#: Identifiers read back as text in any table, declared or not: pandas would turn "01" into 1.
_IDENTIFIERS = ("participant", "trial", "condition", "plane", "method", "encoder", "decoder", "config")
