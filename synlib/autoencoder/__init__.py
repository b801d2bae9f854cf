"""Autoencoder muscle synergies: the activation registry, the estimator and the batched trainer.

>>> from synlib.autoencoder import Autoencoder, ACTIVATIONS, train_autoencoders
>>> sorted(ACTIVATIONS)
['linear', 'relu', 'sigmoid', 'tanh']

The names are imported on first use, so that the runner can read
:func:`backend_fingerprint` (for its cache keys) without importing torch.
"""

import importlib

_SOURCES = {
    "ACTIVATIONS": "activations", "Activation": "activations", "get_activation": "activations",
    "Autoencoder": "model", "TrainingOptions": "fitting",
    "train_autoencoders": "trainer", "backend_fingerprint": "_ckernel",
}

__all__ = sorted(_SOURCES)


def __getattr__(name):
    if name not in _SOURCES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_SOURCES[name]}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *_SOURCES])
