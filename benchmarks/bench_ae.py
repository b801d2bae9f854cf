"""Benchmark: synlib's batched autoencoder trainer against three PyTorch baselines.

All train the same models — every activation pair for three simulated
participants at the default data size (45 conditions × 9 training repetitions ×
100 samples = 40,500 rows × 16 muscles), k = 4, 5, 6 — from the same initial
weights with the same maths (batch norm, dense encoder/decoder, MSE, RMSprop
lr 1e-3 rho 0.9 eps 1e-7, decoder weights clipped at 0), in the same process:

- the per-model loop: one ``nn.Module`` and one ``torch.optim.RMSprop`` per
  model, autograd;
- batched torch: per participant, the 16 models' parameters stacked along a
  leading axis and trained with ``baddbmm`` and autograd, one RMSprop over all
  the stacks;
- the same step under ``torch.compile`` (its compilation time is included, and
  reported apart; if it cannot compile here, the JSON says why).

Prints one JSON line: ``speedup`` (per-model loop / synlib),
``speedup_vs_batched_torch``, ``speedup_vs_compiled_torch`` and
``batched_torch_vs_loop``, the seconds of each, ``ms_per_model_epoch`` (synlib_s
over all model-epochs, set-up and evaluation included), ``max_rel_loss_diff``
(final training losses, synlib against the per-model loop; the batched
baselines' own differences are printed too), ``marginal_ms_per_model_epoch``
(the cost of more epochs: synlib trains again with twice the epochs and the
difference is divided by the extra model-epochs), ``projected_study_s`` (15
participants × 16 pairs × 2000 epochs at the marginal rate) and the set-up.
Requirement: speedup ≥ 8 and speedup_vs_batched_torch ≥ 2 with
max_rel_loss_diff ≤ 0.01. The machine's load average is printed too: timings on
a shared machine are noisy.

    python benchmarks/bench_ae.py            # 16 pairs × 3 participants × 200 epochs
    python benchmarks/bench_ae.py --quick    # 16 pairs × 1 participant × 20 epochs (about 2 min, half of it compiling)
"""

from __future__ import annotations

import argparse
import json
import os
import time
from itertools import product

import numpy as np
import torch

from synlib.autoencoder import ACTIVATIONS, train_autoencoders
from synlib.autoencoder import _ckernel
from synlib.autoencoder._layout import Layout
from synlib.autoencoder.fitting import initial_parameters

MUSCLES = 16
CONDITIONS, TRAIN_REPETITIONS, SAMPLES = 45, 9, 100
STUDY_MODEL_EPOCHS = 15 * 16 * 2000


def benchmark_data(n_participants: int, seed: int = 0) -> list[np.ndarray]:
    """Training matrices of the default size, built from known synergies.

    Each movement (condition × repetition, 100 samples) drives five synergies
    with smooth bumps whose timing and size depend on the condition; the
    envelopes get a little multiplicative noise and are scaled to a maximum of 1
    per muscle, like the preprocessed data the chapters use.
    """
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, SAMPLES)
    out = []
    for _ in range(n_participants):
        k_true = 5
        W = rng.gamma(0.6, 1.0, size=(k_true, MUSCLES))
        W /= np.linalg.norm(W, axis=1, keepdims=True)
        centre = rng.uniform(0.2, 0.8, size=(CONDITIONS, k_true))
        size = rng.gamma(2.0, 0.5, size=(CONDITIONS, k_true))
        movements = []
        for c, _rep in product(range(CONDITIONS), range(TRAIN_REPETITIONS)):
            jitter = rng.normal(0, 0.03, k_true)
            C = size[c] * np.exp(-0.5 * ((t[:, None] - centre[c] - jitter) / 0.12) ** 2)
            movements.append(C @ W * rng.lognormal(0, 0.1, size=(SAMPLES, MUSCLES)))
        X = np.concatenate(movements)
        out.append(X / X.max(axis=0))
    return out


