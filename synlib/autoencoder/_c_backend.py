"""The trainer's backend that computes losses and gradients with the compiled kernel.

The kernel itself, and how it is built and loaded safely, is in
:mod:`synlib.autoencoder._ckernel`; this module lays a batch of models out the
way the kernel reads it and runs it on a thread pool.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from synlib.autoencoder._ckernel import load_library
from synlib.autoencoder._layout import Problem

ROWS_PER_BLOCK = 64  # RB in the kernel's source
ROWS_PER_ITEM = 8192  # a multiple of ROWS_PER_BLOCK; fixed so results do not depend on threads
MAX_TABLE = 4096  # m × k above which the kernel's stack tables would be too large


def supports(problem: Problem) -> str | None:
    """``None`` if the kernel can train ``problem``, else the reason it cannot."""
    for act in [*problem.encoders, *problem.decoders]:
        if act.kernel_code is None:
            return f"activation {act.name!r} has no compiled version"
    if problem.layout.m * problem.layout.k > MAX_TABLE:
        return f"{problem.layout.m} muscles × {problem.layout.k} units exceed the kernel's tables"
    return None


class CBackend:
    """Loss and gradients from the compiled kernel, run on ``threads`` threads of ``pool``.

    ``name`` is the kernel's version, ``ckernel-<hash>``. Raises
    :class:`synlib.autoencoder._ckernel.KernelUnavailable` when the kernel cannot be loaded.
    """

    def __init__(self, problem: Problem, pool: ThreadPoolExecutor | None, threads: int):
        kernel = load_library()
        self.lib = kernel.lib
        self.name = kernel.version
        self.problem = problem
        layout = problem.layout
        padded = [-(-x.shape[0] // ROWS_PER_BLOCK) * ROWS_PER_BLOCK for x in problem.X]
        starts = np.concatenate([[0], np.cumsum(padded)]).astype(np.int64)
        self.ld = int(starts[-1])
        self.XT = torch.zeros(layout.m, self.ld, dtype=torch.float32)
        self.W = torch.zeros(self.ld, dtype=torch.float32)
        for d, x in enumerate(problem.X):
            n = x.shape[0]
            self.XT[:, starts[d] : starts[d] + n] = x.T
            self.W[starts[d] : starts[d] + n] = 1.0 / (n * layout.m)
        self.model_items = []  # per model: its rows of the item table (model, first row, rows)
        for i, d in enumerate(problem.data):
            rows = [(i, starts[d] + s, min(ROWS_PER_ITEM, padded[d] - s)) for s in range(0, padded[d], ROWS_PER_ITEM)]
            self.model_items.append(np.asarray(rows, dtype=np.int64))
        self.stats = torch.stack([torch.cat([problem.mean[d], problem.inv_std[d]]) for d in problem.data]).float()
        codes = [(k, e.kernel_code, c.kernel_code) for k, e, c in zip(problem.k, problem.encoders, problem.decoders)]
        self.models = torch.tensor(codes, dtype=torch.int64)
        self.pool = pool if threads > 1 else None
        self.threads = threads
        self._active_key = None

    def _select(self, active: np.ndarray) -> None:
        key = active.tobytes()
        if key == self._active_key:
            return
        chosen = [self.model_items[i] for i in np.flatnonzero(active)]
        self.items = torch.from_numpy(np.concatenate(chosen)) if chosen else torch.zeros(0, 3, dtype=torch.int64)
        counts = [len(items) for items in chosen]
        self.first_item = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        self.active_index = np.flatnonzero(active)
        self.grads = torch.empty(len(self.items), self.problem.layout.size, dtype=torch.float32)
        self.losses = torch.empty(len(self.items), dtype=torch.float64)
        self._active_key = key

    def loss_and_grad(self, params: torch.Tensor, active: np.ndarray) -> tuple[np.ndarray, torch.Tensor]:
        """Training loss (float64, one per model) and gradient (models × P); zero where inactive."""
        self._select(active)
        loss = np.zeros(self.problem.n_models)
        grad = torch.zeros_like(params)
        if len(self.items) == 0:
            return loss, grad
        params = params.contiguous()
        counter = torch.zeros(1, dtype=torch.int64)
        args = (len(self.items), self.items.data_ptr(), counter.data_ptr(), self.models.data_ptr(),
                self.XT.data_ptr(), self.W.data_ptr(), self.ld, self.stats.data_ptr(),
                self.problem.layout.m, self.problem.layout.k, params.data_ptr(), self.problem.layout.size,
                self.grads.data_ptr(), self.losses.data_ptr())
        if self.pool is None:
            self.lib.ae_loss_grad(*args)
        else:
            for future in [self.pool.submit(self.lib.ae_loss_grad, *args) for _ in range(self.threads)]:
                future.result()
        # per model, add its items' partial sums in item order (independent of threads)
        grad[self.active_index] = torch.from_numpy(np.add.reduceat(self.grads.numpy(), self.first_item, axis=0))
        loss[self.active_index] = np.add.reduceat(self.losses.numpy(), self.first_item)
        return loss, grad
