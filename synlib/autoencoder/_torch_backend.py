"""Loss and gradients of a batch of autoencoders with torch tensor operations.

Models are grouped by activation pair; each group runs as batched matrix
products (``baddbmm``/``bmm``) over a leading model axis, with rows padded to
the longest dataset of the group (padded rows carry zero weight in the loss) and
hidden units padded to the largest ``k`` (padded units are masked after the
activation, since ``sigmoid(0) ≠ 0``). Works on any device.

The gradients are written by hand: the network is small enough that they are a
few matrix products, which avoids autograd's bookkeeping. With the batch-norm
standardisation ``Z`` fixed (full-batch statistics do not depend on the
parameters), the normalised input is ``Z·diag(γ) + β``; folding it into the
encoder gives ``A = Z·W1' + c`` with ``W1' = diag(γ)·W1`` and ``c = β·W1 + b1``,
and every gradient of γ, β, W1, b1 follows from ``G = Zᵀ·dA`` and the column
sums of ``dA``.
"""

from __future__ import annotations

import numpy as np
import torch

from synlib.autoencoder._layout import Problem, standardised


class TorchBackend:
    """Hand-written forward and backward passes with batched torch matrix products.

    ``name`` is ``torch-<version>-<device type>``, e.g. ``torch-2.13.0-cpu``.
    """

    def __init__(self, problem: Problem, device: torch.device):
        self.name = f"torch-{torch.__version__.split('+')[0]}-{device.type}"
        self.problem = problem
        self.device = device
        layout = problem.layout
        groups: dict[tuple[str, str], list[int]] = {}
        for i, (enc, dec) in enumerate(zip(problem.encoders, problem.decoders)):
            groups.setdefault((enc.name, dec.name), []).append(i)
        self.groups = []
        for members in groups.values():
            n = [problem.X[problem.data[i]].shape[0] for i in members]
            n_max = max(n)
            size = (len(members), n_max, layout.m)
            Z = torch.zeros(size, dtype=torch.float32)
            X = torch.zeros(size, dtype=torch.float32)
            weight = torch.zeros(len(members), n_max, 1, dtype=torch.float32)
            hidden = torch.zeros(len(members), 1, layout.k, dtype=torch.float32)
            for g, i in enumerate(members):
                d = problem.data[i]
                Z[g, : n[g]] = standardised(problem, d)
                X[g, : n[g]] = problem.X[d]
                weight[g, : n[g]] = 1.0 / (n[g] * layout.m)
                hidden[g, 0, : problem.k[i]] = 1
            i0 = members[0]
            self.groups.append(
                {
                    "members": torch.tensor(members, device=device),
                    "members_np": np.asarray(members),
                    "Z": Z.to(device),
                    "X": X.to(device),
                    "weight": weight.to(device),
                    "hidden": hidden.to(device),
                    "encoder": problem.encoders[i0],
                    "decoder": problem.decoders[i0],
                }
            )

    def loss_and_grad(self, params: torch.Tensor, active: np.ndarray) -> tuple[np.ndarray, torch.Tensor]:
        """Training loss (float64, one per model) and gradient (models × P); zero where inactive."""
        layout = self.problem.layout
        loss = np.zeros(self.problem.n_models)
        grad = torch.zeros_like(params)
        for group in self.groups:
            if not active[group["members_np"]].any():
                continue
            p = params.index_select(0, group["members"])
            g_loss, g_grad = _group_loss_and_grad(p, group, layout)
            keep = torch.as_tensor(active[group["members_np"]], device=params.device)
            g_grad = g_grad * keep[:, None]
            grad.index_copy_(0, group["members"], g_grad)
            loss[group["members_np"]] = np.where(active[group["members_np"]], g_loss.double().cpu().numpy(), 0.0)
        return loss, grad


def _group_loss_and_grad(p: torch.Tensor, group: dict, layout) -> tuple[torch.Tensor, torch.Tensor]:
    v = layout.views(p)
    gamma, beta, W1, b1, W2, b2 = (v[name] for name in ("gamma", "beta", "W1", "b1", "W2", "b2"))
    Z, X, weight, hidden = group["Z"], group["X"], group["weight"], group["hidden"]
    enc, dec = group["encoder"], group["decoder"]

    W1p = gamma[:, :, None] * W1
    c0 = b1 + torch.bmm(beta[:, None, :], W1)[:, 0]
    A = torch.baddbmm(c0[:, None, :], Z, W1p)
    H = enc.forward(A) * hidden
    B = torch.baddbmm(b2[:, None, :], H, W2)
    Y = dec.forward(B)
    E = Y - X
    wE = E * weight
    loss = (wE * E).sum(dim=(1, 2))
    dB = dec.derivative(B, Y) * (2 * wE)

    grad = torch.zeros_like(p)
    gv = layout.views(grad)
    gv["W2"].copy_(torch.bmm(H.transpose(1, 2), dB))
    gv["b2"].copy_(dB.sum(dim=1))
    dA = torch.bmm(dB, W2.transpose(1, 2)) * enc.derivative(A, H) * hidden
    G = torch.bmm(Z.transpose(1, 2), dA)
    s = dA.sum(dim=1)
    gv["W1"].copy_(gamma[:, :, None] * G + beta[:, :, None] * s[:, None, :])
    gv["b1"].copy_(s)
    gv["gamma"].copy_((G * W1).sum(dim=2))
    gv["beta"].copy_((W1 * s[:, None, :]).sum(dim=2))
    return loss, grad