def plain_pytorch_loop(X: np.ndarray, k: int, encoder: str, decoder: str, seed: int, epochs: int) -> float:
    """The reference: one nn.Module and one optimiser, autograd; returns the last recorded loss."""
    m = X.shape[1]
    layout = Layout(m, k)
    init = layout.views(initial_parameters(layout, k, seed))
    bn = torch.nn.BatchNorm1d(m, eps=1e-3)
    enc, dec = torch.nn.Linear(m, k), torch.nn.Linear(k, m)
    with torch.no_grad():
        enc.weight.copy_(init["W1"].T)
        enc.bias.zero_()
        dec.weight.copy_(init["W2"].T)
        dec.bias.zero_()
    f_enc, f_dec = ACTIVATIONS[encoder].forward, ACTIVATIONS[decoder].forward
    params = [*bn.parameters(), *enc.parameters(), *dec.parameters()]
    optimizer = torch.optim.RMSprop(params, lr=1e-3, alpha=0.9, eps=1e-7)
    Xt = torch.from_numpy(X).float()
    loss_value = float("nan")
    for _ in range(epochs):
        optimizer.zero_grad()
        out = f_dec(dec(f_enc(enc(bn(Xt)))))
        loss = torch.nn.functional.mse_loss(out, Xt)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            dec.weight.clamp_(min=0.0)
        loss_value = float(loss.detach())
    return loss_value


