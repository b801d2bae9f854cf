"""The compiled CPU kernel for the loss and gradients of a batch of autoencoders: its source,
and how it is built, cached, checked and loaded.

The network is small (m muscles → k units → m muscles), so on a CPU the time
goes into moving data through a dozen element-wise passes, not into arithmetic.
This kernel fuses the whole forward and backward pass: it walks the rows of a
dataset in blocks of 64 that stay in the L1 cache, standardises them (batch
norm) on the fly so that only the raw data are read from memory, computes
encoder, decoder, loss and every gradient contribution of the block, and keeps
per-lane partial sums in L1. The matrix products walk the block in register tiles
(up to 6 hidden units or 4 muscles × 64 rows), and exp, sigmoid and tanh are
evaluated on 4 vectors at a time, step by step, so that their long dependency
chains overlap. The arithmetic is that of the torch backend
(:mod:`synlib.autoencoder._torch_backend`); both are checked against autograd in
the tests. ``exp`` is the Cephes single-precision polynomial and ``tanh`` the
Cephes ``tanhf`` (both within a few ulp of libm).

Work is split into *items* (one model × a fixed range of 8192 rows); threads
take items from a shared counter and each item writes its own partial sums,
which are added per model in item order afterwards. Results therefore do not
depend on the number of threads or on which other models share the batch.

Reproducibility across processors
---------------------------------
Every operation is a single IEEE-754 float operation in source order: the
flags forbid fused multiply-adds by contraction (``-ffp-contract=off``; GCC's
default would fuse them on processors with FMA only) and any reassociation
(``-fno-fast-math``). The library is built for the processor it runs on
(``-march=native``) because wide vectors make it several times faster, but the
instruction set changes the speed only, not the numbers: the tests build it for
the baseline architecture too and compare trained weights bit for bit. The
kernel's version (:func:`kernel_version`, the ``ckernel-…`` name written into
results tables) therefore hashes the source, the portable flags, the compiler
and the architecture, but not the processor; the cached file is keyed by the
processor as well, so that a library built with AVX-512 is never loaded on a
machine without it.

Where the library lives, and why it is safe to load
---------------------------------------------------
It is compiled once per machine with the system C compiler (``$CC``, else
``cc``, ``gcc`` or ``clang``) into :func:`synlib.paths.kernel_dir`
(``$SYNLIB_CACHE/kernels``). Loading a shared library runs its code, so

- the folder is created with mode 0700 and, before every use, must be a real
  directory (not a symbolic link) owned by the current user and writable by
  nobody else; otherwise it is refused, nothing in it is loaded, and the
  message names the folder and what is wrong;
- the library and its recorded SHA-256 (``<name>.sha256``, written at build
  time) are checked through a descriptor of that folder: a file that is not a
  regular file of the current user, is writable by others, or whose content does
  not match is refused (with a warning) and rebuilt;
- the bytes that were hashed are the bytes loaded (on Linux through
  ``/proc/self/fd``), and the compiler never writes into the cache folder: it
  builds in a fresh private temporary folder and the result is copied in under a
  temporary name, then renamed into place;
- on systems without POSIX user ids (Windows) ownership cannot be checked, so
  the kernel is not used there.

The outcome of the first attempt, library or failure, is remembered for the
process, so a failed build is not retried for every gradient step. When the
kernel cannot be used, or with ``SYNLIB_AE_KERNEL=torch``, the trainer uses the
torch backend instead (:mod:`synlib.autoencoder.fitting` says so once, in a
warning naming the cause). Delete the folder to rebuild the library.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.metadata
import json
import os
import platform
import secrets
import shlex
import shutil
import stat
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from synlib import paths

SOURCE = r"""
#include <stdint.h>
#include <string.h>

#define VL 16                 /* lanes of one vector (floats) */
#define NV 4                  /* vectors per block */
#define RB (VL * NV)          /* rows per block */
#define CT 6                  /* hidden units per register tile (CT x NV accumulators) */
#define IT 4                  /* muscles per register tile of the decoder */
typedef float vf __attribute__((vector_size(4 * VL)));
typedef float vfu __attribute__((vector_size(4 * VL), aligned(4)));   /* unaligned access */
typedef int32_t vi __attribute__((vector_size(4 * VL)));

