"""Benchmark: the ``converged`` training specification against the group's 2,000 RMSprop steps.

Both specifications train the same models from the same initial weights: every
activation pair × 3 seeds at k = 4, 5, 6 on the benchmark data of 3 participants
(``bench_ae.benchmark_data``: 40,500 rows × 16 muscles each, built from 5 known
synergies), in the same process, ``group`` first. Then a sample of the models
that passed the convergence test (the first seed of every pair, participant and
rank) is resumed with the same solver for ten times the passes it used, with no
test: what it still gains is the check of the test.

Prints one JSON line:

- ``frac_not_worse``: models whose ``converged`` training loss is at most their
  ``group`` loss (need ≥ 0.95); ``worse``: the others, each with its losses and
  the reason ``converged`` gave for stopping;
- ``frac_passed``: models that passed the convergence test (need ≥ 0.95), and
  ``passed_by_pair``;
- ``median_passes``, ``mean_passes``: passes over the training data of the
  ``converged`` models (the group's use 2,000);
- ``time_ratio_vs_group``: wall time of ``converged`` over ``group`` (need ≤ 0.5),
  with both times;
- ``max_resume_gain``: the largest relative fall of the loss among the resumed
  models (need ≤ 0.001), ``resume_gain_by_pair`` the largest per pair;
- the machine's load average (timings on a shared machine are noisy).

    python benchmarks/bench_converge.py            # the full run (about 15 min here)
    python benchmarks/bench_converge.py --quick    # 1 participant, k = 5, 1 seed, a third of the rows
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import defaultdict
from itertools import product

import numpy as np

from bench_ae import benchmark_data
from synlib.autoencoder import ACTIVATIONS
from synlib.autoencoder import _ckernel
from synlib.autoencoder.fitting import TrainingOptions, fit_batch, resume_batch

RESUME_FACTOR = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 participant, k = 5, 1 seed, every third row")
    args = parser.parse_args()
    participants, ks, seeds = (1, [5], [0]) if args.quick else (3, [4, 5, 6], [0, 1, 2])
    data = benchmark_data(participants)
    if args.quick:
        data = [X[::3] for X in data]
    datasets = [(X, k) for X in data for k in ks]
    pairs = list(product(ACTIVATIONS, ACTIVATIONS))
    try:
        _ckernel.load_library()  # built once per machine; not part of either time
    except _ckernel.KernelUnavailable:
        pass
    arrays, ranks = [X for X, _ in datasets], [k for _, k in datasets]
    streams = [f"participant {d // len(ks)}" for d in range(len(datasets))]
    group_options, converged_options = TrainingOptions(training="group"), TrainingOptions(training="converged")

    start = time.perf_counter()
    group = fit_batch(arrays, ranks, pairs, seeds, group_options, device="cpu", streams=streams)
    group_s = time.perf_counter() - start
    start = time.perf_counter()
    converged = fit_batch(arrays, ranks, pairs, seeds, converged_options, device="cpu", streams=streams)
    converged_s = time.perf_counter() - start

    final = lambda r: float(r.loss_curve[-1])  # noqa: E731 - the loss at the point each model ended
    label = lambda r: f"{r.spec.encoder}/{r.spec.decoder}"  # noqa: E731
    worse = [{"model": f"{label(c)} k={c.spec.k} seed={c.spec.seed} {c.spec.stream}", "group_loss": final(g),
              "converged_loss": final(c), "stop": c.stop}
             for g, c in zip(group, converged) if final(c) > final(g)]
    passed_by_pair = defaultdict(list)
    for c in converged:
        passed_by_pair[label(c)].append(c.converged)

    middle = ks[len(ks) // 2]
    sample = [c for c in converged if c.converged and c.spec.seed == seeds[0] and c.spec.k == middle]
    resumed = resume_batch(sample, converged_options, [RESUME_FACTOR * c.passes for c in sample], device="cpu")
    gains = [(final(c) - loss) / final(c) for c, loss in zip(sample, resumed)]
    gain_by_pair = defaultdict(float)
    for c, gain in zip(sample, gains):
        gain_by_pair[label(c)] = max(gain_by_pair[label(c)], gain)
    passes = np.array([c.passes for c in converged])
    print(json.dumps({
        "frac_not_worse": 1 - len(worse) / len(converged),
        "frac_passed": float(np.mean([c.converged for c in converged])),
        "median_passes": float(np.median(passes)), "mean_passes": float(passes.mean()),
        "time_ratio_vs_group": converged_s / group_s, "group_s": group_s, "converged_s": converged_s,
        "max_resume_gain": float(max(gains)) if gains else None, "n_resumed": len(sample),
        "resume_gain_by_pair": {pair: float(g) for pair, g in gain_by_pair.items()},
        "passed_by_pair": {pair: float(np.mean(v)) for pair, v in passed_by_pair.items()},
        "stops": {reason: int(sum(c.stop == reason for c in converged)) for reason in ("converged", "stalled", "capped")},
        "worse": worse, "models": len(converged),
        "setup": {"participants": participants, "ks": ks, "seeds": seeds, "rows": [len(X) for X in data],
                  "options": {k: v for k, v in converged_options.as_dict().items() if v is not None}},
        "load_average": os.getloadavg()[0],
    }))


if __name__ == "__main__":
    main()
