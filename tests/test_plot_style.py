"""Figures readable at any number of levels: distinct colours, labels that do not overlap."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from synlib.plots import tradeoff as tradeoff_plots  # noqa: E402
from synlib.plots.style import distinct_colors, place_labels  # noqa: E402


def _distance(a, b):
    return float(np.linalg.norm(np.subtract(to_rgb(a), to_rgb(b))))


def test_colours_are_distinct_at_seven_and_at_twenty_levels():
    for n in (7, 20):
        colours = distinct_colors(n)
        closest = min(_distance(a, b) for i, a in enumerate(colours) for b in colours[i + 1:])
        # viridis's seven shades are 0.13 apart at their closest
        assert closest > 0.15, (n, closest)


def _overlaps(texts, renderer):
    # the label's own box: an annotation's extent also covers its leader line
    boxes = [Text.get_window_extent(t, renderer) for t in texts]
    return [(texts[i].get_text(), texts[j].get_text()) for i in range(len(boxes)) for j in range(i + 1, len(boxes))
            if boxes[i].overlaps(boxes[j])]


def test_labels_of_a_crowded_cluster_do_not_overlap():
    rng = np.random.default_rng(0)
    x, y = rng.normal(0.8, 0.01, 16), rng.normal(0.5, 0.01, 16)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(x, y)
    ax.set(xlim=(0.7, 0.9), ylim=(0.4, 0.6))
    fig.canvas.draw()
    labels = [f"{e}/{d}" for e in ("linear", "relu", "sigmoid", "tanh") for d in ("linear", "relu", "sigmoid", "tanh")]
    texts = place_labels(ax, x, y, labels)
    fig.canvas.draw()
    assert [t.get_text() for t in sorted(texts, key=lambda t: t.get_text())] == sorted(labels)
    assert _overlaps(texts, fig.canvas.get_renderer()) == []
    plt.close(fig)


def test_pareto_plot_labels_every_pair_without_overlap():
    rng = np.random.default_rng(1)
    configs = [f"{e}/{d}" for e in ("linear", "relu", "sigmoid", "tanh") for d in ("linear", "relu", "sigmoid", "tanh")]
    summary = pd.DataFrame({"config": ["NMF", *configs], "method": ["NMF"] + ["AE"] * 16,
                            "r2_test": np.r_[0.9, rng.normal(0.85, 0.01, 16)],
                            "nmf_similarity": np.r_[1.0, rng.normal(0.7, 0.02, 16)]})
    fig, ax = plt.subplots(figsize=(7, 5))
    tradeoff_plots.pareto_plot(summary, "r2_test", "nmf_similarity", ax=ax)
    fig.canvas.draw()
    texts = [t for t in ax.texts if t.get_text() in configs]
    assert len(texts) == 16
    assert _overlaps(texts, fig.canvas.get_renderer()) == []
    plt.close(fig)