def batched_torch(data: list[np.ndarray], ks: list[int], pairs: list[tuple[str, str]], seed: int, epochs: int,
                  compile_step: bool = False) -> tuple[np.ndarray, float]:
    """The batched baseline: per participant, the models of all ``pairs`` stacked and trained with
    ``baddbmm`` and autograd, one RMSprop over every stack. Returns the last recorded loss of each
    model (participant-major, as :func:`train_autoencoders` orders them) and the seconds the first
    epoch took (with ``compile_step``, mostly compilation)."""
    encoders = sorted({enc for enc, _ in pairs})
    decoders = sorted({dec for _, dec in pairs})
    by_encoder = [torch.tensor([i for i, (enc, _) in enumerate(pairs) if enc == name]) for name in encoders]
    by_decoder = [torch.tensor([i for i, (_, dec) in enumerate(pairs) if dec == name]) for name in decoders]

    def apply(names, groups, values):
        out = torch.empty_like(values)
        for name, rows in zip(names, groups):
            out[rows] = ACTIVATIONS[name].forward(values[rows])
        return out

    def losses(X, gamma, beta, W1, b1, W2, b2):
        mean, var = X.mean(dim=0), X.var(dim=0, unbiased=False)
        Xn = ((X - mean) / torch.sqrt(var + 1e-3)) * gamma[:, None, :] + beta[:, None, :]
        H = apply(encoders, by_encoder, torch.baddbmm(b1[:, None, :], Xn, W1))
        Y = apply(decoders, by_decoder, torch.baddbmm(b2[:, None, :], H, W2))
        return ((Y - X) ** 2).mean(dim=(1, 2))

    step = torch.compile(losses, dynamic=False) if compile_step else losses
    stacks = []
    for X, k in zip(data, ks):
        m = X.shape[1]
        layout = Layout(m, k)
        init = [layout.views(initial_parameters(layout, k, seed)) for _ in pairs]
        W1 = torch.stack([v["W1"] for v in init]).requires_grad_(True)
        W2 = torch.stack([v["W2"] for v in init]).requires_grad_(True)
        params = [torch.ones(len(pairs), m, requires_grad=True), torch.zeros(len(pairs), m, requires_grad=True),
                  W1, torch.zeros(len(pairs), k, requires_grad=True), W2,
                  torch.zeros(len(pairs), m, requires_grad=True)]
        stacks.append((torch.from_numpy(X).float(), params))
    optimizer = torch.optim.RMSprop([p for _, params in stacks for p in params], lr=1e-3, alpha=0.9, eps=1e-7)
    last = [None] * len(stacks)
    first_epoch_s = 0.0
    for epoch in range(epochs):
        start = time.perf_counter()
        optimizer.zero_grad()
        for s, (X, params) in enumerate(stacks):
            loss = step(X, *params)
            loss.sum().backward()  # the models are independent: each gets the gradient of its own loss
            last[s] = loss.detach()
        optimizer.step()
        with torch.no_grad():
            for _, params in stacks:
                params[4].clamp_(min=0.0)
        if epoch == 0:
            first_epoch_s = time.perf_counter() - start
    return torch.cat(last).double().numpy(), first_epoch_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 participant, 20 epochs (about 2 min, half of it torch.compile)")
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args()
    participants = 1 if args.quick else 3
    epochs = args.epochs or (20 if args.quick else 200)
    data = benchmark_data(participants)
    ks = [4, 5, 6][:participants]
    pairs = list(product(ACTIVATIONS, ACTIVATIONS))

    start = time.perf_counter()
    try:
        _ckernel.load_library()  # built once per machine and cached; reported separately
        kernel_unavailable = None
    except _ckernel.KernelUnavailable as exc:
        kernel_unavailable = str(exc)
    build_s = time.perf_counter() - start

    start = time.perf_counter()
    models = train_autoencoders(data, ks, pairs, seeds=[0], epochs=epochs, device="cpu")
    synlib_s = time.perf_counter() - start
    synlib_final = np.array([ae.loss_curve_[-1] for ae in models])
    # the cost of one more epoch, without the fixed set-up and evaluation, for the projection
    start = time.perf_counter()
    train_autoencoders(data, ks, pairs, seeds=[0], epochs=2 * epochs, device="cpu")
    marginal_ms = (time.perf_counter() - start - synlib_s) / (len(models) * epochs) * 1e3

    start = time.perf_counter()
    baseline_final = np.array([plain_pytorch_loop(data[d], ks[d], enc, dec, 0, epochs)
                               for d, (enc, dec) in product(range(participants), pairs)])
    baseline_s = time.perf_counter() - start

    start = time.perf_counter()
    batched_final, _ = batched_torch(data, ks, pairs, 0, epochs)
    batched_s = time.perf_counter() - start

    start = time.perf_counter()
    try:
        compiled_final, compile_s = batched_torch(data, ks, pairs, 0, epochs, compile_step=True)
        compiled_s, compiled_note = time.perf_counter() - start, "ok"
    except Exception as exc:  # e.g. no working compiler for inductor: report it, keep the other figures
        compiled_final, compile_s, compiled_s = None, None, None
        compiled_note = f"torch.compile failed: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}"

    def rel_diff(final):
        return float(np.max(np.abs(final - baseline_final) / baseline_final))

    def ratio(a, b):
        return round(a / b, 2) if a is not None and b else None

    n_models = len(models)
    ms = synlib_s / (n_models * epochs) * 1e3
    print(json.dumps({
        "speedup": ratio(baseline_s, synlib_s),
        "speedup_vs_batched_torch": ratio(batched_s, synlib_s),
        "speedup_vs_compiled_torch": ratio(compiled_s, synlib_s),
        "batched_torch_vs_loop": ratio(baseline_s, batched_s),
        "compiled_torch_vs_loop": ratio(baseline_s, compiled_s),
        "compiled_vs_batched_torch": ratio(batched_s, compiled_s),
        "synlib_s": round(synlib_s, 3),
        "baseline_s": round(baseline_s, 3),
        "batched_torch_s": round(batched_s, 3),
        "compiled_torch_s": None if compiled_s is None else round(compiled_s, 3),
        "compiled_torch_first_epoch_s": None if compile_s is None else round(compile_s, 3),
        "compiled_torch": compiled_note,
        "ms_per_model_epoch": round(ms, 4),
        "baseline_ms_per_model_epoch": round(baseline_s / (n_models * epochs) * 1e3, 3),
        "batched_torch_ms_per_model_epoch": round(batched_s / (n_models * epochs) * 1e3, 3),
        "max_rel_loss_diff": rel_diff(synlib_final),
        "batched_torch_max_rel_loss_diff": rel_diff(batched_final),
        "compiled_torch_max_rel_loss_diff": None if compiled_final is None else rel_diff(compiled_final),
        "marginal_ms_per_model_epoch": round(marginal_ms, 4),
        "projected_study_s": round(marginal_ms * STUDY_MODEL_EPOCHS / 1e3, 1),
        "models": n_models,
        "epochs": epochs,
        "rows": int(data[0].shape[0]),
        "muscles": MUSCLES,
        "backend": models[0].backend_,
        "kernel_unavailable": kernel_unavailable,
        "kernel_build_s": round(build_s, 2),
        "threads": torch.get_num_threads(),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }))


if __name__ == "__main__":
    main()
