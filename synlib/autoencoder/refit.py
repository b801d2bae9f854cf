"""Held-out activations refitted with the decoder fixed: the reconstruction an optimal encoder would give.

NMF's held-out R² comes from activations fitted to the held-out data by
non-negative least squares, with its synergies fixed: the best any encoder could
do with those synergies. An autoencoder's held-out R² comes from its own
encoder, which was trained on other data. :func:`refit_hidden` gives the number
comparable to NMF's: for each held-out sample, the hidden outputs ``h`` within
the encoder activation's range that make the decoder's output
``g(h W2 + b2)`` closest to the sample (least squares), found by the solver of
:mod:`synlib.autoencoder.quasi_newton` (every sample a problem of ``k``
variables, all solved together) from the encoder's own outputs, so the refitted
error is never larger.

>>> import numpy as np
>>> from synlib.autoencoder import Autoencoder
>>> X = np.random.default_rng(0).random((200, 6))
>>> ae = Autoencoder(2, "relu", "linear", epochs=50, random_state=0).fit(X)
>>> H = refit_hidden(ae, X)
>>> bool((H >= 0).all()), bool(np.mean((ae.decode(H) - X) ** 2) <= np.mean((ae.reconstruct(X) - X) ** 2))
(True, True)
"""

from __future__ import annotations

import numpy as np
import torch

from synlib.autoencoder.activations import get_activation
from synlib.autoencoder.quasi_newton import minimise

__all__ = ["refit_hidden"]


def refit_hidden(ae, X, *, max_evaluations: int = 200, window: int = 10, tol: float = 1e-7) -> np.ndarray:
    """Hidden outputs (samples × k) that let ``ae``'s decoder reconstruct ``X`` best, within the encoder's range.

    Parameters
    ----------
    ae : synlib.autoencoder.model.Autoencoder
        A fitted autoencoder; its decoder (weights, bias, activation) stays fixed.
    X : ndarray, samples × muscles
    max_evaluations, window, tol
        The solver's cap and test (:func:`synlib.autoencoder.quasi_newton.minimise`): a sample's
        squared error fell by at most ``tol`` (relative) over its last ``window`` evaluations.
    """
    X = ae._check_X(X)
    if len(X) == 0:
        return np.zeros((0, ae.n_components))
    decoder = get_activation(ae.decoder)
    low, high = get_activation(ae.encoder).bounds
    W2 = torch.from_numpy(np.asarray(ae.decoder_weights_, dtype=np.float64))
    b2 = torch.from_numpy(np.asarray(ae.intercept_, dtype=np.float64))
    target = torch.from_numpy(X)
    start = torch.from_numpy(np.clip(ae.hidden(X), low, high))

    def evaluate(h, active):
        B = h @ W2 + b2
        Y = decoder.forward(B)
        E = Y - target
        loss = (E * E).mean(dim=1)
        grad = (decoder.derivative(B, Y) * (2.0 / X.shape[1]) * E) @ W2.T
        mask = torch.from_numpy(active)
        return torch.where(mask, loss, 0.0).numpy(), grad * mask[:, None]

    k = start.shape[1]
    run = minimise(evaluate, start, torch.ones_like(start, dtype=torch.bool),
                   torch.full((k,), low, dtype=torch.float64), torch.full((k,), high, dtype=torch.float64),
                   max_evaluations=max_evaluations, window=window, tol=tol)
    return run.x.numpy()
