"""The activation functions an autoencoder layer can use.

Each entry of :data:`ACTIVATIONS` holds the torch function, its derivative
written in terms of the pre-activation ``a`` and the output ``h = f(a)`` (the
trainer differentiates by hand, see :mod:`synlib.autoencoder.fitting`), and the
range of the output, which tells where a unit saturates. Adding an activation is
one line::

    ACTIVATIONS["softplus"] = Activation("softplus", F.softplus, lambda a, h: torch.sigmoid(a), (0.0, inf))

``kernel_code`` names the activation inside the compiled CPU kernel
(:mod:`synlib.autoencoder._ckernel`); an activation without one trains with the
torch backend, which handles any entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import inf

import torch

from synlib import metrics

__all__ = ["ACTIVATIONS", "Activation", "get_activation", "saturation_fraction"]


@dataclass(frozen=True)
class Activation:
    """One activation function: forward, derivative, output range.

    Parameters
    ----------
    name : str
    forward : callable
        ``h = forward(a)`` on a tensor.
    derivative : callable
        ``derivative(a, h)`` = f'(a), given the pre-activation ``a`` and the output ``h``.
    bounds : tuple of float
        Lowest and highest output value; an output at a finite bound is saturated.
    kernel_code : int or None
        Code of this activation in the compiled CPU kernel, ``None`` if it has none.
    """

    name: str
    forward: Callable[[torch.Tensor], torch.Tensor]
    derivative: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    bounds: tuple[float, float]
    kernel_code: int | None = None


#: The registry: activation name → :class:`Activation` (function, derivative, bounds, kernel code).
ACTIVATIONS: dict[str, Activation] = {
    "linear": Activation("linear", lambda a: a, lambda a, h: torch.ones_like(a), (-inf, inf), 0),
    "relu": Activation("relu", torch.relu, lambda a, h: (a > 0).to(a.dtype), (0.0, inf), 1),
    "sigmoid": Activation("sigmoid", torch.sigmoid, lambda a, h: h * (1 - h), (0.0, 1.0), 2),
    "tanh": Activation("tanh", torch.tanh, lambda a, h: 1 - h * h, (-1.0, 1.0), 3),
}


def get_activation(name: str) -> Activation:
    """The registered activation called ``name``.

    Examples
    --------
    >>> get_activation("tanh").bounds
    (-1.0, 1.0)
    >>> get_activation("softmax")
    Traceback (most recent call last):
    ...
    ValueError: unknown activation 'softmax'; allowed: linear, relu, sigmoid, tanh
    """
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        allowed = ", ".join(ACTIVATIONS)
        raise ValueError(f"unknown activation {name!r}; allowed: {allowed}") from None


def saturation_fraction(values, name: str, tol: float = 1e-3) -> float:
    """:func:`synlib.metrics.saturation_fraction` for any registered activation.

    The built-in activations use :data:`synlib.metrics.ACTIVATION_BOUNDS`; one
    added to :data:`ACTIVATIONS` saturates within ``tol`` of its finite bounds.

    Examples
    --------
    >>> saturation_fraction([0.0, 0.5, 0.9995, 0.3], "sigmoid")
    0.5
    """
    bounds = None if name in metrics.ACTIVATION_BOUNDS else get_activation(name).bounds
    return metrics.saturation_fraction(values, name, tol, bounds=bounds)