#define LD(p) (*(const vfu *)(p))
#define INLINE static inline __attribute__((always_inline))

/* x in every lane; written as an initialiser (not 0 + x, which costs an addition) */
INLINE vf splat(float x) { return (vf){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x}; }
INLINE vf vsel(vi mask, vf a, vf b) { return (vf)(((vi)a & mask) | ((vi)b & ~mask)); }

/* a < b ? a : b and a > b ? a : b per lane (b where either is NaN); exact, so the AVX-512 instruction and
   the portable select give the same bits */
#if defined(__AVX512F__)
#include <immintrin.h>
INLINE vf vmin(vf a, vf b) { return (vf)_mm512_min_ps((__m512)a, (__m512)b); }
INLINE vf vmax(vf a, vf b) { return (vf)_mm512_max_ps((__m512)a, (__m512)b); }
#else
INLINE vf vmin(vf a, vf b) { return vsel(a < b, a, b); }
INLINE vf vmax(vf a, vf b) { return vsel(a > b, a, b); }
#endif

/* The activations work on NV vectors at once, each step for all of them before the next, so that the
   processor has independent work while one long dependency chain (exp, division) is in flight. The
   operations of every lane are the same as one vector at a time. */

/* Cephes expf; the argument is clamped to [-87, 88] so 2^n stays a normal float (NaN stays NaN).
   lower = 0 when every argument is known to be >= 0 (then the lower clamp changes nothing). */
INLINE void vexp4(vf *x, const int lower) {
    vf n[NV], r[NV], z[NV], p[NV];
    for (int v = 0; v < NV; v++) x[v] = vmin(splat(88.0f), x[v]);
    if (lower)
        for (int v = 0; v < NV; v++) x[v] = vmax(splat(-87.0f), x[v]);
    for (int v = 0; v < NV; v++) n[v] = (x[v] * 1.44269504088896341f + 12582912.0f) - 12582912.0f;   /* round to nearest */
    for (int v = 0; v < NV; v++) r[v] = x[v] - n[v] * 0.693359375f;
    for (int v = 0; v < NV; v++) r[v] = r[v] - n[v] * -2.12194440e-4f;
    for (int v = 0; v < NV; v++) z[v] = r[v] * r[v];
    for (int v = 0; v < NV; v++) p[v] = 1.9875691500E-4f * r[v] + 1.3981999507E-3f;
    for (int v = 0; v < NV; v++) p[v] = p[v] * r[v] + 8.3334519073E-3f;
    for (int v = 0; v < NV; v++) p[v] = p[v] * r[v] + 4.1665795894E-2f;
    for (int v = 0; v < NV; v++) p[v] = p[v] * r[v] + 1.6666665459E-1f;
    for (int v = 0; v < NV; v++) p[v] = p[v] * r[v] + 5.0000001201E-1f;
    for (int v = 0; v < NV; v++) p[v] = p[v] * z[v] + r[v] + 1.0f;
    for (int v = 0; v < NV; v++) x[v] = p[v] * (vf)((__builtin_convertvector(n[v], vi) + 127) << 23);
}

/* Cephes tanhf: odd polynomial below 0.625, 1 - 2/(exp(2|x|)+1) (with the sign of x) above */
INLINE void vtanh4(const vf *x, vf *out) {
    const vi sign = (vi){0} + (int32_t)0x80000000;
    vf ax[NV], big[NV], s[NV], small[NV];
    for (int v = 0; v < NV; v++) ax[v] = (vf)((vi)x[v] & ~sign);
    for (int v = 0; v < NV; v++) big[v] = 2.0f * ax[v];
    vexp4(big, 0);
    for (int v = 0; v < NV; v++) big[v] = 1.0f - 2.0f / (big[v] + 1.0f);
    for (int v = 0; v < NV; v++) big[v] = (vf)((vi)big[v] ^ ((vi)x[v] & sign));
    for (int v = 0; v < NV; v++) s[v] = x[v] * x[v];
    for (int v = 0; v < NV; v++) small[v] = -5.70498872745E-3f * s[v] + 2.06390887954E-2f;
    for (int v = 0; v < NV; v++) small[v] = small[v] * s[v] - 5.37397155531E-2f;
    for (int v = 0; v < NV; v++) small[v] = small[v] * s[v] + 1.33314422036E-1f;
    for (int v = 0; v < NV; v++) small[v] = small[v] * s[v] - 3.33332819422E-1f;
    for (int v = 0; v < NV; v++) small[v] = small[v] * s[v] * x[v] + x[v];
    for (int v = 0; v < NV; v++) out[v] = vsel(ax[v] < 0.625f, small[v], big[v]);
}

