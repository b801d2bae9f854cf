"""Benchmark: synlib's batched NMF rank sweep against the two scikit-learn solvers a user would loop over.

Both comparisons extract synergies at ranks 1–16 from one simulated participant's
concatenated envelopes (45 conditions × 10 repetitions × 100 samples = 45,000 × 16),
in the same process, with the same iteration cap (``max_iter``); each stops by its own
rule (synlib: its R² plateau; scikit-learn: its default ``tol``).

1. **Multiplicative updates** (the authors' group's method): synlib's default solver,
   10 random restarts per rank batched, against a Python loop over
   ``sklearn.decomposition.NMF(solver="mu", init="random")`` with the same restarts.
2. **Coordinate descent** (what scikit-learn users get by default): synlib's HALS
   from an NNDSVDa start, one run per rank, all ranks batched, against
   ``NMF(solver="cd", init="nndsvda")``, one run per rank. synlib's plateau
   tolerance is 1e-5 here (``--cd-tol``): at its default 1e-4 it stops HALS up to
   about 4e-4 below cd's fit at the top ranks, where cd's own rule runs longer.

Prints one JSON line:

- ``synlib_s``, ``sklearn_s``, ``speedup`` (sklearn_s / synlib_s), ``r2_gap``: comparison 1;
- ``synlib_hals_s``, ``sklearn_cd_s``, ``speedup_vs_sklearn_cd``, ``r2_gap_vs_cd``: comparison 2;
- each gap is synlib minus scikit-learn in R² (centred) of the best restart of each rank,
  worst over ranks (negative = synlib fits worse), with its rank (``..._rank``);
- times are medians over ``--repeats``.

Required on the project's 2-core machine: speedup ≥ 5 with r2_gap ≥ −0.002, and
speedup_vs_sklearn_cd ≥ 3 with r2_gap_vs_cd ≥ −1e-4.

    .venv/bin/python benchmarks/bench_nmf.py            # the full benchmark (minutes)
    .venv/bin/python benchmarks/bench_nmf.py --quick    # 2 repetitions, 3 restarts (< 1 minute)
    .venv/bin/python benchmarks/bench_nmf.py --compare-dtype   # also float64 vs float32 R²
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import warnings

import numpy as np
import torch
from sklearn.decomposition import NMF as SklearnNMF

from synlib import datasets
from synlib.metrics import r2_centred
from synlib.nmf import rank_sweep
from synlib.preprocess import preprocess


def simulated_envelopes(n_repetitions: int, seed: int = 0) -> np.ndarray:
    """One simulated participant's envelopes after the default preprocessing (rows × 16)."""
    dataset = datasets.load("simulated", n_participants=1, n_repetitions=n_repetitions, seed=seed)
    return preprocess(dataset, progress=False).X


def time_synlib(X, ranks, n_restarts, max_iter, seed, **options) -> tuple[float, dict[int, float], float]:
    started = time.perf_counter()
    sweep = rank_sweep(X, ranks, n_restarts, max_iter=max_iter, random_state=seed, **options)
    elapsed = time.perf_counter() - started
    return elapsed, sweep.best().to_dict(), float(sweep.curve["n_iter"].mean())


def time_sklearn(X, ranks, n_restarts, max_iter, seed, solver="mu", init="random") -> tuple[float, dict[int, float], float]:
    best, iterations = {}, []
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # "maximum number of iterations reached"
        for k in ranks:
            for restart in range(n_restarts):
                model = SklearnNMF(k, solver=solver, init=init, max_iter=max_iter,
                                   random_state=seed * 1000 + restart)
                C = model.fit_transform(X)
                best[k] = max(best.get(k, -np.inf), r2_centred(X, C @ model.components_))
                iterations.append(model.n_iter_)
    return time.perf_counter() - started, best, float(np.mean(iterations))


