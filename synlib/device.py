"""Where the extractors compute: one rule for NMF and the autoencoders.

``"auto"`` (the default of both) takes the first CUDA device when PyTorch sees one and the CPU
otherwise, so a fork on a GPU machine uses it without a parameter; ``"cpu"`` pins the CPU, whose
numbers the tests and the book's record are made on. A CUDA device asked for on a machine without
one is refused here, before any data are moved, rather than deep inside PyTorch.
"""

from __future__ import annotations

import torch

__all__ = ["resolve_device"]


def resolve_device(device) -> torch.device:
    """The :class:`torch.device` that ``device`` names (``"auto"``: CUDA when available, else CPU).

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    >>> resolve_device("tpu")
    Traceback (most recent call last):
    ...
    ValueError: unknown device 'tpu'; use 'auto', 'cpu', 'cuda' or 'cuda:N'
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"unknown device {device!r}; use 'auto', 'cpu', 'cuda' or 'cuda:N'") from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but PyTorch sees no CUDA device; use 'auto' or 'cpu'")
    return resolved
