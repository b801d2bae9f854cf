"""Where each parameter of an autoencoder sits in its flat parameter vector.

Every model of a batch stores its parameters as one row of a ``models × P``
float32 tensor, in this order (``m`` muscles, ``k`` hidden units, padded to the
largest ``k`` of the batch):

==========  ===========  ==============================================
name        shape        role
==========  ===========  ==============================================
gamma       m            batch-norm scale
beta        m            batch-norm shift
W1          m × k        encoder weights
b1          k            encoder bias
W2          k × m        decoder weights (row c = the weights of unit c)
b2          m            decoder bias
==========  ===========  ==============================================

The compiled kernel (:mod:`synlib.autoencoder._ckernel`) reads the same order.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

NAMES = ("gamma", "beta", "W1", "b1", "W2", "b2")


@dataclass(frozen=True)
class Layout:
    """The flat-vector layout for ``m`` muscles and ``k`` hidden units."""

    m: int
    k: int

    def shapes(self) -> dict[str, tuple[int, ...]]:
        m, k = self.m, self.k
        return {"gamma": (m,), "beta": (m,), "W1": (m, k), "b1": (k,), "W2": (k, m), "b2": (m,)}

    def offsets(self) -> dict[str, tuple[int, int]]:
        out, start = {}, 0
        for name, shape in self.shapes().items():
            size = 1
            for dim in shape:
                size *= dim
            out[name] = (start, start + size)
            start += size
        return out

    @property
    def size(self) -> int:
        return self.offsets()["b2"][1]

    def views(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        """Views of ``flat`` (``... × size``) shaped as each parameter (leading axes kept)."""
        lead = flat.shape[:-1]
        shapes = self.shapes()
        return {name: flat[..., a:b].reshape(*lead, *shapes[name]) for name, (a, b) in self.offsets().items()}

    def mask(self, k_used: int, *, use_bias: bool) -> torch.Tensor:
        """1 where a parameter of a model with ``k_used`` ≤ k units is trained, 0 elsewhere.

        Padded hidden units and, without biases, the bias entries stay at zero.
        """
        flat = torch.zeros(self.size)
        v = self.views(flat)
        v["gamma"].fill_(1)
        v["beta"].fill_(1)
        v["W1"][:, :k_used] = 1
        v["W2"][:k_used] = 1
        if use_bias:
            v["b1"][:k_used] = 1
            v["b2"].fill_(1)
        return flat


@dataclass
class Problem:
    """What a backend needs for one gradient step of a batch of models.

    ``X[d]`` is dataset ``d`` (float32, rows × muscles, on the CPU); ``mean[d]``
    and ``inv_std[d]`` (float32, muscles) its batch-norm statistics, the
    per-muscle mean and 1 / √(variance + eps) of the rows it holds. Both
    backends standardise as ``Z = (X − mean) · inv_std`` in float32. Model ``i``
    trains on dataset ``data[i]`` with ``k[i]`` hidden units and the
    activations ``encoders[i]`` / ``decoders[i]``.
    """

    X: list[torch.Tensor]
    mean: list[torch.Tensor]
    inv_std: list[torch.Tensor]
    data: list[int]
    k: list[int]
    encoders: list  # list[Activation]
    decoders: list  # list[Activation]
    layout: Layout

    @property
    def n_models(self) -> int:
        return len(self.data)


def standardised(problem: Problem, d: int) -> torch.Tensor:
    """Dataset ``d`` standardised with its batch-norm statistics, float32 (as the kernel computes it)."""
    return (problem.X[d] - problem.mean[d]) * problem.inv_std[d]
