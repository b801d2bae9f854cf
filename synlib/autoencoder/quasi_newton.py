"""A batched, bound-constrained L-BFGS: many small models minimised side by side, each on its own.

Every model of a batch is one row of a ``models × P`` tensor. One call of
``evaluate(x, active)`` returns the loss and gradient of every active row (the
compiled kernel or the torch backend of :mod:`synlib.autoencoder.fitting`); the
solver keeps, per model, an L-BFGS memory of the last ``memory`` steps and
gradient changes (Nocedal 1980; Nocedal & Wright 2006, algorithm 7.4) and a
backtracking (Armijo) line search along the projection arc, so that each model
takes its own steps and stops on its own test while all active models are
evaluated in one call.

Bounds: every entry is kept in ``[lower, upper]`` (``-inf``/``inf`` for none;
the decoder weights ≥ 0, activations refitted within their activation's range).
The direction is computed on the free variables only, those not held at a bound
by a gradient that pushes them out (the two-metric projection of Bertsekas 1982,
used by Kim, Sra & Dhillon 2010 with an L-BFGS matrix), and every trial point
is projected back into the bounds. ReLU makes the loss piecewise smooth; BFGS
methods work well on such functions in practice (Lewis & Overton 2013).

A model stops when

- *converged*: its loss fell by at most ``tol`` (relative) over the last
  ``window`` evaluations;
- *stalled*: no step along a fresh steepest-descent direction lowers the loss
  by a number that the float32 arithmetic of the backends can represent (its
  memory is cleared once first); nothing the solver can do lowers it further;
- *capped*: it used ``max_evaluations`` without either.

References: J. Nocedal, Updating quasi-Newton matrices with limited storage,
Math. Comp. 35 (1980) 773–782; D. P. Bertsekas, Projected Newton methods for
optimization problems with simple constraints, SIAM J. Control Optim. 20 (1982)
221–246; D. Kim, S. Sra, I. S. Dhillon, Tackling box-constrained optimization
via a new projected quasi-Newton approach, SIAM J. Sci. Comput. 32 (2010)
3548–3563; A. S. Lewis, M. L. Overton, Nonsmooth optimization via quasi-Newton
methods, Math. Program. 141 (2013) 135–163.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["CONVERGED", "STALLED", "CAPPED", "Minimised", "minimise"]

CONVERGED, STALLED, CAPPED = "converged", "stalled", "capped"
_REASONS = ("running", CONVERGED, STALLED, CAPPED)

ARMIJO = 1e-4          # sufficient decrease, the usual constant (Nocedal & Wright 2006, §3.1)
MAX_HALVINGS = 30      # backtracking steps before a direction counts as failed


@dataclass
class Minimised:
    """Where each model of a batch ended (numpy arrays, one entry per model).

    ``x`` (models × P, float64), ``loss``, ``evaluations`` (this call's), ``reason``
    (``"converged"``, ``"stalled"`` or ``"capped"``), ``fall`` (the relative fall of the
    loss over the last window, NaN before a full window) and ``curve``: per model the
    loss after each evaluation (the loss of the accepted point so far).
    """

    x: torch.Tensor
    loss: np.ndarray
    evaluations: np.ndarray
    reason: np.ndarray
    fall: np.ndarray
    curve: list[np.ndarray]


def minimise(evaluate: Callable, x0: torch.Tensor, free: torch.Tensor, lower: torch.Tensor,
             upper: torch.Tensor | None = None, *, max_evaluations: int, window: int, tol: float,
             memory: int = 10) -> Minimised:
    """Minimise every row of ``x0`` with its own L-BFGS run, evaluating all active rows together.

    Parameters
    ----------
    evaluate : callable
        ``evaluate(x, active)`` with ``x`` a models × P float64 tensor and ``active`` a
        boolean numpy mask; returns the losses (numpy float64, per model) and gradients
        (models × P tensor) of the active rows.
    x0 : tensor, models × P
        Starting points.
    free : bool tensor, models × P
        Entries that are optimised; the others stay as they are.
    lower, upper : float tensors, P or models × P
        Bounds of every entry (``-inf``, ``inf``: none); ``upper`` None: no upper bounds.
        ``x0`` must lie within them.
    max_evaluations : int or array of int
        The cap, for all models or one per model.
    window, tol, memory
        The test (see the module docstring) and the L-BFGS memory.
    """
    caps = torch.as_tensor(np.broadcast_to(np.asarray(max_evaluations), (x0.shape[0],)).copy(), device=x0.device)
    if window < 1 or int(caps.min()) < 1 or not tol >= 0 or memory < 1:
        raise ValueError(f"need window ≥ 1, max_evaluations ≥ 1, tol ≥ 0 and memory ≥ 1; got window={window}, "
                         f"max_evaluations={max_evaluations}, tol={tol}, memory={memory}")
    upper = torch.full_like(x0[0], float("inf")) if upper is None else upper
    state = _State(evaluate, x0, free, lower, upper, memory, caps)
    while state.active.any():
        state.step(window, tol)
    trace = state.trace.cpu().numpy()
    return Minimised(x=state.x, loss=state.f.cpu().numpy(), evaluations=state.count.cpu().numpy(),
                     reason=np.array([_REASONS[r] for r in state.reason.cpu().tolist()]),
                     fall=state.fall.cpu().numpy(),
                     curve=[trace[i, :n] for i, n in enumerate(state.count.cpu().tolist())])


class _State:
    """The solver's state for a batch; :meth:`step` evaluates every active model once."""

    def __init__(self, evaluate, x0, free, lower, upper, memory, cap):
        self.evaluate_batch = evaluate
        n, p = x0.shape
        device, dt = x0.device, torch.float64
        self.x = x0.to(dt).clone()
        self.free = free.to(device=device, dtype=torch.bool)
        self.lower = lower.to(device=device, dtype=dt).expand(n, p)
        self.upper = upper.to(device=device, dtype=dt).expand(n, p)
        self.S = torch.zeros(n, memory, p, dtype=dt, device=device)
        self.Y = torch.zeros_like(self.S)
        self.rho = torch.zeros(n, memory, dtype=dt, device=device)
        self.stored = torch.zeros(n, dtype=torch.long, device=device)
        self.active = torch.ones(n, dtype=torch.bool, device=device)
        self.reason = torch.zeros(n, dtype=torch.long, device=device)
        self.cap = cap
        self.trace = torch.full((n, int(cap.max()) + 1), float("nan"), dtype=dt, device=device)
        self.f, self.g = self._evaluate(self.x)
        self.count = torch.ones(n, dtype=torch.long, device=device)
        self.trace[:, 0] = self.f
        self.fall = torch.full((n,), float("nan"), dtype=dt, device=device)
        self.halvings = torch.zeros(n, dtype=torch.long, device=device)
        self.t = torch.ones(n, dtype=dt, device=device)
        self.d = self._direction(torch.ones(n, dtype=torch.bool, device=device))

    def _evaluate(self, x):
        loss, grad = self.evaluate_batch(x, self.active.cpu().numpy())
        loss = torch.as_tensor(loss, dtype=torch.float64, device=x.device)
        return loss, torch.where(self.free, grad.to(torch.float64), 0.0)

    def _direction(self, which: torch.Tensor) -> torch.Tensor:
        """L-BFGS directions on the free variables for the rows in ``which``; the other rows keep theirs."""
        rows = torch.nonzero(which).squeeze(1)
        d = self.d.clone() if hasattr(self, "d") else torch.zeros_like(self.x)
        if len(rows) == 0:
            return d
        g, x, rho = self.g[rows], self.x[rows], self.rho[rows]
        S, Y, stored = self.S[rows], self.Y[rows], self.stored[rows]
        # at a bound and pushed against it
        held = ((x <= self.lower[rows]) & (g > 0)) | ((x >= self.upper[rows]) & (g < 0))
        F = (self.free[rows] & ~held).to(x.dtype)
        q = -g * F
        alpha = torch.zeros_like(rho)
        for j in reversed(range(S.shape[1])):  # newest pair last; q stays on the free variables
            alpha[:, j] = rho[:, j] * (S[:, j] * q).sum(1)
            q = (q - alpha[:, j, None] * Y[:, j]) * F
        s_new, y_new = S[:, -1] * F, Y[:, -1] * F
        sy, yy = (s_new * y_new).sum(1), (y_new * y_new).sum(1)
        # the usual scaling s·y / y·y; without a memory, a first step of unit length in the L1 norm
        first = 1.0 / q.abs().sum(1).clamp_min(1e-300)
        gamma = torch.where((stored > 0) & (sy > 0) & (yy > 0), sy / yy.clamp_min(1e-300), first)
        r = gamma[:, None] * q
        for j in range(S.shape[1]):
            beta = rho[:, j] * (Y[:, j] * r).sum(1)
            r = (r + (alpha[:, j] - beta)[:, None] * S[:, j]) * F
        uphill = (r * g).sum(1) >= 0  # a stale memory on a non-convex loss: steepest descent
        if uphill.any():
            steepest = -g * F
            r = torch.where(uphill[:, None], steepest / steepest.abs().sum(1, keepdim=True).clamp_min(1e-300), r)
        d[rows] = r
        return d

    def _project(self, x):
        return torch.minimum(torch.maximum(x, self.lower), self.upper)

    def _forget(self, rows: torch.Tensor) -> None:
        self.S[rows] = 0.0
        self.Y[rows] = 0.0
        self.rho[rows] = 0.0
        self.stored[rows] = 0

    def step(self, window: int, tol: float) -> None:
        active = self.active
        trial = self._project(self.x + self.t[:, None] * self.d)
        ft, gt = self._evaluate(trial)
        self.count += active.long()
        ok = active & (ft <= self.f + ARMIJO * (self.g * (trial - self.x)).sum(1))
        s, y = trial - self.x, gt - self.g
        sy = (s * y).sum(1)
        keep = ok & (sy > 1e-10 * s.norm(dim=1) * y.norm(dim=1))  # curvature condition, else skip the update
        if keep.any():
            for buffer in (self.S, self.Y):
                buffer[keep] = torch.roll(buffer[keep], -1, dims=1)
            self.rho[keep] = torch.roll(self.rho[keep], -1, dims=1)
            self.S[keep, -1], self.Y[keep, -1] = s[keep], y[keep]
            self.rho[keep, -1] = 1.0 / sy[keep]
            self.stored[keep] = (self.stored[keep] + 1).clamp(max=self.S.shape[1])
        self.x = torch.where(ok[:, None], trial, self.x)
        self.f = torch.where(ok, ft, self.f)
        self.g = torch.where(ok[:, None], gt, self.g)
        rows = torch.nonzero(active).squeeze(1)
        self.trace[rows, self.count[rows] - 1] = self.f[rows]

        # the test: the fall over the last `window` evaluations
        back = self.count - 1 - window
        ready = active & (back >= 0)
        before = self.trace.gather(1, back.clamp_min(0)[:, None]).squeeze(1)
        self.fall = torch.where(ready, (before - self.f) / self.f.abs().clamp_min(1e-300), self.fall)
        converged = ok & ready & (self.fall <= tol)

        # backtracking; a direction that no representable step improves clears the memory, then stops the model
        failed = active & ~ok
        self.halvings = torch.where(failed, self.halvings + 1, torch.zeros_like(self.halvings))
        half = self.t * 0.5
        unmoved = (self._project(self.x + half[:, None] * self.d).float() == self.x.float()).all(1)
        exhausted = failed & ((self.halvings >= MAX_HALVINGS) | unmoved)
        restart = exhausted & (self.stored > 0)
        stalled = exhausted & ~restart
        if restart.any():
            self._forget(restart)
        capped = active & ~converged & ~stalled & (self.count >= self.cap)
        for code, rows_done in ((1, converged), (2, stalled), (3, capped)):
            self.reason = torch.where(rows_done & (self.reason == 0), torch.full_like(self.reason, code), self.reason)
        self.active = active & ~converged & ~stalled & ~capped

        renew = (ok | restart) & self.active
        if renew.any():
            self.d = self._direction(renew)
        self.halvings = torch.where(restart, torch.zeros_like(self.halvings), self.halvings)
        self.t = torch.where(renew, torch.ones_like(self.t), torch.where(failed, half, self.t))
