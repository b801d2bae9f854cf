"""Autoencoder muscle synergies: the activation registry, the estimator and the batched trainer.

>>> from synlib.autoencoder import Autoencoder, ACTIVATIONS, train_autoencoders
>>> sorted(ACTIVATIONS)
['linear', 'relu', 'sigmoid', 'tanh']
"""

from synlib.autoencoder.activations import ACTIVATIONS, Activation, get_activation
from synlib.autoencoder.model import Autoencoder
from synlib.autoencoder.trainer import TrainingOptions, resolve_device, train_autoencoders

__all__ = ["ACTIVATIONS", "Activation", "Autoencoder", "TrainingOptions", "get_activation",
           "resolve_device", "train_autoencoders"]