/* activation codes: 0 linear, 1 relu, 2 sigmoid, 3 tanh; out = f(a) for NV vectors */
INLINE void vact4(const int code, const vf *a, vf *out) {
    switch (code) {
    case 0:
        for (int v = 0; v < NV; v++) out[v] = a[v];
        break;
    case 1:
        for (int v = 0; v < NV; v++) out[v] = vsel(a[v] > 0.0f, a[v], splat(0.0f));
        break;
    case 2:
        for (int v = 0; v < NV; v++) out[v] = -a[v];
        vexp4(out, 1);
        for (int v = 0; v < NV; v++) out[v] = 1.0f / (1.0f + out[v]);
        break;
    default:
        vtanh4(a, out);
        break;
    }
}

/* g * f'(a), the derivative written with the pre-activation a and the output h */
INLINE vf vdact(int code, vf a, vf h, vf g) {
    switch (code) {
    case 0: return g;
    case 1: return vsel(a > 0.0f, g, splat(0.0f));
    case 2: return g * (h * (1.0f - h));
    default: return g * (1.0f - h * h);
    }
}

/* Register tiles: each keeps a tile of n hidden units (n <= CT) or muscles (n <= IT) in registers while
   it walks the other dimension, so that every vector it loads is used for the whole tile. n is a
   constant at every call (CASES switches over it). The order of the operations of every output is
   fixed by the source, whatever the tiling. */

/* encoder, units [c0, c0 + n): A = Z W1p + cb */
INLINE void enc_tile(const int n, const int64_t c0, const int64_t m, const int64_t kmax,
                     const vf *Zb, const float *W1p, const float *cb, vf *A)
{
    vf a[CT][NV];
    for (int c = 0; c < n; c++)
        for (int v = 0; v < NV; v++) a[c][v] = splat(cb[c0 + c]);
    for (int64_t j = 0; j < m; j++) {
        vf z[NV];
        for (int v = 0; v < NV; v++) z[v] = Zb[j * NV + v];
        for (int c = 0; c < n; c++) {
            const vf w = splat(W1p[j * kmax + c0 + c]);
            for (int v = 0; v < NV; v++) a[c][v] += w * z[v];
        }
    }
    for (int c = 0; c < n; c++)
        for (int v = 0; v < NV; v++) A[(c0 + c) * NV + v] = a[c][v];
}

/* back through the decoder weights (D = G W2^T) and the encoder activation (times f'(A), in Fp) for
   units [c0, c0 + n), then their contributions to the encoder's bias and weight gradients */
INLINE void back_tile(const int n, const int64_t c0, const int64_t m, const int64_t kmax,
                      const vf *Zb, const vf *G, const float *W2, const vf *Fp, vf *accS, vf *accG)
{
    vf d[CT][NV];
    for (int c = 0; c < n; c++)
        for (int v = 0; v < NV; v++) d[c][v] = splat(0.0f);
    for (int64_t i = 0; i < m; i++) {
        vf g[NV];
        for (int v = 0; v < NV; v++) g[v] = G[i * NV + v];
        for (int c = 0; c < n; c++) {
            const vf w = splat(W2[(c0 + c) * m + i]);
            for (int v = 0; v < NV; v++) d[c][v] += w * g[v];
        }
    }
    for (int c = 0; c < n; c++) {
        for (int v = 0; v < NV; v++) d[c][v] = d[c][v] * Fp[(c0 + c) * NV + v];
        accS[c0 + c] += (d[c][0] + d[c][1]) + (d[c][2] + d[c][3]);
    }
    for (int64_t j = 0; j < m; j++) {
        vf z[NV];
        for (int v = 0; v < NV; v++) z[v] = Zb[j * NV + v];
        for (int c = 0; c < n; c++)
            accG[j * kmax + c0 + c] += (z[0] * d[c][0] + z[1] * d[c][1]) + (z[2] * d[c][2] + z[3] * d[c][3]);
    }
}

