"""The trade-off between reconstruction and interpretability, across configurations.

A *configuration* is NMF or one autoencoder encoder/decoder activation pair
(labelled ``"<encoder>/<decoder>"``). :func:`load_study_table` gathers the fit
tables that the NMF and autoencoder chapters wrote and adds the
interpretability measures of :mod:`synlib.metrics`, computed from their arrays:
one tidy row per participant × configuration × seed. The rest compares
configurations across participants (the blocks of every test):

- :func:`friedman_test`: Friedman test over configurations with Kendall's W;
- :func:`pairwise_wilcoxon`: post-hoc Wilcoxon signed-rank tests, Holm-corrected
  (:func:`holm`), with the matched-pairs rank-biserial correlation
  (:func:`rank_biserial`) as effect size;
- :func:`rank_agreement`: Spearman correlation between the ranking of
  configurations by reconstruction and by each interpretability measure;
- :func:`pareto_front`: the configurations no other one beats on both axes.

Every function returns a tidy DataFrame (or a plain array for :func:`holm`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from synlib import metrics, paths, results, schema

#: Display order of activations (heat-map rows and columns); others found on disk follow.
ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh")
NMF = "NMF"


@dataclass(frozen=True)
class Measure:
    """What a column of the study table measures and which way is better.

    ``better`` is ``"higher"``, ``"lower"`` or ``None`` for a measure that only
    describes (Hoyer sparseness: the physiology does not say how sparse a synergy
    should be).
    """

    label: str
    better: str | None
    kind: str


MEASURES: dict[str, Measure] = {
    "r2_train": Measure("R² (training)", "higher", "reconstruction"),
    "r2_test": Measure("R² (held out)", "higher", "reconstruction"),
    "r2_test_refit": Measure("R² (held out, activations refitted)", "higher", "reconstruction"),
    "r2_global_test": Measure("R² about the grand mean (held out)", "higher", "reconstruction"),
    "vaf_test": Measure("VAF (held out)", "higher", "reconstruction"),
    # NMF-likeness: NMF scores 1 by construction, so it says how NMF-like a pair is, not how physiological
    "nmf_similarity": Measure("NMF-likeness: similarity to NMF synergies", "higher", "nmf-likeness"),
    "nmf_similarity_greedy": Measure("NMF-likeness, greedy pairing", "higher", "nmf-likeness"),
    "nmf_activation_correlation": Measure("NMF-likeness: correlation with NMF activations", "higher",
                                          "nmf-likeness"),
    "hoyer": Measure("Hoyer sparseness of synergies", None, "interpretability"),
    # "design": measures that some pairs score by construction (design_facts says which); described, not judged
    "negative_activations": Measure("fraction of negative activations", "lower", "design"),
    "dead_units": Measure("fraction of dead units", "lower", "interpretability"),
    "hidden_saturation": Measure("saturated encoder outputs (bounded activations)", "lower", "design"),
    "output_saturation": Measure("saturated decoder outputs (bounded activations)", "lower", "design"),
    "consistency": Measure("similarity across participants", "higher", "interpretability"),
    "effective_similarity": Measure("decoder weights against effective synergies", "higher", "design"),
    "seed_stability": Measure("similarity across seeds", "higher", "stability"),
    "truth_similarity": Measure("recovery of the true synergies", "higher", "truth"),
    "truth_precision": Measure("precision against the true synergies", "higher", "truth"),
    "truth_activation_correlation": Measure("correlation with true activations", "higher", "truth"),
    "direction_error": Measure("error of preferred directions (degrees)", "lower", "truth"),
    "negative_weights": Measure("fraction of negative synergy weights (a check: 0 by the clip)", None, "check"),
}

#: The variants of the measures whose readout and matching are choices: measure → (base, readout, matching).
#: The readout is the decoder weights or the effective synergies (mean Jacobian); the matching pairs
#: synergies by the Hungarian method or the authors' group's greedy rule.
VARIANTS = {f"{base}{'_effective' if readout == 'effective' else ''}{'_greedy' if matching == 'greedy' else ''}":
            (base, readout, matching)
            for base in ("truth_similarity", "consistency")
            for readout in ("weights", "effective") for matching in ("hungarian", "greedy")}


_READOUT_LABELS = {"weights": "decoder weights", "effective": "effective synergies"}
for _name, (_base, _readout, _matching) in VARIANTS.items():
    if _name != _base:
        MEASURES[_name] = Measure(f"{MEASURES[_base].label} ({_READOUT_LABELS[_readout]}, {_matching} matching)",
                                  MEASURES[_base].better, MEASURES[_base].kind)

#: Measure kinds the verdict judges (NMF-likeness is the paper's own criterion and is reported apart;
#: design measures are fixed by construction for some pairs).
JUDGED_KINDS = ("truth", "interpretability")

#: Chance levels computed beside the similarity measures (same synergies, muscles shuffled).
CHANCE = {"truth_similarity": "truth_similarity_chance", "truth_precision": "truth_precision_chance",
          "nmf_similarity": "nmf_similarity_chance"}

_AE_FITS = schema.TABLES["ae_fits"]
#: The autoencoders' fits tables and archives by training variant: "" the headline (converged)
#: training, "group" the group's fixed budget (trained for the comparison of specifications).
_VARIANTS = {"": ("ae_fits", "ae"), "group": ("ae_group_fits", "ae_group")}


def config_label(method: str, encoder: str = "", decoder: str = "") -> str:
    """Name of a configuration: ``"NMF"`` or ``"<encoder>/<decoder>"``.

    Examples
    --------
    >>> config_label("AE", "relu", "tanh"), config_label("NMF")
    ('relu/tanh', 'NMF')
    """
    return NMF if method == NMF else f"{encoder}/{decoder}"


def activation_order(names) -> list[str]:
    """Activations in display order: :data:`ACTIVATIONS` first, any others sorted after.

    Examples
    --------
    >>> activation_order(["tanh", "elu", "linear"])
    ['linear', 'tanh', 'elu']
    """
    names = set(names)
    return [a for a in ACTIVATIONS if a in names] + sorted(names - set(ACTIVATIONS))


def config_order(configs) -> list[str]:
    """NMF first, then the pairs by encoder, then decoder, in :func:`activation_order`.

    Examples
    --------
    >>> config_order(["tanh/relu", "NMF", "relu/tanh", "relu/linear"])
    ['NMF', 'relu/linear', 'relu/tanh', 'tanh/relu']
    """
    configs = set(configs)
    pairs = [c.split("/") for c in configs if c != NMF]
    rank = {a: i for i, a in enumerate(activation_order(a for pair in pairs for a in pair))}
    ordered = sorted(pairs, key=lambda pair: (rank[pair[0]], rank[pair[1]]))
    return ([NMF] if NMF in configs else []) + ["/".join(pair) for pair in ordered]


# --- reading a study ------------------------------------------------------------------------------


def _variant(variant: str) -> tuple[schema.Table, schema.Arrays]:
    if variant not in _VARIANTS:
        raise ValueError(f"unknown training variant {variant!r}; allowed: {', '.join(map(repr, _VARIANTS))}")
    table, arrays = _VARIANTS[variant]
    return schema.TABLES[table], schema.ARRAYS[arrays]


def ae_tables_on_disk(study: str, variant: str = "") -> list[str]:
    """Names of the autoencoder fits tables of ``study`` (``ae_fits_<encoder>_<decoder>``; with
    ``variant="group"`` those of the group's budget, ``…_group``), sorted."""
    spec, _ = _variant(variant)
    folder = paths.results_dir(study)
    names = sorted(p.stem for p in folder.glob("ae_fits_*.csv"))
    return [n for n in names if spec.match(n)]


def _read_fits(study: str, name: str) -> pd.DataFrame:
    table = results.read_table(study, name)
    table[["encoder", "decoder"]] = table[["encoder", "decoder"]].fillna("")
    return table


def select_participants(ids, participants) -> list[str]:
    """The chapter parameter ``participants`` applied to the ids found in a study.

    ``None`` keeps all, an int the first n (in the order of the NMF table), a list those ids.

    Examples
    --------
    >>> select_participants(["P1", "P2", "P3"], 2)
    ['P1', 'P2']
    """
    ids = list(dict.fromkeys(str(i) for i in ids))
    if participants is None:
        return ids
    if isinstance(participants, (int, np.integer)) and not isinstance(participants, bool):
        if participants < 1:
            raise ValueError(f"participants={participants}: give a positive number, a list of ids or None")
        return ids[:participants]
    wanted = [str(p) for p in participants]
    unknown = [p for p in wanted if p not in ids]
    if unknown:
        raise ValueError(f"participants {unknown} have no results in this study; found {ids}")
    return wanted


def _fit_array(arrays: dict, source: str, participant: str, k: int, field: str, seed: int | None = None):
    key = schema.fit_key(participant, k, field, seed=seed)
    if key not in arrays:
        raise ValueError(f"{source} has no array {key!r}; its first keys are {sorted(arrays)[:6]}")
    return arrays[key]


def _row_measures(W, C_train, C_test, W_nmf, C_nmf_test) -> dict[str, float]:
    hungarian = metrics.match_synergies(W, W_nmf)
    return {
        "nmf_similarity": hungarian.mean,
        "nmf_similarity_greedy": metrics.match_synergies_greedy(W, W_nmf).mean,
        "nmf_activation_correlation": float(np.mean(metrics.activation_correlation(C_test, C_nmf_test, hungarian))),
        "hoyer": float(np.nanmean(metrics.hoyer_sparseness(W))),
        "negative_weights": metrics.negative_fraction(W),
        "negative_activations": metrics.negative_fraction(C_test),
        "dead_units": metrics.dead_unit_fraction(C_train),
    }


def _add_consistency(table: pd.DataFrame, readouts: dict[str, dict]) -> dict:
    """Consistency across participants of the kept models, in every readout and matching, in place.

    For each configuration and rule, each kept model's mean matched similarity to the other
    participants' kept models. Returns the participants × participants similarity matrices by
    (measure, config, rule), which the claims resample (:mod:`synlib.contrasts`).
    """
    pairwise = {}
    for measure, (_, readout, matching) in VARIANTS.items():
        if not measure.startswith("consistency"):
            continue
        table[measure] = np.nan
        for (config, rule), group in table[table["kept"].astype(bool)].groupby(["config", "rule"], sort=False):
            if len(group) < 2:
                continue
            sets = {table.at[i, "participant"]: readouts[readout][i] for i in group.index}
            square = metrics.similarity_square(metrics.cross_participant_similarity(sets, matching))
            values = square.to_numpy(dtype=float)
            off = ~np.eye(len(values), dtype=bool)
            per_participant = pd.Series((np.where(off, values, 0.0)).sum(axis=1) / (len(values) - 1), index=square.index)
            table.loc[group.index, measure] = group["participant"].map(per_participant).to_numpy()
            pairwise[(measure, config, rule)] = square
    return pairwise


def _add_seed_measures(table: pd.DataFrame, synergies: dict) -> pd.DataFrame:
    """``kept`` (the seed with the lowest training loss), ``seed_stability`` and ``seed_spread_r2_test``."""
    table = table.copy()
    table["kept"] = True
    table["seed_stability"] = np.nan
    table["seed_spread_r2_test"] = np.nan
    for _, group in table.groupby(["participant", "config", "rule"], sort=False):
        if len(group) < 2:
            continue
        # chosen by training loss only, never by held-out data or truth
        loss = group["final_loss"] if "final_loss" in group else group["r2_train"].rsub(1)
        table.loc[group.index, "kept"] = group.index == loss.idxmin()
        table.loc[group.index, "seed_stability"] = metrics.set_stability({i: synergies[i] for i in group.index})
        table.loc[group.index, "seed_spread_r2_test"] = float(group["r2_test"].std(ddof=1))
    return table


@dataclass(frozen=True)
class Study:
    """A study's table (:func:`load_study_table`) and the consistency matrices behind it.

    ``pairwise`` maps (consistency measure, configuration, rule) to the participants ×
    participants matched similarity of the kept models, which :mod:`synlib.contrasts`
    resamples (consistency is not one independent value per participant).
    """

    table: pd.DataFrame
    pairwise: dict


def load_study_table(study: str, participants=None, **options) -> pd.DataFrame:
    """The table of :func:`load_study` (every measure, one row per fit and rule label)."""
    return load_study(study, participants, **options).table


def load_study(study: str, participants=None, *, true_synergies=None, true_activations_test=None,
               directions_test=None, saturation_tol: float = 1e-3, chance_draws: int = 100,
               variant: str = "") -> Study:
    """One tidy row per participant × configuration × rank rule × seed, with every measure.

    Reads ``nmf_fits.csv``, ``nmf_ranks.csv``, ``nmf_synergies.npz`` and every
    ``ae_fits_<enc>_<dec>.csv`` with its ``ae_<enc>_<dec>.npz`` (see
    :mod:`synlib.schema`). A fit at rank k appears once for every rule label of
    ``nmf_ranks.csv`` that stands for k (column ``rule``; ``headline`` marks the
    headline rule). Added to the fit columns, from the arrays:

    - NMF-likeness (named so: NMF scores 1 against itself): ``nmf_similarity`` /
      ``nmf_similarity_greedy``, the mean matched cosine similarity to the same
      participant's NMF synergies at the same rank (Hungarian / the group's greedy
      pairing), and ``nmf_activation_correlation``, the mean Pearson r of the
      matched held-out activations; ``nmf_similarity_chance`` is its chance level;
    - ``hoyer``: mean Hoyer sparseness of the synergies;
    - ``negative_activations``: fraction of negative held-out activations;
      ``negative_weights`` is kept as a check of the decoder clip (always 0);
    - ``dead_units``: fraction of units whose training activation never varies;
    - ``hidden_saturation``, ``output_saturation``: share of sigmoid or tanh
      outputs at their bounds (ReLU zeros are silence, not saturation; NaN for NMF);
    - ``consistency``: mean similarity to the other participants' synergies of the
      same configuration, rule and seed (NaN with a single participant);
    - ``effective_similarity`` (from the fit tables; 1 for NMF): mean cosine between each
      unit's decoder weights and its effective synergy (mean Jacobian);
    - ``kept``: the seed with the lowest training loss of each participant, configuration
      and rank (the model kept; chosen on training data only); ``seed_stability``, the
      mean matched similarity between the seeds' synergies, and ``seed_spread_r2_test``;
    - on simulated data, ``truth_similarity`` (matched similarity per true synergy),
      ``truth_precision`` (per extracted synergy), each with its chance level
      (``*_chance``: the same synergies with their muscles shuffled), and when
      ``true_activations_test`` is given ``truth_activation_correlation`` and, with
      ``directions_test``, ``direction_error``.

    Parameters
    ----------
    study : str
        Results folder name.
    participants : None, int or list of str
        As the chapter parameter (see :func:`select_participants`).
    true_synergies : dict of str to ndarray of shape (k_true, n_muscles), optional
    true_activations_test : dict of str to ndarray of shape (n_test, k_true), optional
        True activations over the held-out samples, in the order of ``activations_test``.
    directions_test : dict of str to (ndarray of shape (n_test,), ndarray of shape (n_conditions, d)), optional
        Each held-out sample's condition index and each condition's movement direction
        (:func:`reach_directions`), for ``direction_error``.
    saturation_tol : float, default 1e-3
        See :func:`synlib.metrics.saturation_fraction`.
    chance_draws : int, default 100
        Shuffles per row for the chance levels.
    variant : {"", "group"}
        The autoencoders' training: the headline one (``""``) or the group's fixed budget.

    Returns
    -------
    Study
        The table (NMF rows count as converged: ``converged`` True, ``training`` "NMF") and
        the consistency matrices. ``consistency`` and its variants (:data:`VARIANTS`) are
        those of the kept models: each one's mean matched similarity to the other
        participants' kept models.
    """
    rank_rows, fits = read_study_fits(study, participants, variant)
    table, synergies, activations, effective = _measured(fits, saturation_tol)
    nmf_at = fits[0].at
    table["nmf_similarity_chance"] = [
        metrics.chance_similarity(lambda A, B: metrics.match_synergies(A, B).mean, W, nmf_at(p, k, "synergies"),
                                  n_draws=chance_draws, random_state=i)
        for i, (W, p, k) in enumerate(zip(synergies, table["participant"], table["k"]))]
    if true_synergies is not None:
        _add_truth_measures(table, synergies, activations, true_synergies, true_activations_test, directions_test,
                            chance_draws, effective)
    elif true_activations_test is not None:
        raise ValueError("true_activations_test needs true_synergies to pair the activations")
    # one row per rule label that stands for the fitted rank
    labelled = table.reset_index().merge(rank_rows[["participant", "k", "rule", "headline", "offset"]],
                                         on=["participant", "k"], how="inner")
    order = labelled["index"].to_numpy()
    by_row = {i: synergies[j] for i, j in enumerate(order)}
    labelled = labelled.drop(columns="index")
    labelled = _add_seed_measures(labelled, by_row)
    pairwise = _add_consistency(labelled, {"weights": by_row, "effective": {i: effective[j] for i, j in enumerate(order)}})
    return Study(labelled, pairwise)


@dataclass
class ConfigFits:
    """The fits of one configuration (NMF or one activation pair) as a study folder holds them.

    ``table`` has the rows of the selected participants; ``at(participant, k, field, seed=None)``
    returns one of its arrays (naming ``source`` when the key is missing).
    """

    table: pd.DataFrame
    at: Callable[..., np.ndarray]
    source: str
    encoder: str = ""
    decoder: str = ""


def read_study_fits(study: str, participants=None, variant: str = "") -> tuple[pd.DataFrame, list[ConfigFits]]:
    """The selected participants' rows of ``nmf_ranks.csv`` and the fits of NMF then of every pair.

    Reads what chapters 2 and 3 wrote (:mod:`synlib.schema`; ``variant`` as in
    :func:`load_study_table`); a fits table that holds another pair's rows than its
    name says is refused.
    """
    table_spec, archive_spec = _variant(variant)
    ae_names = ae_tables_on_disk(study, variant)
    if not ae_names:
        raise FileNotFoundError(f"study {study!r} has no ae_fits_<encoder>_<decoder>.csv in "
                                f"{paths.results_dir(study)}; run the autoencoder chapter first")
    nmf = _read_fits(study, "nmf_fits")
    keep = select_participants(nmf["participant"], participants)
    rank_rows = results.read_table(study, "nmf_ranks")
    rank_rows = rank_rows[rank_rows["participant"].astype(str).isin(keep)]
    nmf_source = str(results.arrays_path(study, "nmf_synergies"))
    configs = [ConfigFits(nmf[nmf["participant"].isin(keep)],
                          partial(_fit_array, results.read_arrays(study, "nmf_synergies"), nmf_source), nmf_source)]
    for name in ae_names:
        encoder, decoder = table_spec.match(name).values()
        fits = _read_fits(study, name)
        wrong = fits[(fits["encoder"] != encoder) | (fits["decoder"] != decoder)]
        if len(wrong):
            raise ValueError(f"{results.table_path(study, name)} holds rows of the pair "
                             f"{wrong['encoder'].iloc[0]}/{wrong['decoder'].iloc[0]}, not {encoder}/{decoder}")
        archive = archive_spec.file_name(encoder=encoder, decoder=decoder)
        source = str(results.arrays_path(study, archive))
        configs.append(ConfigFits(fits[fits["participant"].isin(keep)],
                                  partial(_fit_array, results.read_arrays(study, archive), source), source,
                                  encoder, decoder))
    return rank_rows, configs


def _measured(configs: list[ConfigFits], saturation_tol: float) -> tuple[pd.DataFrame, list, list]:
    """The fit rows with the measures of their arrays, and each row's synergies and held-out activations."""
    # the registry knows the bounds of every activation, added ones too
    from synlib.autoencoder.activations import saturation_fraction

    nmf, *pairs = configs
    rows, synergies, activations, effective = [], [], [], []
    for _, fit in nmf.table.iterrows():
        p, k = fit["participant"], fit["k"]
        W, C = nmf.at(p, k, "synergies"), nmf.at(p, k, "activations_test")
        measures = _row_measures(W, nmf.at(p, k, "activations_train"), C, W, C)
        rows.append({**fit.to_dict(), **measures, "hidden_saturation": np.nan, "output_saturation": np.nan,
                     "effective_similarity": 1.0, "training": NMF, "converged": True,
                     # NMF's held-out activations are refitted (non-negative least squares) already
                     "r2_test_refit": fit["r2_test"]})
        synergies.append(W)
        activations.append(C)
        effective.append(W)  # a linear decoder's effective synergies are its weights
    for pair in pairs:
        for _, fit in pair.table.iterrows():
            p, k, seed = fit["participant"], int(fit["k"]), int(fit["seed"])
            ae_at = partial(pair.at, p, k, seed=seed)
            W, C = ae_at("synergies"), ae_at("activations_test")
            try:
                measures = _row_measures(W, ae_at("activations_train"), C,
                                         nmf.at(p, k, "synergies"), nmf.at(p, k, "activations_test"))
                measures["hidden_saturation"] = saturation_fraction(ae_at("hidden_test"), pair.encoder,
                                                                    saturation_tol)
                measures["output_saturation"] = saturation_fraction(ae_at("output_test"), pair.decoder,
                                                                    saturation_tol)
            except ValueError as exc:
                raise ValueError(f"{pair.source}, participant {p}, rank {k}, seed {seed} "
                                 f"(against {nmf.source}): {exc}") from exc
            rows.append({**fit.to_dict(), **measures})
            synergies.append(W)
            activations.append(C)
            effective.append(ae_at("effective_synergies"))
    table = pd.DataFrame(rows)
    table["config"] = [config_label(m, e, d) for m, e, d in zip(table["method"], table["encoder"], table["decoder"])]
    return table, synergies, activations, effective


def _add_truth_measures(table, synergies, activations, true_synergies, true_activations_test, directions_test,
                        chance_draws: int, effective) -> None:
    """The columns that compare each row with the simulated truth (and their chance levels), in place."""
    truth = [true_synergies[p] for p in table["participant"]]
    for measure, (base, readout, matching) in VARIANTS.items():
        if base == "truth_similarity":
            sets = synergies if readout == "weights" else effective
            table[measure] = [metrics.truth_similarity(W, T, matching) for W, T in zip(sets, truth)]
    table["truth_precision"] = [metrics.truth_precision(W, T) for W, T in zip(synergies, truth)]
    for measure in ("truth_similarity", "truth_precision"):
        function = getattr(metrics, measure)
        table[CHANCE[measure]] = [metrics.chance_similarity(function, W, T, n_draws=chance_draws, random_state=i)
                                  for i, (W, T) in enumerate(zip(synergies, truth))]
    if true_activations_test is None:
        return
    table["truth_activation_correlation"] = [
        metrics.activation_truth_correlation(C, true_activations_test[p], W, true_synergies[p])
        for C, W, p in zip(activations, synergies, table["participant"])]
    if directions_test is not None:
        table["direction_error"] = [
            metrics.direction_error(_condition_means(C, *directions_test[p]),
                                    _condition_means(true_activations_test[p], *directions_test[p]),
                                    W, true_synergies[p], directions_test[p][1])
            for C, W, p in zip(activations, synergies, table["participant"])]


def _condition_means(C: np.ndarray, condition: np.ndarray, directions: np.ndarray) -> np.ndarray:
    return np.stack([C[condition == c].mean(axis=0) for c in range(len(directions))])


def reach_directions(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each row's condition index and each condition's reach direction (simulated reaching design).

    Reach directions run from the simulator's start position to each target
    (:func:`synlib.simulate.target_positions`); rows need ``plane`` and ``target``.
    """
    from synlib import simulate

    targets = simulate.target_positions()
    keys = list(zip(targets["plane"].astype(str), targets["target"].astype(int)))
    index = {key: i for i, key in enumerate(keys)}
    try:
        condition = np.array([index[(str(p), int(t))] for p, t in zip(rows["plane"], rows["target"])])
    except KeyError as exc:
        raise ValueError(f"rows name a plane/target {exc.args[0]} that the simulated design lacks") from None
    directions = targets[["x", "y", "z"]].to_numpy(dtype=float) - simulate.START_POSITION
    return condition, directions


def study_truth(study: str, test_repetitions=None) -> dict:
    """The ground-truth arguments of :func:`load_study_table` for ``study``, or ``{}`` without truth.

    Reads the study's envelopes (written by the preprocessing chapter); on
    simulated data returns ``true_synergies``, ``true_activations_test`` and, for
    the reaching design (rows with ``plane`` and ``target``), ``directions_test``.
    """
    if not results.arrays_path(study, "envelopes").exists():
        return {}
    envelopes = results.load_envelopes(study)
    if not envelopes.true_synergies:
        return {}
    _, test = envelopes.split(envelopes.held_out(test_repetitions))
    true_synergies, true_activations = truth_of_test_rows(test)
    truth = {"true_synergies": true_synergies, "true_activations_test": true_activations}
    if {"plane", "target"} <= set(test.rows.columns):
        truth["directions_test"] = {p: reach_directions(test.select(participant=p).rows) for p in test.participants}
    return truth


def truth_of_test_rows(test_envelopes) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The ``true_synergies`` and ``true_activations_test`` arguments of :func:`load_study_table`.

    ``test_envelopes`` is the held-out part of a simulated study's
    :class:`synlib.preprocess.envelopes.Envelopes` (the second result of its ``split`` with
    the chapters' ``test_repetitions``); each participant's rows are taken in the
    order that the NMF and autoencoder chapters transformed them.
    """
    if not test_envelopes.true_synergies or "activations" not in test_envelopes.truth:
        raise ValueError("these envelopes carry no ground truth (only simulated data have it)")
    true_activations = {p: test_envelopes.select(participant=p).truth["activations"]
                        for p in test_envelopes.participants}
    return dict(test_envelopes.true_synergies), true_activations


def measures_in(table: pd.DataFrame, kind: str | None = None) -> list[str]:
    """The known measures that ``table`` holds with at least one value, optionally of one kind."""
    return [m for m, spec in MEASURES.items()
            if m in table.columns and table[m].notna().any() and (kind is None or spec.kind == kind)]


# --- across participants ------------------------------------------------------------------------


def participant_table(table: pd.DataFrame, measure: str) -> pd.DataFrame:
    """Participants × configurations of ``measure``, averaged over seeds, complete blocks only.

    Configurations with no value (e.g. saturation for NMF) are left out, then any
    participant missing a configuration, so that every test compares matched blocks.
    """
    if measure not in table.columns:
        raise KeyError(f"measure {measure!r} not in the study table; it has {measures_in(table)}")
    wide = table.pivot_table(index="participant", columns="config", values=measure, aggfunc="mean")
    wide = wide.dropna(axis=1, how="all").dropna(axis=0, how="any")
    return wide[config_order(wide.columns)]


def kendalls_w(statistic: float, n_blocks: int, n_treatments: int) -> float:
    """Kendall's coefficient of concordance from Friedman's χ²: W = χ² / (n (k − 1)).

    Examples
    --------
    >>> kendalls_w(6.0, 3, 3)
    1.0
    """
    return float(statistic / (n_blocks * (n_treatments - 1)))


def friedman_test(table: pd.DataFrame, measures) -> pd.DataFrame:
    """Friedman test of each measure over configurations, participants as blocks.

    Returns one row per measure: ``measure``, ``n_participants``,
    ``n_configurations``, ``statistic`` (χ², tie-corrected), ``pvalue`` and
    ``kendalls_w``. A measure with fewer than 2 complete participants or 3
    configurations gives NaN; one with no differences at all gives χ² = 0, p = 1.
    """
    out = []
    for measure in measures:
        wide = participant_table(table, measure)
        n, k = wide.shape
        statistic = pvalue = w = np.nan
        if n >= 2 and k >= 3:
            if np.ptp(wide.to_numpy(), axis=1).max() == 0:
                statistic, pvalue, w = 0.0, 1.0, 0.0
            else:
                statistic, pvalue = stats.friedmanchisquare(*wide.to_numpy().T)
                w = kendalls_w(statistic, n, k)
        out.append({"measure": measure, "n_participants": n, "n_configurations": k,
                    "statistic": float(statistic), "pvalue": float(pvalue), "kendalls_w": w})
    return pd.DataFrame(out)


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error control).

    Sorted ascending, the i-th smallest of m p-values is multiplied by m − i
    (i from 0); the products are made non-decreasing and capped at 1. NaN
    p-values stay NaN and do not count in m.

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03, 0.005]).round(3).tolist()
    [0.03, 0.06, 0.06, 0.02]
    """
    p = np.asarray(pvalues, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    order = valid[np.argsort(p[valid], kind="stable")]
    m = len(order)
    steps = np.maximum.accumulate(p[order] * (m - np.arange(m)))
    adjusted[order] = np.minimum(steps, 1.0)
    return adjusted


def rank_biserial(x, y) -> float:
    """Matched-pairs rank-biserial correlation of ``x − y`` (Kerby 2014).

    r = (R⁺ − R⁻) / (R⁺ + R⁻), the signed-rank sums of the non-zero differences
    (zero differences dropped, as in the Wilcoxon test): +1 when ``x`` is larger
    in every pair, −1 when smaller. NaN when every difference is zero.

    Examples
    --------
    >>> rank_biserial([2, 4, 0, 9], [1, 2, 3, 5])  # ranks 1, 2, 3, 4; R⁻ = 3
    0.4
    """
    d = np.asarray(x, dtype=float) - np.asarray(y, dtype=float)
    d = d[d != 0]
    if d.size == 0:
        return float("nan")
    ranks = stats.rankdata(np.abs(d))
    return float((ranks[d > 0].sum() - ranks[d < 0].sum()) / ranks.sum())


def pairwise_wilcoxon(table: pd.DataFrame, measure: str) -> pd.DataFrame:
    """Post-hoc Wilcoxon signed-rank test of every pair of configurations.

    Participants are the matched pairs (values averaged over seeds). Holm's
    correction runs over all pairs of this measure. Returns one row per pair:
    ``measure``, ``config_a``, ``config_b``, ``n``, ``median_difference`` (a − b),
    ``statistic``, ``pvalue``, ``pvalue_holm`` and ``rank_biserial`` (positive
    when a is larger). When every difference is zero the test has nothing to
    rank: statistic NaN, p = 1.
    """
    wide = participant_table(table, measure)
    configs = list(wide.columns)
    out = []
    for i, a in enumerate(configs):
        for b in configs[i + 1:]:
            x, y = wide[a].to_numpy(), wide[b].to_numpy()
            statistic, pvalue = np.nan, np.nan
            if len(x) >= 2:
                if np.all(x == y):
                    pvalue = 1.0
                else:
                    statistic, pvalue = stats.wilcoxon(x, y)
            out.append({"measure": measure, "config_a": a, "config_b": b, "n": len(x),
                        "median_difference": float(np.median(x - y)) if len(x) else np.nan,
                        "statistic": float(statistic), "pvalue": float(pvalue),
                        "rank_biserial": rank_biserial(x, y)})
    out = pd.DataFrame(out, columns=["measure", "config_a", "config_b", "n", "median_difference",
                                     "statistic", "pvalue", "rank_biserial"])
    out.insert(len(out.columns) - 1, "pvalue_holm", holm(out["pvalue"]))
    return out


# --- configurations -----------------------------------------------------------------------------


def config_summary(table: pd.DataFrame, measures=None, statistic: str = "median") -> pd.DataFrame:
    """One row per configuration: ``method``, ``encoder``, ``decoder``, ``config``,
    ``n_participants`` and the ``statistic`` (median or mean) over participants of
    each measure (each participant's value averaged over seeds first).
    """
    if statistic not in ("median", "mean"):
        raise ValueError(f"statistic {statistic!r} unknown; allowed: 'median', 'mean'")
    measures = measures_in(table) if measures is None else list(measures)
    per_participant = table.groupby(["method", "encoder", "decoder", "config", "participant"],
                                     sort=False)[measures].mean()
    grouped = per_participant.groupby(level=["method", "encoder", "decoder", "config"], sort=False)
    summary = grouped.agg(statistic)
    summary.insert(0, "n_participants", grouped.size())
    summary = summary.reset_index()
    order = {c: i for i, c in enumerate(config_order(summary["config"]))}
    return summary.sort_values("config", key=lambda s: s.map(order)).reset_index(drop=True)


def headline_rows(table: pd.DataFrame, rule: str | None = None) -> pd.DataFrame:
    """The kept models at the headline rank (or at rule label ``rule``): one row per participant × configuration."""
    if rule is None:
        chosen = table[table["headline"].astype(bool)]
    else:
        if rule not in set(table["rule"]):
            raise ValueError(f"rank rule {rule!r} was not fitted in this study; it has {sorted(set(table['rule']))}")
        chosen = table[table["rule"] == rule]
    return chosen[chosen["kept"].astype(bool)].reset_index(drop=True)


def convergence_table(fits: pd.DataFrame) -> pd.DataFrame:
    """Per autoencoder pair (index, display order): ``models``, ``passed`` the convergence test,
    ``median passes`` and ``most passes``, from fit rows with ``config``, ``converged`` and ``passes``.

    Examples
    --------
    >>> t = pd.DataFrame({"config": ["a/b", "a/b", "c/d"], "converged": [True, False, True],
    ...                   "passes": [500.0, 2500.0, 700.0]})
    >>> convergence_table(t)
            models  passed  median passes  most passes
    config
    a/b          2       1         1500.0       2500.0
    c/d          1       1          700.0        700.0
    """
    grouped = fits.groupby("config")
    out = pd.DataFrame({"models": grouped.size(), "passed": grouped["converged"].sum().astype(int),
                        "median passes": grouped["passes"].median(), "most passes": grouped["passes"].max()})
    return out.reindex(config_order(out.index))


def nmf_restarts(study: str) -> int | None:
    """The restarts per rank the NMF chapter ran (from its rank curve), or ``None`` when it wrote none."""
    if not results.table_path(study, "nmf_rank_curve").exists():
        return None
    curve = results.read_table(study, "nmf_rank_curve")
    return int(curve.groupby(["participant", "k"]).size().max()) if len(curve) else None


def comparable(rows: pd.DataFrame, require: int = 0) -> tuple[pd.DataFrame, list[str]]:
    """``rows`` without the configurations that have a kept model which did not pass its convergence test.

    A model still falling at its cap is compared at a point of its training, not
    at what it can reach; its whole configuration leaves the comparisons, so that
    every test still compares every participant. Rows of the group's fixed budget
    are kept as they are: that budget is the specification. Returns the rows and
    the configurations left out, in display order; fewer than ``require``
    autoencoder pairs left is refused, saying what to change.

    Examples
    --------
    >>> rows = pd.DataFrame({"config": ["NMF", "a/b", "a/b", "c/d"], "training": ["NMF", "converged"] * 2,
    ...                      "converged": [True, True, False, True]})
    >>> kept, left_out = comparable(rows)
    >>> kept["config"].tolist(), left_out
    (['NMF', 'c/d'], ['a/b'])
    """
    if "converged" not in rows.columns:
        return rows, []
    judged = rows["training"] != "group" if "training" in rows.columns else pd.Series(True, index=rows.index)
    failing = judged & ~rows["converged"].fillna(True).astype(bool)
    left_out = config_order(set(rows.loc[failing, "config"]))
    kept = rows[~rows["config"].isin(left_out)].reset_index(drop=True)
    remaining = kept.loc[kept["config"] != NMF, "config"].nunique()
    if remaining < require:
        raise ValueError(f"only {remaining} autoencoder pair(s) have every kept model converged ({len(left_out)} left "
                         f"out: {', '.join(left_out)}); train longer (training_options: max_passes) or compare "
                         "the group's budget (training: group)")
    return kept, left_out


def bootstrap_interval(values, *, statistic: str = "median", n_boot: int = 2000, level: float = 0.95,
                       random_state=0) -> tuple[float, float]:
    """Percentile bootstrap interval of the median (or mean) of ``values`` (resampling participants).

    NaN values are dropped; with fewer than 2 values the interval is (NaN, NaN).

    Examples
    --------
    >>> lo, hi = bootstrap_interval([0.8, 0.82, 0.85, 0.9, 0.7, 0.88])
    >>> bool(0.7 <= lo <= 0.84 <= hi <= 0.9)
    True
    """
    if statistic not in ("median", "mean"):
        raise ValueError(f"statistic {statistic!r} unknown; allowed: 'median', 'mean'")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(random_state)
    draws = x[rng.integers(0, len(x), size=(n_boot, len(x)))]
    stats_ = np.median(draws, axis=1) if statistic == "median" else draws.mean(axis=1)
    tail = (1 - level) / 2
    return float(np.quantile(stats_, tail)), float(np.quantile(stats_, 1 - tail))


def interval_summary(table: pd.DataFrame, measures, *, n_boot: int = 2000, random_state=0) -> pd.DataFrame:
    """Tidy medians with 95 % bootstrap intervals over participants: one row per configuration × measure.

    ``table`` holds one row per participant × configuration (e.g. :func:`headline_rows`).
    Columns: ``config``, ``measure``, ``n``, ``median``, ``ci_low``, ``ci_high``.
    """
    out = []
    for config in config_order(table["config"].unique()):
        rows = table[table["config"] == config]
        for measure in measures:
            values = rows.groupby("participant")[measure].mean().dropna()
            if values.empty:
                continue
            lo, hi = bootstrap_interval(values, n_boot=n_boot, random_state=random_state)
            out.append({"config": config, "measure": measure, "n": len(values), "median": float(values.median()),
                        "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(out, columns=["config", "measure", "n", "median", "ci_low", "ci_high"])


def check_choices(*measures: str, alpha: float = 0.05, roles: Sequence[str] = ()) -> None:
    """Refuse a measure without a better side or an ``alpha`` outside (0, 1), naming the choice.

    ``roles`` names each measure in the message (e.g. ``"interpretability"``), as a
    chapter parameter of that name.

    Examples
    --------
    >>> check_choices("r2_test", "consistency", alpha=0.05)
    >>> check_choices("k", roles=["interpretability"])
    Traceback (most recent call last):
    ...
    ValueError: interpretability='k' must be a measure with a better side; choose from [...]
    """
    for i, measure in enumerate(measures):
        if measure not in MEASURES or MEASURES[measure].better is None:
            name = roles[i] if i < len(roles) else "measure"
            raise ValueError(f"{name}={measure!r} must be a measure with a better side; choose from "
                             f"{[m for m, spec in MEASURES.items() if spec.better]}")
    if not (isinstance(alpha, (int, float)) and not isinstance(alpha, bool) and 0 < alpha < 1):
        raise ValueError(f"alpha={alpha!r} must be a number in (0, 1)")


def require_measures(study: str, measured: Sequence[str], *needed: str) -> None:
    """Refuse a chapter's choice of measures that study ``study`` has no values of."""
    missing = [m for m in needed if m not in measured]
    if missing:
        raise ValueError(f"study {study!r} has no values of {missing}; it has {list(measured)}")


def top_set(table: pd.DataFrame, measure: str, *, alpha: float = 0.05, method: str = "AE") -> pd.DataFrame:
    """The configurations that cannot be told apart from the best one on ``measure``.

    The best is the configuration with the best median over participants; every
    other one is compared with it by a Wilcoxon signed-rank test over
    participants, Holm-corrected over the comparisons. A configuration whose
    corrected p is at least ``alpha`` stays in the top set: "best" is this set,
    not an arg-max. Returns one row per configuration: ``config``, ``median``,
    ``pvalue_holm`` (NaN for the best), ``in_top`` and ``rank`` (1 = best median).
    With fewer than 6 participants no two-sided Wilcoxon test reaches p < 0.05, so
    every configuration stays in the set (see :func:`smallest_pvalue`).
    """
    check_choices(measure, alpha=alpha)
    better = MEASURES[measure].better
    wide = participant_table(table[table["method"] == method] if method else table, measure)
    if wide.empty:
        raise ValueError(f"no configuration has complete values of {measure!r}")
    sign = 1.0 if better == "higher" else -1.0
    medians = wide.median()
    ranks = (sign * medians).rank(ascending=False, method="min").astype(int)
    best = (sign * medians).idxmax()
    others = [c for c in wide.columns if c != best]
    pvalues = []
    for c in others:
        d = wide[best].to_numpy() - wide[c].to_numpy()
        pvalues.append(1.0 if np.all(d == 0) or len(d) < 2 else float(stats.wilcoxon(d).pvalue))
    adjusted = dict(zip(others, holm(pvalues))) if others else {}
    out = pd.DataFrame({"config": wide.columns, "median": medians.to_numpy(),
                        "pvalue_holm": [adjusted.get(c, np.nan) for c in wide.columns]})
    out["in_top"] = (out["config"] == best) | (out["pvalue_holm"] >= alpha)
    out["rank"] = out["config"].map(ranks).to_numpy()
    return out.sort_values("rank", kind="stable").reset_index(drop=True)


def smallest_pvalue(n: int) -> float:
    """The smallest two-sided p an exact Wilcoxon signed-rank test can give with ``n`` pairs: 2 / 2ⁿ.

    Examples
    --------
    >>> smallest_pvalue(5)
    0.0625
    """
    return float(2.0 / 2**n) if n >= 1 else float("nan")


#: Verdicts on a claim.
REPRODUCED, NOT_REPRODUCED, NOT_DISTINGUISHABLE = "reproduced", "not reproduced", "not distinguishable"

#: The paper's favoured pair.
PAPER_PAIR = "relu/tanh"


def claim_verdicts(table: pd.DataFrame, reconstruction: str, interpretability: str, *, alpha: float = 0.05,
                   pair: str = PAPER_PAIR) -> dict:
    """The verdict on the paper's two claims for one dataset, one rank and one measure.

    ``table`` holds one row per participant × configuration (:func:`headline_rows`).

    - Claim 1, "the best-reconstructing pairs are not the most interpretable":
      *reproduced* when the top sets (:func:`top_set`) on ``reconstruction`` and on
      ``interpretability`` share no pair; *not reproduced* when they share one;
      *not distinguishable* when either top set holds every pair.
    - Claim 2, "``pair`` gives the most interpretable synergies": *reproduced* when
      it is the only pair of the top set on ``interpretability``; *not reproduced*
      when it is outside that set; *not distinguishable* when it shares the set.

    Returns a dict with both verdicts, the top sets, ``pair``'s rank, and
    ``n_participants``, ``smallest_p`` (the smallest attainable p at that size).
    """
    top_r = top_set(table, reconstruction, alpha=alpha)
    top_i = top_set(table, interpretability, alpha=alpha)
    n_pairs = len(top_i)
    set_r = list(top_r.loc[top_r["in_top"], "config"])
    set_i = list(top_i.loc[top_i["in_top"], "config"])
    if len(set_r) == len(top_r) or len(set_i) == n_pairs:
        claim1 = NOT_DISTINGUISHABLE
    else:
        claim1 = REPRODUCED if not set(set_r) & set(set_i) else NOT_REPRODUCED
    if pair not in set(top_i["config"]):
        claim2 = NOT_DISTINGUISHABLE
    elif pair not in set_i:
        claim2 = NOT_REPRODUCED
    else:
        claim2 = REPRODUCED if set_i == [pair] else NOT_DISTINGUISHABLE
    rank = top_i.set_index("config")["rank"]
    return {"reconstruction": reconstruction, "interpretability": interpretability,
            "claim1": claim1, "claim2": claim2, "top_reconstruction": set_r, "top_interpretability": set_i,
            "n_pairs": n_pairs, "pair": pair, "pair_rank": int(rank[pair]) if pair in rank else None,
            "n_participants": int(table["participant"].nunique()),
            "smallest_p": smallest_pvalue(int(table["participant"].nunique()))}


def claims_table(table: pd.DataFrame, reconstruction: str, measures, *, alpha: float = 0.05,
                 pair: str = PAPER_PAIR) -> pd.DataFrame:
    """:func:`claim_verdicts` at every rank rule label and on every measure, with the numbers behind them.

    One row per rule label × interpretability measure: ``rule``, ``interpretability``,
    ``claim1``, ``claim2``, ``top_reconstruction`` and ``top_interpretability``
    (";"-joined top sets), ``pair_rank``, ``n_pairs``, ``n_participants``,
    ``smallest_p``, ``rho`` (Spearman correlation of the pairs' medians on the two
    measures, oriented so that ρ > 0 means they agree), ``pair_median``,
    ``pair_ci_low``, ``pair_ci_high``, ``best_median`` on the interpretability measure
    and ``left_out``, the pairs that had a model not converged (:func:`comparable`).
    """
    out = []
    # a rule label the autoencoders were not fitted at (the group's budget trains the headline rank only)
    for rule in dict.fromkeys(table.loc[table["method"] != NMF, "rule"]):
        rows, left_out = comparable(headline_rows(table, rule))
        summary = config_summary(rows, [reconstruction, *measures])
        rho = rank_agreement(summary, reconstruction, measures).set_index("measure")["rho"]
        for measure in measures:
            v = claim_verdicts(rows, reconstruction, measure, alpha=alpha, pair=pair)
            values = rows[rows["config"] == pair].groupby("participant")[measure].mean()
            lo, hi = bootstrap_interval(values)
            top = top_set(rows, measure, alpha=alpha)
            out.append({"rule": rule, "interpretability": measure, "claim1": v["claim1"], "claim2": v["claim2"],
                        "top_reconstruction": ";".join(v["top_reconstruction"]),
                        "top_interpretability": ";".join(v["top_interpretability"]),
                        "pair_rank": v["pair_rank"], "n_pairs": v["n_pairs"],
                        "n_participants": v["n_participants"], "smallest_p": v["smallest_p"],
                        "rho": float(rho.get(measure, np.nan)), "pair_median": float(values.median()),
                        "pair_ci_low": lo, "pair_ci_high": hi, "best_median": float(top["median"].iloc[0]),
                        "left_out": ";".join(left_out)})
    return pd.DataFrame(out)


def format_pvalue(p: float) -> str:
    """A p-value for a page: ``"< 1e-16"`` below double precision, never ``"0.0"``.

    Examples
    --------
    >>> format_pvalue(0.0), format_pvalue(0.0312), format_pvalue(3e-9)
    ('< 1e-16', '0.031', '3e-09')
    """
    if p is None or np.isnan(p):
        return "n/a"
    if p < 1e-16:
        return "< 1e-16"
    return f"{p:.3f}" if p >= 1e-3 else f"{p:.0e}"


def describe_claims(claims: pd.Series, reconstruction: str, interpretability: str) -> str:
    """Plain-language statement (Markdown) of one row of :func:`claims_table`.

    Examples
    --------
    >>> row = pd.Series({"rule": "truth", "claim1": "reproduced", "claim2": "not reproduced",
    ...                  "top_reconstruction": "relu/linear;linear/linear", "top_interpretability": "tanh/relu",
    ...                  "pair_rank": 9, "n_pairs": 16, "n_participants": 15, "pair_median": 0.8,
    ...                  "pair_ci_low": 0.7, "pair_ci_high": 0.85, "best_median": 0.9})
    >>> print(describe_claims(row, "r2_test", "consistency"))  # doctest: +NORMALIZE_WHITESPACE
    At the rank rule `truth`, with 15 participants: the pairs that cannot be told apart from the best on
    R² (held out) are relu/linear, linear/linear; on similarity across participants, tanh/relu (best
    median 0.900). **Claim 1** (the best-reconstructing pairs are not the most interpretable):
    **reproduced**. **Claim 2** (relu/tanh gives the most interpretable synergies): **not reproduced** —
    relu/tanh ranks 9th of 16 (median 0.800, 95 % interval 0.700–0.850).
    """
    r_label, i_label = MEASURES[reconstruction].label, MEASURES[interpretability].label
    n = int(claims["n_pairs"])
    return (f"At the rank rule `{claims['rule']}`, with {claims['n_participants']} participants: the pairs that "
            f"cannot be told apart from the best on {r_label} are {describe_set(claims['top_reconstruction'], n)}; "
            f"on {i_label}, {describe_set(claims['top_interpretability'], n)} (best median "
            f"{claims['best_median']:.3f}). **Claim 1** (the best-reconstructing pairs are not the most "
            f"interpretable): **{claims['claim1']}**. **Claim 2** ({PAPER_PAIR} gives the most interpretable "
            f"synergies): **{claims['claim2']}** — {PAPER_PAIR} ranks {_ordinal(int(claims['pair_rank']))} of "
            f"{claims['n_pairs']} (median {claims['pair_median']:.3f}, 95 % interval "
            f"{claims['pair_ci_low']:.3f}–{claims['pair_ci_high']:.3f}).")


def measure_ranks(table: pd.DataFrame, measures, pair: str = PAPER_PAIR) -> pd.DataFrame:
    """Where ``pair`` ranks among the autoencoder pairs on each measure (1 = best median; ties share).

    Returns ``measure``, ``rank``, ``n_pairs``, ``median``, ``ci_low``, ``ci_high``, ``in_top``.
    """
    out = []
    intervals = interval_summary(table[table["config"] == pair], measures)
    for measure in measures:
        if MEASURES[measure].better is None:
            continue
        top = top_set(table, measure)
        if pair not in set(top["config"]):
            continue
        row = top.set_index("config").loc[pair]
        ci = intervals[intervals["measure"] == measure]
        out.append({"measure": measure, "rank": int(row["rank"]), "n_pairs": len(top), "median": float(row["median"]),
                    "ci_low": float(ci["ci_low"].iloc[0]) if len(ci) else np.nan,
                    "ci_high": float(ci["ci_high"].iloc[0]) if len(ci) else np.nan,
                    "in_top": bool(row["in_top"])})
    return pd.DataFrame(out, columns=["measure", "rank", "n_pairs", "median", "ci_low", "ci_high", "in_top"])


def rank_sensitivity(table: pd.DataFrame, measure: str, rules=None) -> pd.DataFrame:
    """The ranking of the autoencoder pairs on ``measure`` at each rank rule label.

    Computed on the participants fitted at every label (the rank-sensitivity
    participants), kept models only. Returns ``rule``, ``config``, ``median``, ``rank``.
    """
    kept = table[table["kept"].astype(bool) & (table["method"] != NMF)]
    if rules is None:  # the headline's offsets in order (k − 1, k, k + 1), then the other rules
        order = kept.drop_duplicates("rule").sort_values("offset", na_position="last", kind="stable")
        rules = order["rule"].tolist()
    rules = list(rules)
    complete = set.intersection(*(set(kept.loc[kept["rule"] == r, "participant"]) for r in rules))
    sign = 1.0 if MEASURES[measure].better != "lower" else -1.0
    out = []
    for rule in rules:
        rows = kept[(kept["rule"] == rule) & kept["participant"].isin(complete)]
        medians = rows.groupby("config")[measure].median()
        ranking = (sign * medians).rank(ascending=False, method="min")
        out += [{"rule": rule, "config": c, "median": float(medians[c]), "rank": int(ranking[c]),
                 "n_participants": len(complete)} for c in medians.index]
    return pd.DataFrame(out, columns=["rule", "config", "median", "rank", "n_participants"])


def rank_agreement(summary: pd.DataFrame, reconstruction: str, measures, method: str = "AE") -> pd.DataFrame:
    """Spearman correlation between the configurations' reconstruction and each other measure.

    Computed over ``method``'s configurations in ``summary`` (one value per
    configuration). The ranking by a measure whose better side is "lower" is
    reversed, so that ρ > 0 always means "the configurations that reconstruct
    better are also better on this measure". Returns ``measure``, ``rho``,
    ``pvalue``, ``n_configurations``; NaN with fewer than 3 configurations or a
    constant column.
    """
    rows = summary[summary["method"] == method]
    out = []
    for measure in measures:
        both = rows[[reconstruction, measure]].dropna()
        sign = -1.0 if MEASURES.get(measure, Measure("", None, "")).better == "lower" else 1.0
        rho = pvalue = np.nan
        if len(both) >= 3 and both[reconstruction].nunique() > 1 and both[measure].nunique() > 1:
            rho, pvalue = stats.spearmanr(both[reconstruction], sign * both[measure])
        out.append({"measure": measure, "rho": float(rho), "pvalue": float(pvalue),
                    "n_configurations": len(both)})
    return pd.DataFrame(out)


def pareto_front(df: pd.DataFrame, x: str, y: str, *, maximize=(True, True)) -> pd.DataFrame:
    """Mark the configurations that no other one dominates on ``x`` and ``y``.

    A row dominates another when it is at least as good on both axes and better on
    one ("good" = larger, or smaller where ``maximize`` says False). Rows with a
    missing value are neither on the front nor dominate. Returns a copy of ``df``
    with a boolean column ``pareto``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"x": [1, 2, 3, 2, 3], "y": [5, 4, 3, 2, 1]})
    >>> pareto_front(df, "x", "y")["pareto"].tolist()
    [True, True, True, False, False]
    """
    signs = np.where(np.asarray(maximize, dtype=bool), 1.0, -1.0)
    points = df[[x, y]].to_numpy(dtype=float) * signs
    valid = ~np.isnan(points).any(axis=1)
    on_front = valid.copy()
    for i in np.flatnonzero(valid):
        others = points[valid]
        dominated = ((others >= points[i]).all(axis=1) & (others > points[i]).any(axis=1)).any()
        on_front[i] = not dominated
    out = df.copy()
    out["pareto"] = on_front
    return out


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _rank_among(rows: pd.DataFrame, measure: str, config: str) -> int:
    values = rows.set_index("config")[measure]
    values = values if MEASURES[measure].better == "higher" else -values
    return int(values.rank(ascending=False, method="min")[config])


# --- across datasets ------------------------------------------------------------------------------


def read_claims(studies) -> pd.DataFrame:
    """The ``tradeoff_claims`` tables of ``studies`` (written by each trade-off chapter), stacked."""
    tables = []
    for name in studies:
        if not results.table_path(name, "tradeoff_claims").exists():
            raise FileNotFoundError(f"study {name!r} has no {results.table_path(name, 'tradeoff_claims')}; "
                                    "run its trade-off chapter first")
        tables.append(results.read_table(name, "tradeoff_claims").assign(study=name))
    return pd.concat(tables, ignore_index=True)


def headline_claims(claims: pd.DataFrame) -> pd.Series:
    """The row of one study's claims at its headline rule, measure and training."""
    rows = claims[(claims["rule"] == claims["headline_rule"]) & (claims["interpretability"] == claims["headline_measure"])
                  & (claims["training"] == claims["headline_training"])]
    if rows.empty:
        raise ValueError("these claims have no row at their headline rule and headline measure")
    return rows.iloc[0]


def describe_set(configs, n_pairs: int) -> str:
    """A top set for a sentence: its pairs, or "all N pairs" when nothing was separated.

    Examples
    --------
    >>> describe_set(["relu/tanh", "tanh/tanh"], 16), describe_set(["a/a", "b/b"], 2)
    ('relu/tanh, tanh/tanh', 'all 2 pairs')
    """
    configs = [c for c in (configs.split(";") if isinstance(configs, str) else configs) if c]
    return f"all {n_pairs} pairs" if len(configs) >= n_pairs else ", ".join(configs)


#: Encoder activations whose outputs are never negative, like NMF's activations.
NONNEGATIVE_ENCODERS = ("relu", "sigmoid")


def describe_encoders(configs) -> str:
    """What the encoders of a set of pairs have in common, for a sentence.

    Examples
    --------
    >>> describe_encoders(["relu/tanh", "sigmoid/linear"])
    'every pair in it has a non-negative encoder (relu or sigmoid), whatever its decoder'
    >>> describe_encoders(["relu/tanh", "tanh/linear"])
    'it mixes non-negative encoders (relu/tanh) with signed ones (tanh/linear)'
    """
    configs = [c for c in configs if "/" in c]
    signed = [c for c in configs if c.split("/")[0] not in NONNEGATIVE_ENCODERS]
    if not configs:
        raise ValueError("no encoder/decoder pair to describe")
    if not signed:
        return "every pair in it has a non-negative encoder (relu or sigmoid), whatever its decoder"
    if len(signed) == len(configs):
        return "every pair in it has a signed encoder (linear or tanh)"
    unsigned = [c for c in configs if c not in signed]
    return f"it mixes non-negative encoders ({', '.join(unsigned)}) with signed ones ({', '.join(signed)})"


def verdict_table(claims: pd.DataFrame) -> pd.DataFrame:
    """One study's claims at its headline rule and training, formatted for a page: one row per measure."""
    rows = claims[(claims["rule"] == claims["headline_rule"]) & (claims["training"] == claims["headline_training"])]
    return pd.DataFrame({
        "measure": [MEASURES[m].label for m in rows["interpretability"]],
        "claim 1": rows["claim1"].to_numpy(),
        "claim 2": rows["claim2"].to_numpy(),
        "top pairs, reconstruction": [describe_set(t, n) for t, n in zip(rows["top_reconstruction"], rows["n_pairs"])],
        "top pairs, measure": [describe_set(t, n) for t, n in zip(rows["top_interpretability"], rows["n_pairs"])],
        f"{PAPER_PAIR} rank": [f"{int(r)} of {int(n)}" for r, n in zip(rows["pair_rank"], rows["n_pairs"])],
        f"{PAPER_PAIR} median [95 % CI]": [f"{m:.3f} [{lo:.3f}, {hi:.3f}]" for m, lo, hi in
                                           zip(rows["pair_median"], rows["pair_ci_low"], rows["pair_ci_high"])],
        "best median": rows["best_median"].round(3).to_numpy(),
        "participants": rows["n_participants"].to_numpy(),
    })


def verdict_summary(claims: pd.DataFrame) -> pd.DataFrame:
    """One row per study at its headline rule and measure: both verdicts and relu/tanh's numbers."""
    rows = [headline_claims(claims[claims["study"] == name]) for name in dict.fromkeys(claims["study"])]
    return pd.DataFrame({
        "dataset": [r["study"] for r in rows],
        "participants": [int(r["n_participants"]) for r in rows],
        "rank rule": [r["rule"] for r in rows],
        "measure": [MEASURES[r["interpretability"]].label for r in rows],
        "claim 1": [r["claim1"] for r in rows],
        "claim 2": [r["claim2"] for r in rows],
        f"{PAPER_PAIR} rank": [f"{int(r['pair_rank'])} of {int(r['n_pairs'])}" for r in rows],
        f"{PAPER_PAIR} median [95 % CI]": [f"{r['pair_median']:.3f} [{r['pair_ci_low']:.3f}, {r['pair_ci_high']:.3f}]"
                                           for r in rows],
        "best median": [round(float(r["best_median"]), 3) for r in rows],
    })


def verdict_shares(claims: pd.DataFrame) -> pd.DataFrame:
    """Share of specifications giving each verdict, per claim (rows ``claim1``, ``claim2``)."""
    verdicts = [REPRODUCED, NOT_REPRODUCED, NOT_DISTINGUISHABLE]
    return pd.DataFrame({claim: claims[claim].value_counts(normalize=True).reindex(verdicts, fill_value=0.0)
                         for claim in ("claim1", "claim2")}).T


def describe_shares(shares: pd.DataFrame, n: int) -> str:
    """Plain-language summary of :func:`verdict_shares`.

    Examples
    --------
    >>> shares = pd.DataFrame({"reproduced": [0.5, 0.0], "not reproduced": [0.25, 0.75],
    ...                        "not distinguishable": [0.25, 0.25]}, index=["claim1", "claim2"])
    >>> print(describe_shares(shares, 8))  # doctest: +NORMALIZE_WHITESPACE
    Over 8 specifications, claim 1 is reproduced in 50%, not reproduced in 25% and not distinguishable
    in 25%; claim 2 is reproduced in 0%, not reproduced in 75% and not distinguishable in 25%.
    """
    parts = []
    for claim, label in (("claim1", "claim 1"), ("claim2", "claim 2")):
        row = shares.loc[claim]
        parts.append(f"{label} is reproduced in {row[REPRODUCED]:.0%}, not reproduced in "
                     f"{row[NOT_REPRODUCED]:.0%} and not distinguishable in {row[NOT_DISTINGUISHABLE]:.0%}")
    return f"Over {n} specifications, " + "; ".join(parts) + "."