def compare(ours_s, ours, theirs_s, theirs, ranks) -> dict:
    """Median times, their ratio and the worst per-rank gap of one synlib/scikit-learn pair."""
    gaps = {k: ours[k] - theirs[k] for k in ranks}
    worst = min(gaps, key=gaps.get)
    return {"speedup": round(statistics.median(theirs_s) / statistics.median(ours_s), 2),
            "ours_s": round(statistics.median(ours_s), 2), "theirs_s": round(statistics.median(theirs_s), 2),
            "r2_gap": round(gaps[worst], 6), "r2_gap_rank": worst,
            "r2_gap_mean": round(float(np.mean(list(gaps.values()))), 6),
            "ours_runs_s": [round(s, 2) for s in ours_s], "theirs_runs_s": [round(s, 2) for s in theirs_s]}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 repetitions (9,000 rows), 3 restarts")
    parser.add_argument("--repeats", type=int, default=1, help="timings to take of each (medians reported)")
    parser.add_argument("--max-rank", type=int, default=16)
    parser.add_argument("--restarts", type=int, default=None, help="MU comparison: default 10 (3 with --quick)")
    parser.add_argument("--max-iter", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--batching", default="rank", choices=["rank", "all"], help="MU comparison")
    parser.add_argument("--h-updates", type=int, default=None, help="MU: synlib's default unless given")
    parser.add_argument("--w-updates", type=int, default=None, help="MU: synlib's default unless given")
    parser.add_argument("--tol", type=float, default=None, help="MU: synlib's default plateau tolerance unless given")
    parser.add_argument("--cd-tol", type=float, default=1e-5, help="HALS: plateau tolerance against scikit-learn cd")
    parser.add_argument("--skip-cd", action="store_true", help="only the multiplicative-update comparison")
    parser.add_argument("--compare-dtype", action="store_true",
                        help="also run synlib in the other precision and report the largest R² difference")
    args = parser.parse_args(argv)

    X = simulated_envelopes(2 if args.quick else 10, seed=args.seed)
    ranks = list(range(1, min(args.max_rank, X.shape[1]) + 1))
    n_restarts = args.restarts or (3 if args.quick else 10)
    options = {"dtype": args.dtype, "batching": args.batching}
    for name in ("h_updates", "w_updates", "tol"):
        if getattr(args, name) is not None:
            options[name] = getattr(args, name)
    hals_options = {"solver": "hals", "init": "nndsvda", "tol": args.cd_tol, "batching": "all", "dtype": args.dtype}

    times = {name: [] for name in ("synlib", "sklearn", "hals", "cd")}
    for _ in range(args.repeats):
        seconds, ours, our_iterations = time_synlib(X, ranks, n_restarts, args.max_iter, args.seed, **options)
        times["synlib"].append(seconds)
        seconds, theirs, their_iterations = time_sklearn(X, ranks, n_restarts, args.max_iter, args.seed)
        times["sklearn"].append(seconds)
        if not args.skip_cd:
            seconds, ours_hals, hals_iterations = time_synlib(X, ranks, 1, args.max_iter, args.seed, **hals_options)
            times["hals"].append(seconds)
            seconds, theirs_cd, cd_iterations = time_sklearn(X, ranks, 1, args.max_iter, args.seed, "cd", "nndsvda")
            times["cd"].append(seconds)
    mu = compare(times["synlib"], ours, times["sklearn"], theirs, ranks)
    report = {
        "speedup": mu["speedup"], "synlib_s": mu["ours_s"], "sklearn_s": mu["theirs_s"],
        "r2_gap": round(mu["r2_gap"], 5), "r2_gap_rank": mu["r2_gap_rank"], "r2_gap_mean": round(mu["r2_gap_mean"], 5),
        "synlib_runs_s": mu["ours_runs_s"], "sklearn_runs_s": mu["theirs_runs_s"],
        "synlib_mean_iterations": round(our_iterations, 1), "sklearn_mean_iterations": round(their_iterations, 1),
    }
    if not args.skip_cd:
        cd = compare(times["hals"], ours_hals, times["cd"], theirs_cd, ranks)
        report.update({
            "speedup_vs_sklearn_cd": cd["speedup"], "synlib_hals_s": cd["ours_s"], "sklearn_cd_s": cd["theirs_s"],
            "r2_gap_vs_cd": cd["r2_gap"], "r2_gap_vs_cd_rank": cd["r2_gap_rank"],
            "r2_gap_vs_cd_mean": cd["r2_gap_mean"], "synlib_hals_runs_s": cd["ours_runs_s"],
            "sklearn_cd_runs_s": cd["theirs_runs_s"], "synlib_hals_mean_iterations": round(hals_iterations, 1),
            "sklearn_cd_mean_iterations": round(cd_iterations, 1), "synlib_hals_options": hals_options,
            # the MU defaults against cd too: what a user of the book's settings gives up
            "r2_gap_mu_vs_cd": round(min(ours[k] - theirs_cd[k] for k in ranks), 6),
        })
    report.update({
        "data": list(X.shape), "ranks": [ranks[0], ranks[-1]], "n_restarts": n_restarts,
        "max_iter": args.max_iter, "synlib_options": options,
        "torch_threads": torch.get_num_threads(), "cpus": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
    })
    if args.compare_dtype:
        other = "float64" if args.dtype == "float32" else "float32"
        _, other_best, _ = time_synlib(X, ranks, n_restarts, args.max_iter, args.seed, **{**options, "dtype": other})
        report[f"r2_max_abs_diff_{other}"] = float(max(abs(other_best[k] - ours[k]) for k in ranks))
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()