/* decoder, loss and the gradient at the decoder's pre-activation (row weight w = 1/(n m)) for muscles
   [i0, i0 + n), then their contributions to the decoder's bias and weight gradients */
INLINE void dec_tile(const int n, const int dec, const int64_t i0, const int64_t k, const int64_t m,
                     const float *x0, const int64_t ld, const float *w, const float *W2, const float *b2,
                     const vf *H, vf *G, vf *accL, vf *accB2, vf *accW2)
{
    vf b[IT][NV], g[IT][NV];
    for (int i = 0; i < n; i++)
        for (int v = 0; v < NV; v++) b[i][v] = splat(b2[i0 + i]);
    for (int64_t c = 0; c < k; c++) {
        vf h[NV];
        for (int v = 0; v < NV; v++) h[v] = H[c * NV + v];
        for (int i = 0; i < n; i++) {
            const vf wc = splat(W2[c * m + i0 + i]);
            for (int v = 0; v < NV; v++) b[i][v] += wc * h[v];
        }
    }
    for (int i = 0; i < n; i++) {
        const float *x = x0 + (i0 + i) * ld;
        vf y[NV], gsum = splat(0.0f);
        vact4(dec, b[i], y);
        for (int v = 0; v < NV; v++) {
            vf e = y[v] - LD(x + v * VL);
            vf we = LD(w + v * VL) * e;
            accL[v] += we * e;
            g[i][v] = vdact(dec, b[i][v], y[v], 2.0f * we);
            G[(i0 + i) * NV + v] = g[i][v];
            gsum += g[i][v];
        }
        accB2[i0 + i] += gsum;
    }
    for (int64_t c = 0; c < k; c++) {
        vf h[NV];
        for (int v = 0; v < NV; v++) h[v] = H[c * NV + v];
        for (int i = 0; i < n; i++)
            accW2[c * m + i0 + i] += (h[0] * g[i][0] + h[1] * g[i][1]) + (h[2] * g[i][2] + h[3] * g[i][3]);
    }
}

/* the encoder's activation H = f(A) and its derivative Fp = f'(A) for units [0, k) */
INLINE void enc_act_code(const int enc, const int64_t k, const vf *A, vf *H, vf *Fp)
{
    for (int64_t c = 0; c < k; c++) {
        const vf *a = A + c * NV;
        vf *h = H + c * NV, *f = Fp + c * NV;
        vact4(enc, a, h);
        for (int v = 0; v < NV; v++)
            switch (enc) {
            case 0: f[v] = splat(1.0f); break;
            case 1: f[v] = vsel(a[v] > 0.0f, splat(1.0f), splat(0.0f)); break;
            case 2: f[v] = h[v] * (1.0f - h[v]); break;
            default: f[v] = 1.0f - h[v] * h[v]; break;
            }
    }
}


/* The steps of one block. Each is a function of its own (called once per block of 64 rows), so that
   only the decoder's step is compiled once per activation. */
#define NOINLINE static __attribute__((noinline))

NOINLINE void enc_act(const int enc, const int64_t k, const vf *A, vf *H, vf *Fp)
{
    switch (enc) {
    case 0: enc_act_code(0, k, A, H, Fp); break;
    case 1: enc_act_code(1, k, A, H, Fp); break;
    case 2: enc_act_code(2, k, A, H, Fp); break;
    default: enc_act_code(3, k, A, H, Fp); break;
    }
}

#define CASES(N, call) switch (N) { case 1: call(1); break; case 2: call(2); break; case 3: call(3); break; \
                                    case 4: call(4); break; case 5: call(5); break; default: call(6); break; }

NOINLINE void enc_block(const int64_t k, const int64_t m, const int64_t kmax, const vf *Zb, const float *W1p,
                       const float *c0, vf *A)
{
    for (int64_t u = 0; u < k; u += CT) {
#define ENC(N) enc_tile(N, u, m, kmax, Zb, W1p, c0, A)
        CASES(k - u, ENC)
#undef ENC
    }
}

