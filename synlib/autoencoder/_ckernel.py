"""A compiled CPU kernel for the loss and gradients of a batch of autoencoders.

The network is small (m muscles → k units → m muscles), so on a CPU the time
goes into moving data through a dozen element-wise passes, not into arithmetic.
This kernel fuses the whole forward and backward pass: it walks the rows of a
dataset in blocks of 64 that stay in the L1 cache, standardises them (batch
norm) on the fly so that only the raw data are read from memory, computes
encoder, decoder, loss and every gradient contribution of the block, and keeps
per-lane partial sums in L1. The arithmetic is that of the torch backend
(:mod:`synlib.autoencoder._torch_backend`); both are checked against autograd in
the tests. ``exp`` is the Cephes single-precision polynomial and ``tanh`` the
Cephes ``tanhf`` (both within a few ulp of libm).

Work is split into *items* (one model × a fixed range of 8192 rows); threads
take items from a shared counter and each item writes its own partial sums,
which are added per model in item order afterwards. Results therefore do not
depend on the number of threads or on which other models share the batch.

The C source below is compiled once per machine with the system C compiler
(``-O3 -march=native``) into a cache folder (``$SYNLIB_CACHE_DIR``, default
``~/.cache/synlib``). When no compiler works, or with
``SYNLIB_AE_KERNEL=torch``, the trainer uses the torch backend instead.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from synlib.autoencoder._layout import Problem

ROWS_PER_BLOCK = 64
ROWS_PER_ITEM = 8192  # a multiple of ROWS_PER_BLOCK; fixed so results do not depend on threads
MAX_TABLE = 4096  # m × k above which the kernel's stack tables would be too large

SOURCE = r"""
#include <stdint.h>
#include <string.h>

#define VL 16                 /* lanes of one vector (floats) */
#define NV 4                  /* vectors per block */
#define RB (VL * NV)          /* rows per block */
typedef float vf __attribute__((vector_size(4 * VL)));
typedef float vfu __attribute__((vector_size(4 * VL), aligned(4)));   /* unaligned access */
typedef int32_t vi __attribute__((vector_size(4 * VL)));

#define LD(p) (*(const vfu *)(p))

static inline vf splat(float x) { return (vf){0} + x; }
static inline vf vsel(vi mask, vf a, vf b) { return (vf)(((vi)a & mask) | ((vi)b & ~mask)); }

/* Cephes expf; the argument is clamped to [-87, 88] so 2^n stays a normal float */
static inline vf vexp(vf x) {
    x = vsel(x > 88.0f, splat(88.0f), x);
    x = vsel(x < -87.0f, splat(-87.0f), x);
    vf n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;   /* round to nearest */
    vf r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    vf z = r * r;
    vf p = (((((1.9875691500E-4f * r + 1.3981999507E-3f) * r + 8.3334519073E-3f) * r
              + 4.1665795894E-2f) * r + 1.6666665459E-1f) * r + 5.0000001201E-1f) * z + r + 1.0f;
    vi e = (__builtin_convertvector(n, vi) + 127) << 23;
    return p * (vf)e;
}

/* Cephes tanhf: odd polynomial below 0.625, 1 - 2/(exp(2|x|)+1) above */
static inline vf vtanh(vf x) {
    vi neg = x < 0.0f;
    vf ax = vsel(neg, -x, x);
    vf big = 1.0f - 2.0f / (vexp(2.0f * ax) + 1.0f);
    big = vsel(neg, -big, big);
    vf s = x * x;
    vf small = ((((-5.70498872745E-3f * s + 2.06390887954E-2f) * s - 5.37397155531E-2f) * s
                 + 1.33314422036E-1f) * s - 3.33332819422E-1f) * s * x + x;
    return vsel(ax < 0.625f, small, big);
}

/* activation codes: 0 linear, 1 relu, 2 sigmoid, 3 tanh */
static inline vf vact(int code, vf a) {
    switch (code) {
    case 0: return a;
    case 1: return vsel(a > 0.0f, a, splat(0.0f));
    case 2: return 1.0f / (1.0f + vexp(-a));
    default: return vtanh(a);
    }
}

