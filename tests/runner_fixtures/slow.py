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

# %% [markdown]
# # Slow
#
# A fixture for the fault tests. Runs with `slow = True` sleep for `SYNLIB_FIXTURE_SLEEP`
# seconds before writing their table, so that a signal can arrive while they execute; every run
# prints `SYNLIB_FIXTURE_OUTPUT_MB` megabytes, so that publishing its page takes a while, and
# leaves a `done_<value>` file when its last cell ends, so that a signal can arrive while the
# runner publishes it. Delays and sizes come from the environment, not from parameters, so that
# they do not enter the run's cache key: the interrupted call and the resuming call then ask for
# the same runs.

# %% tags=["parameters"]
study = "slow-test"
value = 0
slow = False

# %%
import os
import time
from pathlib import Path

import pandas as pd

from synlib import results

# the test waits for this file, written by the kernel, before it sends a signal
started = os.environ.get("SYNLIB_FIXTURE_STARTED")
if started:
    Path(started, f"slow_{value}.pid").write_text(str(os.getpid()))
if slow:
    time.sleep(float(os.environ.get("SYNLIB_FIXTURE_SLEEP", "0")))
results.write_table(pd.DataFrame({"value": [value]}), study, f"slow_{value}")

# %%
print("x" * (1 << 20) * int(os.environ.get("SYNLIB_FIXTURE_OUTPUT_MB", "0")))
if started:
    Path(started, f"done_{value}").touch()