NOINLINE void back_block(const int64_t k, const int64_t m, const int64_t kmax, const vf *Zb, const vf *G,
                        const float *W2, const vf *Fp, vf *accS, vf *accG)
{
    for (int64_t u = 0; u < k; u += CT) {
#define BACK(N) back_tile(N, u, m, kmax, Zb, G, W2, Fp, accS, accG)
        CASES(k - u, BACK)
#undef BACK
    }
}

INLINE void dec_block_code(const int dec, const int64_t k, const int64_t m, const float *x0, const int64_t ld,
                           const float *w, const float *W2, const float *b2, const vf *H, vf *G, vf *accL,
                           vf *accB2, vf *accW2)
{
    int64_t i = 0;
    for (; i + IT <= m; i += IT) dec_tile(IT, dec, i, k, m, x0, ld, w, W2, b2, H, G, accL, accB2, accW2);
    for (; i < m; i++) dec_tile(1, dec, i, k, m, x0, ld, w, W2, b2, H, G, accL, accB2, accW2);
}

NOINLINE void dec_block(const int dec, const int64_t k, const int64_t m, const float *x0, const int64_t ld,
                        const float *w, const float *W2, const float *b2, const vf *H, vf *G, vf *accL,
                        vf *accB2, vf *accW2)
{
    switch (dec) {
    case 0: dec_block_code(0, k, m, x0, ld, w, W2, b2, H, G, accL, accB2, accW2); break;
    case 1: dec_block_code(1, k, m, x0, ld, w, W2, b2, H, G, accL, accB2, accW2); break;
    case 2: dec_block_code(2, k, m, x0, ld, w, W2, b2, H, G, accL, accB2, accW2); break;
    default: dec_block_code(3, k, m, x0, ld, w, W2, b2, H, G, accL, accB2, accW2); break;
    }
}

