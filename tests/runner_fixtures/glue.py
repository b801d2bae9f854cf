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
# # Glued results
#
# A fixture page for the browser test: it writes a table, glues a number and a figure, and shows
# the figure inline, so that the rendered book holds an image and a glued value on another page.

# %% tags=["parameters"]
study = "browser-test"
values = [1.0, 2.0, 4.0]

# %%
import matplotlib.pyplot as plt
import pandas as pd
from myst_nb import glue

from synlib import results

table = pd.DataFrame({"value": values})
results.write_table(table, study, "glued")
mean_value = float(table["value"].mean())
glue("mean_value", mean_value, display=False)

# %%
fig, ax = plt.subplots(figsize=(3, 2))
ax.plot(range(len(values)), values, marker="o")
ax.set_xlabel("index")
ax.set_ylabel("value")
glue("values_figure", fig, display=False)
plt.show()

# %% [markdown]
# The mean of the values is {glue:text}`mean_value:.3f`; the same figure, glued:
#
# ```{glue:figure} values_figure
# :name: fig-glued-values
#
# The values against their index.
# ```