/* g * f'(a), the derivative written with the pre-activation a and the output h */
static inline vf vdact(int code, vf a, vf h, vf g) {
    switch (code) {
    case 0: return g;
    case 1: return vsel(a > 0.0f, g, splat(0.0f));
    case 2: return g * (h * (1.0f - h));
    default: return g * (1.0f - h * h);
    }
}

/* One item: rows [row0, row0 + nrows) of one model. Inlined once per decoder
   activation, so the n x m part of the work has no branch on the activation. */
static inline __attribute__((always_inline)) void item(
    const int enc, const int dec, const int64_t k, const int64_t row0, const int64_t nrows,
    const float *XT, const float *W, const int64_t ld, const float *mean, const float *inv_std,
    const int64_t m, const int64_t kmax, const float *p, float *gout, double *loss)
{
    vf A[kmax * NV], H[kmax * NV], G[m * NV], Zb[m * NV];
    vf accW2[kmax * m], accB2[m], accG[m * kmax], accS[kmax];
    float W1p[m * kmax], c0[kmax], s[kmax];
    const float *gamma = p, *beta = p + m, *W1 = p + 2 * m, *b1 = W1 + m * kmax;
    const float *W2 = b1 + kmax, *b2 = W2 + kmax * m;

    /* fold the batch-norm affine into the encoder: A = Z (diag(gamma) W1) + (beta W1 + b1) */
    for (int64_t c = 0; c < k; c++) {
        float t = b1[c];
        for (int64_t j = 0; j < m; j++) {
            W1p[j * kmax + c] = gamma[j] * W1[j * kmax + c];
            t += beta[j] * W1[j * kmax + c];
        }
        c0[c] = t;
    }
    vf accL = splat(0.0f);
    for (int64_t q = 0; q < kmax * m; q++) accW2[q] = splat(0.0f), accG[q] = splat(0.0f);
    for (int64_t q = 0; q < m; q++) accB2[q] = splat(0.0f);
    for (int64_t q = 0; q < kmax; q++) accS[q] = splat(0.0f);

    for (int64_t r0 = row0; r0 < row0 + nrows; r0 += RB) {
        /* the batch-norm standardisation of this block, computed here so that only X is read from memory */
        for (int64_t j = 0; j < m; j++) {
            const float *x = XT + j * ld + r0;
            for (int v = 0; v < NV; v++) Zb[j * NV + v] = (LD(x + v * VL) - mean[j]) * inv_std[j];
        }
        /* encoder */
        for (int64_t c = 0; c < k; c++) {
            vf a0 = splat(c0[c]), a1 = a0, a2 = a0, a3 = a0;
            for (int64_t j = 0; j < m; j++) {
                const vf w = splat(W1p[j * kmax + c]);
                const vf *z = Zb + j * NV;
                a0 += w * z[0]; a1 += w * z[1]; a2 += w * z[2]; a3 += w * z[3];
            }
            vf *a = A + c * NV, *h = H + c * NV;
            a[0] = a0; a[1] = a1; a[2] = a2; a[3] = a3;
            h[0] = vact(enc, a0); h[1] = vact(enc, a1); h[2] = vact(enc, a2); h[3] = vact(enc, a3);
        }
        /* decoder, loss, and the gradient at the decoder's pre-activation (weight w = 1/(n m)) */
        const float *w = W + r0;
        for (int64_t i = 0; i < m; i++) {
            vf bv[NV];
            bv[0] = splat(b2[i]); bv[1] = bv[0]; bv[2] = bv[0]; bv[3] = bv[0];
            for (int64_t c = 0; c < k; c++) {
                const vf wc = splat(W2[c * m + i]);
                const vf *h = H + c * NV;
                bv[0] += wc * h[0]; bv[1] += wc * h[1]; bv[2] += wc * h[2]; bv[3] += wc * h[3];
            }
            const float *x = XT + i * ld + r0;
            vf gsum = splat(0.0f);
            for (int v = 0; v < NV; v++) {
                vf y = vact(dec, bv[v]);
                vf e = y - LD(x + v * VL);
                vf we = LD(w + v * VL) * e;
                accL += we * e;
                vf g = vdact(dec, bv[v], y, 2.0f * we);
                G[i * NV + v] = g;
                gsum += g;
            }
            accB2[i] += gsum;
            const vf *g = G + i * NV;
            for (int64_t c = 0; c < k; c++) {
                const vf *h = H + c * NV;
                accW2[c * m + i] += h[0] * g[0] + h[1] * g[1] + h[2] * g[2] + h[3] * g[3];
            }
        }
        /* back through the decoder weights and the encoder activation */
        for (int64_t c = 0; c < k; c++) {
            vf d0 = splat(0.0f), d1 = d0, d2 = d0, d3 = d0;
            for (int64_t i = 0; i < m; i++) {
                const vf wc = splat(W2[c * m + i]);
                const vf *g = G + i * NV;
                d0 += wc * g[0]; d1 += wc * g[1]; d2 += wc * g[2]; d3 += wc * g[3];
            }
            const vf *a = A + c * NV, *h = H + c * NV;
            d0 = vdact(enc, a[0], h[0], d0); d1 = vdact(enc, a[1], h[1], d1);
            d2 = vdact(enc, a[2], h[2], d2); d3 = vdact(enc, a[3], h[3], d3);
            accS[c] += (d0 + d1) + (d2 + d3);
            for (int64_t j = 0; j < m; j++) {
                const vf *z = Zb + j * NV;
                accG[j * kmax + c] += z[0] * d0 + z[1] * d1 + z[2] * d2 + z[3] * d3;
            }
        }
    }

    /* add up the lanes; chain rule through the folded batch-norm affine */
    float *dgamma = gout, *dbeta = gout + m, *dW1 = gout + 2 * m, *db1 = dW1 + m * kmax;
    float *dW2 = db1 + kmax, *db2 = dW2 + kmax * m;
    for (int64_t c = 0; c < k; c++) {
        float t = 0.0f;
        for (int l = 0; l < VL; l++) t += accS[c][l];
        s[c] = t;
        db1[c] = t;
    }
    for (int64_t j = 0; j < m; j++) {
        float dg = 0.0f, dbt = 0.0f;
        for (int64_t c = 0; c < k; c++) {
            float Gs = 0.0f;
            for (int l = 0; l < VL; l++) Gs += accG[j * kmax + c][l];
            dW1[j * kmax + c] = gamma[j] * Gs + beta[j] * s[c];
            dg += W1[j * kmax + c] * Gs;
            dbt += W1[j * kmax + c] * s[c];
        }
        dgamma[j] = dg;
        dbeta[j] = dbt;
    }
    for (int64_t c = 0; c < k; c++)
        for (int64_t i = 0; i < m; i++) {
            float t = 0.0f;
            for (int l = 0; l < VL; l++) t += accW2[c * m + i][l];
            dW2[c * m + i] = t;
        }
    for (int64_t i = 0; i < m; i++) {
        float t = 0.0f;
        for (int l = 0; l < VL; l++) t += accB2[i][l];
        db2[i] = t;
    }
    double L = 0.0;
    for (int l = 0; l < VL; l++) L += accL[l];
    *loss = L;
}