/* One item: rows [row0, row0 + nrows) of one model. */
static void item(
    const int enc, const int dec, const int64_t k, const int64_t row0, const int64_t nrows,
    const float *XT, const float *W, const int64_t ld, const float *mean, const float *inv_std,
    const int64_t m, const int64_t kmax, const float *p, float *gout, double *loss)
{
    vf A[kmax * NV], H[kmax * NV], Fp[kmax * NV], G[m * NV], Zb[m * NV];
    vf accW2[kmax * m], accB2[m], accG[m * kmax], accS[kmax], accL[NV];
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
    for (int v = 0; v < NV; v++) accL[v] = splat(0.0f);
    for (int64_t q = 0; q < kmax * m; q++) accW2[q] = splat(0.0f), accG[q] = splat(0.0f);
    for (int64_t q = 0; q < m; q++) accB2[q] = splat(0.0f);
    for (int64_t q = 0; q < kmax; q++) accS[q] = splat(0.0f);

    for (int64_t r0 = row0; r0 < row0 + nrows; r0 += RB) {
        /* the batch-norm standardisation of this block, computed here so that only X is read from memory */
        for (int64_t j = 0; j < m; j++) {
            const float *x = XT + j * ld + r0;
            for (int v = 0; v < NV; v++) Zb[j * NV + v] = (LD(x + v * VL) - mean[j]) * inv_std[j];
        }
        enc_block(k, m, kmax, Zb, W1p, c0, A);
        enc_act(enc, k, A, H, Fp);
        dec_block(dec, k, m, XT + r0, ld, W + r0, W2, b2, H, G, accL, accB2, accW2);
        back_block(k, m, kmax, Zb, G, W2, Fp, accS, accG);
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
    vf L4 = (accL[0] + accL[1]) + (accL[2] + accL[3]);
    double L = 0.0;
    for (int l = 0; l < VL; l++) L += L4[l];
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
        item(enc, (int)md[2], md[0], t[1], t[2], XT, W, ld, mean, inv_std, m, kmax, p, g, losses + it);
    }
}
"""

# The numbers depend on these flags: plain IEEE operations in source order (no contraction into
# fused multiply-adds, no reassociation). GNU C vector extensions, attributes and __atomic builtins
# are accepted by GCC and clang in c11 mode.
PORTABLE_FLAGS = ("-O3", "-std=c11", "-ffp-contract=off", "-fno-fast-math", "-fPIC", "-shared")
# Only the speed depends on the instruction set (see the module docstring); a compiler that does not
# know -march=native gets a build for its default target instead.
ARCH_FLAGS = ("-march=native",)
FILE_MODE = 0o700  # never writable by group or others: the owner and mode checks below refuse that

ALLOWED_SETTINGS = ("", "auto", "torch")


class KernelUnavailable(RuntimeError):
    """The compiled kernel cannot be built or loaded here; the message says why."""


@dataclass(frozen=True)
class Kernel:
    """A loaded kernel library, its version (``ckernel-<hash>``) and the file it was loaded from.

    ``descriptor`` is the open file the library was loaded through; it is never
    closed, so that its ``/proc/self/fd`` name cannot come to mean another file.
    """

    lib: ctypes.CDLL
    version: str
    path: Path
    descriptor: int


_COMPILERS: dict[str | None, tuple[list[str], str] | KernelUnavailable] = {}
_LOADED: dict[tuple, Kernel | KernelUnavailable] = {}


def disabled() -> bool:
    """Whether ``SYNLIB_AE_KERNEL=torch`` turns the kernel off (other values than auto are refused)."""
    setting = os.environ.get("SYNLIB_AE_KERNEL", "")
    if setting not in ALLOWED_SETTINGS:
        raise ValueError(f"SYNLIB_AE_KERNEL={setting!r} is not understood; allowed: auto (or unset), torch")
    return setting == "torch"


def _find_compiler() -> tuple[list[str], str]:
    named = os.environ.get("CC")
    if named:
        command = shlex.split(named)
        found = shutil.which(command[0]) if command else None
        if found is None:
            raise KernelUnavailable(f"the C compiler CC={named!r} is not found")
        command[0] = found
    else:
        found = next((path for path in map(shutil.which, ("cc", "gcc", "clang")) if path), None)
        if found is None:
            raise KernelUnavailable("no C compiler found (looked for cc, gcc and clang; set CC to name one)")
        command = [found]
    try:
        done = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        raise KernelUnavailable(f"the C compiler {shlex.join(command)} does not run: {exc}") from exc
    if done.returncode != 0:
        raise KernelUnavailable(f"the C compiler {shlex.join(command)} does not run: "
                                f"'--version' exited with status {done.returncode}")
    return command, done.stdout.strip()


def _compiler() -> tuple[list[str], str]:
    """The compiler command and its ``--version`` text, found once per value of ``CC``."""
    return _remembered(_COMPILERS, os.environ.get("CC"), _find_compiler)


def _remembered(cache: dict, key, make):
    """``make()`` once per ``key``; a :class:`KernelUnavailable` is remembered and raised again, not retried."""
    if key not in cache:
        try:
            cache[key] = make()
        except KernelUnavailable as exc:
            cache[key] = exc
    if isinstance(cache[key], KernelUnavailable):
        raise cache[key]
    return cache[key]


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _version_of(compiler_version: str) -> str:
    return "ckernel-" + _digest(SOURCE, *PORTABLE_FLAGS, compiler_version, platform.machine())[:12]


def kernel_version() -> str:
    """The kernel's version, ``ckernel-<hash>``, without building it.

    The hash covers what decides the kernel's numbers (source, portable flags,
    compiler version, architecture); :class:`KernelUnavailable` when no compiler
    runs or the kernel is disabled.
    """
    if disabled():
        raise KernelUnavailable("disabled by SYNLIB_AE_KERNEL=torch")
    return _version_of(_compiler()[1])


def backend_fingerprint() -> str:
    """What decides the autoencoders' numbers on this machine, for the runner's cache keys.

    The kernel's version (or why there is none), the torch version and every
    ``SYNLIB_AE_*`` variable, as JSON. Cheap: it builds nothing and imports no torch.

    Examples
    --------
    >>> sorted(json.loads(backend_fingerprint()))
    ['env', 'kernel', 'torch']
    """
    try:
        kernel = kernel_version()
    except KernelUnavailable as exc:
        kernel = f"unavailable: {exc}"
    env = {name: value for name, value in os.environ.items() if name.startswith("SYNLIB_AE_")}
    return json.dumps({"kernel": kernel, "torch": importlib.metadata.version("torch"), "env": env}, sort_keys=True)


def _cpu_signature() -> str:
    # a -march=native library must not be loaded on another processor (it may use missing instructions)
    try:
        text = Path("/proc/cpuinfo").read_text()
        flags = next((line for line in text.splitlines() if line.startswith(("flags", "Features"))), "")
    except OSError:
        flags = platform.processor()
    return platform.machine() + flags


def _unsafe(st: os.stat_result) -> str | None:
    """Why a file or folder with status ``st`` may hold code written by someone else, or ``None``."""
    if st.st_uid != os.getuid():
        return f"it is owned by user id {st.st_uid}, not by you (user id {os.getuid()})"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"it is writable by {'group' if st.st_mode & stat.S_IWGRP else 'others'} (mode {stat.S_IMODE(st.st_mode):04o})"
    return None


def open_private_folder(folder: Path) -> int:
    """A descriptor of ``folder``, created with mode 0700 if missing, after checking it is safe.

    Raises :class:`KernelUnavailable`, naming the folder and the problem, when it
    cannot be created, is not a directory (a symbolic link counts as not), is
    owned by another user or is writable by group or others.
    """
    if not hasattr(os, "getuid"):
        raise KernelUnavailable("the owner of the kernel cache folder cannot be checked on this system "
                                "(no POSIX user ids), so the compiled kernel is not used")
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise KernelUnavailable(f"cannot create the kernel cache folder {folder}: {exc}") from exc
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise KernelUnavailable(f"cannot create the kernel cache folder {folder}: {exc}") from exc
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:
        raise KernelUnavailable(f"the kernel cache folder {folder} is refused: it is not a directory "
                                f"(symbolic links are refused too): {exc.strerror}") from exc
    problem = _unsafe(os.fstat(fd))
    if problem:
        os.close(fd)
        raise KernelUnavailable(f"the kernel cache folder {folder} is refused, and nothing in it is loaded: {problem}. "
                                "Remove it (or set SYNLIB_CACHE to a folder of your own) so that a private one is made")
    return fd


def _opener(folder_fd: int):
    """An ``open`` opener that resolves names inside the checked folder and follows no symbolic link."""
    def opener(name, flags):
        return os.open(name, flags | os.O_NOFOLLOW, dir_fd=folder_fd)
    return opener


def _remove(folder_fd: int, name: str) -> None:
    try:
        os.unlink(name, dir_fd=folder_fd)
    except FileNotFoundError:
        pass


def _write_atomically(folder_fd: int, name: str, data: bytes) -> None:
    """Write ``name`` in the folder under a temporary name, then rename it into place."""
    temporary = f".{name}.{secrets.token_hex(8)}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE, dir_fd=folder_fd)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(temporary, name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
    except BaseException:
        _remove(folder_fd, temporary)
        raise


def _compile(command: list[str]) -> bytes:
    """The kernel built by ``command``, as bytes.

    The compiler works in a fresh private folder (mode 0700, made by mkdtemp) and
    never in the cache folder; nothing is ever loaded from the temporary folder.
    """
    with tempfile.TemporaryDirectory(prefix="synlib-kernel-") as tmp:
        source, built = Path(tmp) / "ae_kernel.c", Path(tmp) / "ae_kernel.so"
        source.write_text(SOURCE)
        errors = []
        for arch in (ARCH_FLAGS, ()):
            try:
                done = subprocess.run([*command, *PORTABLE_FLAGS, *arch, "-o", str(built), str(source)],
                                      capture_output=True, text=True, timeout=600)
            except (OSError, subprocess.SubprocessError) as exc:
                raise KernelUnavailable(f"the C compiler {shlex.join(command)} failed to run: {exc}") from exc
            if done.returncode == 0:
                return built.read_bytes()
            errors.append(f"with {shlex.join([*PORTABLE_FLAGS, *arch])} (exit status {done.returncode}):\n"
                          f"{done.stderr[-2000:]}")
        raise KernelUnavailable(f"the C compiler {shlex.join(command)} failed to build the kernel "
                                + "\n".join(errors))


class _Refused(Exception):
    """A cached file fails a check; the message says which."""


def _read_checked(f) -> bytes:
    """The content of the open file ``f``; :class:`_Refused` if someone else could have written it."""
    st = os.fstat(f.fileno())
    if not stat.S_ISREG(st.st_mode):
        raise _Refused("it is not a regular file")
    problem = _unsafe(st)
    if problem:
        raise _Refused(problem)
    return f.read()


def _load_verified(folder_fd: int, folder: Path, name: str, version: str) -> Kernel | None:
    """Load ``name`` if it and its recorded SHA-256 pass the checks; ``None`` if it is missing.

    Raises :class:`_Refused` when a check fails.
    """
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=folder_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _Refused(f"it cannot be opened: {exc}") from exc
    try:
        with os.fdopen(os.dup(fd), "rb") as f:
            data = _read_checked(f)
        try:
            with open(f"{name}.sha256", "rb", opener=_opener(folder_fd)) as sums:
                recorded = _read_checked(sums).strip()
        except FileNotFoundError:
            raise _Refused("its checksum file is missing") from None
        except _Refused as exc:
            raise _Refused(f"its checksum file is refused: {exc}") from None
        if hashlib.sha256(data).hexdigest().encode() != recorded:
            raise _Refused("its SHA-256 differs from the one recorded when it was built (corrupted or replaced)")
        # Load the very file that was hashed, not whatever the name points to by now. The descriptor
        # stays open as long as the library is loaded: dlopen returns an already-loaded library whose
        # name matches, and /proc/self/fd/<n> would name another file once <n> is reused.
        by_descriptor = Path(f"/proc/self/fd/{fd}")
        lib = ctypes.CDLL(str(by_descriptor if by_descriptor.exists() else folder / name))
    except OSError as exc:
        os.close(fd)
        raise _Refused(f"it cannot be read or loaded: {exc}") from exc
    except BaseException:
        os.close(fd)
        raise
    pointer, integer = ctypes.c_void_p, ctypes.c_int64
    lib.ae_loss_grad.argtypes = [integer, pointer, pointer, pointer, pointer, pointer, integer, pointer,
                                 integer, integer, pointer, integer, pointer, pointer]
    lib.ae_loss_grad.restype = None
    return Kernel(lib, version, folder / name, fd)


def library_name(version: str) -> str:
    """The cached file of kernel ``version`` built with :data:`ARCH_FLAGS` for this processor."""
    return f"ae_kernel_{version}_{_digest(*ARCH_FLAGS, _cpu_signature())[:8]}.so"


def _build_and_load(folder: Path) -> Kernel:
    """Load the kernel from ``folder``, building it first if it is missing or refused."""
    command, compiler_version = _compiler()
    version = _version_of(compiler_version)
    name = library_name(version)
    folder_fd = open_private_folder(folder)
    try:
        try:
            kernel = _load_verified(folder_fd, folder, name, version)
        except _Refused as exc:
            warnings.warn(f"the cached kernel {folder / name} is refused ({exc}); rebuilding it",
                          RuntimeWarning, stacklevel=2)
            for stale in (name, f"{name}.sha256"):
                _remove(folder_fd, stale)
            kernel = None
        if kernel is not None:
            return kernel
        data = _compile(command)
        try:
            _write_atomically(folder_fd, name, data)
            _write_atomically(folder_fd, f"{name}.sha256", hashlib.sha256(data).hexdigest().encode())
        except OSError as exc:
            raise KernelUnavailable(f"cannot write the kernel into {folder}: {exc}") from exc
        try:
            kernel = _load_verified(folder_fd, folder, name, version)
        except _Refused as exc:
            raise KernelUnavailable(f"the kernel just built as {folder / name} cannot be loaded: {exc}") from exc
        if kernel is None:
            raise KernelUnavailable(f"the kernel just built as {folder / name} disappeared before it was loaded")
        return kernel
    finally:
        os.close(folder_fd)


def load_library() -> Kernel:
    """The kernel, built (once per machine, cached) and loaded (once per process).

    Raises :class:`KernelUnavailable` with the cause when it cannot be used; the
    outcome is remembered for the process (per compiler, cache folder and
    instruction-set flags), so a failure is not retried.
    """
    if disabled():
        raise KernelUnavailable("disabled by SYNLIB_AE_KERNEL=torch")
    key = (os.environ.get("CC"), str(paths.kernel_dir()), ARCH_FLAGS)
    return _remembered(_LOADED, key, lambda: _build_and_load(paths.kernel_dir()))
