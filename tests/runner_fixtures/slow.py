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
# seconds before writing their table, so that a signal can arrive while they execute. The delay
# comes from the environment, not from a parameter, so that it does not enter the run's cache key:
# the interrupted call and the resuming call then ask for the same runs.

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