/* items: n_items x 3 (model, first row, number of rows); models: M x 3 (k, encoder code, decoder code).
   XT: m x ld (rows along the second axis); W: ld row weights; stats: M x 2m (per-muscle mean, then
   1 / sqrt(variance + eps), of the model's data); params: M x P; grads: n_items x P. */
void ae_loss_grad(int64_t n_items, const int64_t *items, int64_t *counter, const int64_t *models,
                  const float *XT, const float *W, int64_t ld, const float *stats, int64_t m, int64_t kmax,
                  const float *params, int64_t P, float *grads, double *losses)
{
    for (;;) {
        const int64_t it = __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
        if (it >= n_items) break;
        const int64_t *t = items + 3 * it, *md = models + 3 * t[0];
        const int enc = (int)md[1];
        const float *p = params + t[0] * P, *mean = stats + t[0] * 2 * m, *inv_std = mean + m;
        float *g = grads + it * P;
        memset(g, 0, sizeof(float) * P);
        switch (md[2]) {
        case 0: item(enc, 0, md[0], t[1], t[2], XT, W, ld, mean, inv_std, m, kmax, p, g, losses + it); break;
        case 1: item(enc, 1, md[0], t[1], t[2], XT, W, ld, mean, inv_std, m, kmax, p, g, losses + it); break;
        case 2: item(enc, 2, md[0], t[1], t[2], XT, W, ld, mean, inv_std, m, kmax, p, g, losses + it); break;
        default: item(enc, 3, md[0], t[1], t[2], XT, W, ld, mean, inv_std, m, kmax, p, g, losses + it); break;
        }
    }
}
"""

FLAGS = ("-O3", "-march=native", "-std=gnu11", "-fPIC", "-shared")


def _cache_dir() -> Path:
    root = os.environ.get("SYNLIB_CACHE_DIR")
    if root:
        return Path(root)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "synlib"


def _cpu_signature() -> str:
    # -march=native code must not be reused on another processor
    try:
        text = Path("/proc/cpuinfo").read_text()
        flags = next((line for line in text.splitlines() if line.startswith(("flags", "Features"))), "")
    except OSError:
        flags = ""
    return platform.machine() + flags


class KernelUnavailable(RuntimeError):
    """The compiled kernel cannot be built or loaded on this machine."""


@functools.lru_cache(maxsize=1)
def load_library() -> ctypes.CDLL:
    """Compile (once per machine, cached) and load the kernel; raise :class:`KernelUnavailable` if impossible."""
    if os.environ.get("SYNLIB_AE_KERNEL") == "torch":
        raise KernelUnavailable("disabled by SYNLIB_AE_KERNEL=torch")
    compiler = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if compiler is None:
        raise KernelUnavailable("no C compiler found (set CC)")
    try:
        version = subprocess.run([compiler, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise KernelUnavailable(f"C compiler {compiler} does not run: {exc}") from exc
    key = hashlib.sha256("\0".join([SOURCE, *FLAGS, version, _cpu_signature()]).encode()).hexdigest()[:16]
    folder = _cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        folder = Path(tempfile.gettempdir()) / f"synlib-{os.getuid()}"
        folder.mkdir(parents=True, exist_ok=True)
    library = folder / f"ae_kernel_{key}.so"
    if not library.exists():
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            source = Path(tmp) / "ae_kernel.c"
            source.write_text(SOURCE)
            built = Path(tmp) / library.name
            result = subprocess.run([compiler, *FLAGS, "-o", str(built), str(source)], capture_output=True, text=True)
            if result.returncode != 0:
                raise KernelUnavailable(f"{compiler} failed to build the kernel:\n{result.stderr[-2000:]}")
            os.replace(built, library)  # atomic: concurrent builders leave one complete file
    lib = ctypes.CDLL(str(library))
    pointer, integer = ctypes.c_void_p, ctypes.c_int64
    lib.ae_loss_grad.argtypes = [integer, pointer, pointer, pointer, pointer, pointer, integer, pointer,
                                 integer, integer, pointer, integer, pointer, pointer]
    lib.ae_loss_grad.restype = None
    return lib


def supports(problem: Problem) -> str | None:
    """``None`` if the kernel can train ``problem``, else the reason it cannot."""
    for act in [*problem.encoders, *problem.decoders]:
        if act.kernel_code is None:
            return f"activation {act.name!r} has no compiled version"
    if problem.layout.m * problem.layout.k > MAX_TABLE:
        return f"{problem.layout.m} muscles × {problem.layout.k} units exceed the kernel's tables"
    return None


class CBackend:
    """Loss and gradients from the compiled kernel, run on ``threads`` threads of ``pool``."""

    name = "c-kernel"

    def __init__(self, problem: Problem, pool: ThreadPoolExecutor | None, threads: int):
        self.lib = load_library()
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
