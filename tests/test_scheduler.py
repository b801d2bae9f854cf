"""``synlib run --scheduler``: runs handed to a real Dask scheduler with two worker processes on
localhost give the numbers of a local run, in the result tables and in the published notebooks."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from synlib import paths

FIXTURES = Path(__file__).parent / "runner_fixtures"
DASK = Path(sys.executable).with_name("dask")
STARTUP_TIMEOUT = 60  # seconds for the scheduler and both workers to come up

AE_NOTEBOOK = textwrap.dedent('''\
    # ---
    # jupyter:
    #   jupytext:
    #     text_representation:
    #       extension: .py
    #       format_name: percent
    #   kernelspec:
    #     display_name: Python 3
    #     language: python
    #     name: python3
    # ---

    # %% tags=["parameters"]
    study = "scheduler-test"
    epochs = 40

    # %%
    import numpy as np
    import pandas as pd
    from synlib import results
    from synlib.autoencoder import train_autoencoders

    rng = np.random.default_rng(0)
    X = rng.random((400, 3)) @ rng.random((3, 8)) + 0.05 * rng.random((400, 8))
    models = train_autoencoders([X], 3, [("relu", "tanh"), ("sigmoid", "linear")], seeds=[0, 1], epochs=epochs,
                                device="cpu")
    table = pd.DataFrame({"backend": [ae.backend_ for ae in models],
                          "final_loss": [ae.loss_curve_[-1] for ae in models],
                          "synergy_sum": [float(ae.synergies_.sum()) for ae in models]})
    results.write_table(table, study, "ae")
    print(table.to_string(float_format=lambda v: repr(float(v))))  # every digit
''')

PLAN = textwrap.dedent('''\
    name: scheduler-test
    title: Scheduler test
    parameters: {study: scheduler-test}
    runs:
      - id: "square_{value}"
        notebook: square.py
        matrix:
          value: [2, 3]
      - id: total
        notebook: total.py
        needs: ["square_*"]
      - id: ae
        notebook: ae.py
    book:
      part: Scheduler test
''')


def _folders(root: Path) -> dict[str, str]:
    return {"SYNLIB_RESULTS": str(root / "results"), "SYNLIB_CACHE": str(root / "cache"),
            "SYNLIB_GENERATED": str(root / "generated")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def cluster(tmp_path):
    """A Dask scheduler and two single-threaded workers on 127.0.0.1, whose notebooks write into
    ``tmp_path/remote``; yields (address, that folder). Always stopped at the end."""
    if not DASK.exists():
        pytest.skip(f"no dask command next to {sys.executable}")
    from distributed import Client

    remote = tmp_path / "remote"
    env = {**os.environ, **_folders(remote), "PYTHONPATH": str(paths.ROOT)}
    address = f"tcp://127.0.0.1:{_free_port()}"
    logs = tmp_path / "dask-logs"
    logs.mkdir()
    processes = []

    def start(name: str, *args: str) -> None:
        log = open(logs / f"{name}.log", "wb")
        processes.append((subprocess.Popen([str(DASK), *args], env=env, cwd=tmp_path, stdout=log,
                                           stderr=subprocess.STDOUT), log))

    try:
        # --idle-timeout and --death-timeout: should this process die without its finaliser,
        # the cluster still goes away on its own
        start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
              "--no-dashboard", "--idle-timeout", "600s")
        for i in range(2):
            start(f"worker{i}", "worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--no-nanny",
                  "--no-dashboard", "--death-timeout", "60s", "--local-directory", str(tmp_path / f"worker{i}"))
        with Client(address, timeout=STARTUP_TIMEOUT) as client:
            client.wait_for_workers(2, timeout=STARTUP_TIMEOUT)
        yield address, remote
    except Exception:
        for log in sorted(logs.iterdir()):
            print(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}", file=sys.stderr)
        raise
    finally:
        # workers first: a worker whose scheduler has gone waits for it before it exits
        for process, log in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=20)
            log.close()


def _published_numbers(generated: Path) -> dict[str, list[str]]:
    """Per published notebook, what its code cells printed or displayed (stdout and results; stderr
    holds progress bars, whose text depends on timing)."""
    out = {}
    for notebook in sorted((generated / "scheduler-test").glob("*.ipynb")):
        cells = json.loads(notebook.read_text())["cells"]
        shown = []
        for cell in cells:
            for output in cell.get("outputs", []):
                if output["output_type"] == "stream" and output["name"] == "stdout":
                    shown.append("".join(output["text"]))
                elif output["output_type"] in ("execute_result", "display_data"):
                    shown.append("".join(output["data"].get("text/plain", "")))
        out[notebook.name] = shown
    return out


@pytest.mark.slow
def test_a_scheduler_with_two_workers_gives_the_numbers_of_a_local_run(tmp_path, monkeypatch, cluster):
    from synlib.__main__ import main

    address, remote = cluster
    plan_dir = tmp_path / "plan"
    shutil.copytree(FIXTURES, plan_dir)
    (plan_dir / "ae.py").write_text(AE_NOTEBOOK)
    (plan_dir / "scheduler.yml").write_text(PLAN)
    plan = str(plan_dir / "scheduler.yml")

    local = tmp_path / "local"
    for variable, value in _folders(local).items():
        monkeypatch.setenv(variable, value)
    assert main(["run", plan]) == 0
    # this process publishes into the remote folders, but its own results folder is elsewhere: tables
    # in the remote one can only come from notebooks run by the workers
    for variable, value in {**_folders(remote), "SYNLIB_RESULTS": str(tmp_path / "runner-results")}.items():
        monkeypatch.setenv(variable, value)
    assert main(["run", plan, "--scheduler", address]) == 0
    assert not list((tmp_path / "runner-results").rglob("*.csv"))

    tables = {root: {p.name: p.read_bytes() for p in (root / "results" / "scheduler-test").glob("*.csv")}
              for root in (local, remote)}
    assert sorted(tables[local]) == ["ae.csv", "square_2.csv", "square_3.csv", "total.csv"]
    assert tables[remote] == tables[local]
    shown = {root: _published_numbers(root / "generated") for root in (local, remote)}
    assert sorted(shown[local]) == ["ae.ipynb", "square_2.ipynb", "square_3.ipynb", "total.ipynb"]
    assert "final_loss" in shown[local]["ae.ipynb"][0] and "13" in shown[local]["total.ipynb"][-1]
    assert shown[remote] == shown[local]
