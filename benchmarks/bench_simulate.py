"""Benchmark: time and peak memory to generate one simulated participant.

Generates participant P01 of the simulated cohort (450 trials of 16-channel raw EMG at
1 kHz, about 2.5 s each) in a fresh subprocess per run, so that each run starts cold
and its memory is its own, for:

- ``default``: every option at its default (the cohort as it was before the difficulty
  options);
- ``every_axis``: every difficulty option on (:data:`EVERY_AXIS`), linear mixing;
- ``every_axis_<mode>``: the same in each non-linear mixing mode;
- ``book`` and ``book_nonlinear``: the cohorts the book runs (the ``dataset_options`` of
  ``studies/simulated.yml`` and ``studies/simulated-nonlinear.yml``).

Prints one JSON line with, per setting, medians over ``--repeats`` runs of

- ``seconds``: wall time of ``cohort.trials("P01")`` (imports excluded);
- ``peak_mib``: the subprocess's peak resident memory (``ru_maxrss``), interpreter and
  imports included;
- ``generation_mib``: that peak minus the resident memory just before generating, i.e.
  what one participant costs.

Issue 14 asks for ≤ 2 s and ≤ 300 MiB per participant on the project's 2-core machine.

    .venv/bin/python benchmarks/bench_simulate.py              # 3 runs of each setting
    .venv/bin/python benchmarks/bench_simulate.py --repeats 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import yaml

EVERY_AXIS = {"synergy_overlap": 0.6, "synergy_variability": 0.6, "tuning_variability": 0.3, "k_range": [4, 6],
              "crosstalk": 0.15, "muscle_specific": 0.2, "burst_leak": 0.2, "snr_db": 20.0, "envelope_noise": 0.2}
SETTINGS = {
    "default": {},
    "every_axis": EVERY_AXIS,
    "every_axis_nonlinear": {**EVERY_AXIS, "mixing": "nonlinear"},
    "every_axis_multiplicative": {**EVERY_AXIS, "mixing": "multiplicative"},
    "every_axis_posture": {**EVERY_AXIS, "mixing": "posture"},
}


def _plan_cohort(plan: str) -> dict:
    """The generator options a study plan runs, without the number of participants."""
    path = Path(__file__).resolve().parents[1] / "studies" / f"{plan}.yml"
    options = dict(yaml.safe_load(path.read_text())["parameters"]["dataset_options"])
    options.pop("n_participants", None)
    return options


SETTINGS["book"] = _plan_cohort("simulated")
SETTINGS["book_nonlinear"] = _plan_cohort("simulated-nonlinear")

_CHILD = """
import json, resource, sys, time
from synlib.simulate import simulate_cohort

def rss_mib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")

options = json.loads(sys.argv[1])
cohort = simulate_cohort(n_participants=1, **options)
before = rss_mib()
started = time.perf_counter()
trials = cohort.trials("P01")
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mib": peak, "generation_mib": peak - before,
                  "n_trials": len(trials), "k": int(trials[0].truth["activations"].shape[1])}))
"""


def run_once(options: dict) -> dict:
    """Generate P01 with ``options`` in a fresh interpreter and return its measurements."""
    done = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(options)], capture_output=True, text=True,
                          check=False, env=os.environ.copy())
    if done.returncode != 0:
        raise RuntimeError(f"generating a participant with {options} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each setting (medians reported)")
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    args = parser.parse_args(argv)

    report: dict = {}
    for name in args.settings:
        runs = [run_once(SETTINGS[name]) for _ in range(args.repeats)]
        report[name] = {key: round(statistics.median(r[key] for r in runs), 2)
                        for key in ("seconds", "peak_mib", "generation_mib")}
        report[name]["seconds_runs"] = [round(r["seconds"], 2) for r in runs]
        report[name]["n_trials"], report[name]["k"] = runs[0]["n_trials"], runs[0]["k"]
    report["limits"] = {"seconds": 2.0, "peak_mib": 300}
    report["every_axis_options"] = EVERY_AXIS
    report["cpus"] = os.cpu_count()
    report["load_average_1min"] = round(os.getloadavg()[0], 2)
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()
