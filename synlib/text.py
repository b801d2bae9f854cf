"""Small formatting helpers for the sentences and tables chapters and commands print."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["span", "column_label", "table", "yaml_flow"]

#: Headers of the columns the chapters show most; any other column reads with spaces for underscores.
COLUMN_LABELS = {
    "r2_train": "R² (train)", "r2_test": "R² (held-out)",
    "r2_global_train": "uncentred R² (train)", "r2_global_test": "uncentred R² (held-out)",
    "vaf_train": "VAF (train)", "vaf_test": "VAF (held-out)", "k": "k (synergies)",
    "truth_similarity": "truth recovery", "truth_precision": "truth precision",
    "ci_low": "95 % CI low", "ci_high": "95 % CI high", "pvalue": "p", "rho": "Spearman ρ",
    "n_iter": "iterations", "kendall_w": "Kendall's W",
}


def span(values) -> str:
    """``"low–high"`` of integer ``values``, or the single value when they are all equal.

    Examples
    --------
    >>> span([3, 5, 4]), span([2, 2])
    ('3–5', '2')
    """
    values = np.asarray(list(values) if not hasattr(values, "__array__") else values)
    if values.size == 0:
        raise ValueError("span of no values")
    low, high = int(values.min()), int(values.max())
    return str(low) if low == high else f"{low}–{high}"


def yaml_flow(value) -> str:
    """``value`` as YAML on one line (flow style), as a plan or a page quotes it.

    Examples
    --------
    >>> yaml_flow({"segmentation": "whole", "tonic": "none"}), yaml_flow("a: b"), yaml_flow(3)
    ('{segmentation: whole, tonic: none}', "'a: b'", '3')
    """
    import yaml

    return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip().removesuffix("...").strip()


def column_label(name) -> str:
    """The header a reader sees for column ``name``.

    Examples
    --------
    >>> column_label("r2_test"), column_label("pair_rank"), column_label(3)
    ('R² (held-out)', 'pair rank', '3')
    """
    name = str(name)
    return COLUMN_LABELS.get(name, name.replace("_", " "))


def table(frame: pd.DataFrame | pd.Series, caption: str, digits: int = 3, index: bool = False):
    """A result table as a page shows it: rounded, named columns, a caption, no row numbers.

    Parameters
    ----------
    frame : DataFrame or Series
        The table (a Series is shown as one column).
    caption : str
        One sentence above the table saying what a row is.
    digits : int, default 3
        Decimal places of the float columns; missing values show as "–".
    index : bool, default False
        Keep the index as the first column (when it names the rows, e.g. a configuration).

    Returns
    -------
    pandas.io.formats.style.Styler
        Displayed as HTML; the book's stylesheet scrolls a wide table sideways instead of cutting it.

    Examples
    --------
    >>> styled = table(pd.DataFrame({"r2_test": [0.81234], "config": ["relu/tanh"]}), "One pair.")
    >>> html = styled.to_html()
    >>> "R² (held-out)" in html and "0.812" in html and "One pair." in html
    True
    >>> counts = table(pd.DataFrame({"k": pd.array([5, None], dtype="Int64")}), "Ranks.").to_html()
    >>> ">5<" in counts and "–" in counts and "NA" not in counts
    True
    """
    frame = frame.to_frame() if isinstance(frame, pd.Series) else frame
    if index:
        frame = frame.reset_index()
    shown = frame.rename(columns=column_label)
    floats = [column_label(c) for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
    return (shown.style.hide(axis="index").format(na_rep="–").format(precision=digits, na_rep="–", subset=floats)
            .set_caption(caption).set_table_attributes('class="synlib-table"'))
