"""What a trained decoder's units do to the muscles: effective synergies.

With a non-linear decoder ``y = f(h W + b)``, the decoder weight vector of a
unit is not what the unit does to the muscles: a muscle whose output sits where
``f`` is flat (a tanh near ±1, a ReLU below 0) does not follow the unit however
large its weight. The *effective synergy* of unit j is the mean Jacobian of the
output with respect to that unit's activation over the training samples,
``E[∂y_m / ∂a_j] = E[f'(z_m)] · s_jm`` (``z`` the decoder's pre-activation,
``s_j`` the unit-norm synergy), scaled to unit length. For a linear decoder it
is the synergy itself; how far it is from the synergy measures how much the
decoder weights misdescribe the network.
"""

from __future__ import annotations

import numpy as np
import torch

from synlib.autoencoder.activations import get_activation

__all__ = ["effective_synergies"]


def effective_synergies(ae, X) -> np.ndarray:
    """Effective synergies of a fitted :class:`synlib.autoencoder.model.Autoencoder` on data ``X``.

    Returns
    -------
    ndarray of shape (n_components, n_muscles)
        Unit-norm rows (a zero row for a unit with no effect).

    Examples
    --------
    >>> import numpy as np
    >>> from synlib.autoencoder import Autoencoder
    >>> X = np.random.default_rng(0).random((200, 5))
    >>> ae = Autoencoder(2, "relu", "linear", epochs=30, random_state=0).fit(X)
    >>> bool(np.allclose(effective_synergies(ae, X)[ae.synergy_norms_ > 0], ae.synergies_[ae.synergy_norms_ > 0]))
    True
    """
    activation = get_activation(ae.decoder)
    z = torch.from_numpy(np.ascontiguousarray(ae.transform(X) @ ae.synergies_ + ae.intercept_))
    slope = activation.derivative(z, activation.forward(z)).numpy().mean(axis=0)
    jacobian = ae.synergies_ * slope
    norms = np.linalg.norm(jacobian, axis=1, keepdims=True)
    return np.divide(jacobian, norms, out=np.zeros_like(jacobian), where=norms > 0)
