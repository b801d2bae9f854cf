"""Training many autoencoders at once, as fitted estimators.

:func:`train_autoencoders` is the batch helper: it trains every combination of
datasets (participants), activation pairs and seeds in one batch with
:func:`synlib.autoencoder.fitting.fit_batch` and hands each result to a new
:class:`~synlib.autoencoder.model.Autoencoder`, which sets its own fitted state. The
maths, the options and the backends are described in
:mod:`synlib.autoencoder.fitting`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from synlib.autoencoder.fitting import TrainingOptions, fit_batch
from synlib.autoencoder.model import Autoencoder

__all__ = ["TrainingOptions", "train_autoencoders"]


def train_autoencoders(
    data: Sequence[np.ndarray],
    n_components: int | Sequence[int],
    pairs: Sequence[tuple[str, str]] = (("relu", "tanh"),),
    seeds: Sequence[int] = (0,),
    *,
    device="auto",
    kernel: str = "auto",
    streams: Sequence[str] | None = None,
    **options,
) -> list[Autoencoder]:
    """Train one autoencoder per dataset × activation pair × seed, all in one batch.

    Parameters
    ----------
    data : list of arrays
        Training data, one samples × muscles array per dataset (participant);
        row counts may differ.
    n_components : int or list of int
        Hidden units (synergies), one for all datasets or one per dataset.
    pairs : list of (encoder, decoder)
        Activation pairs, names from :data:`synlib.autoencoder.activations.ACTIVATIONS`.
    seeds : list of int
        Seeds of the initial weights (and of the shuffling with mini-batches).
    device : "auto", "cpu", "cuda", ...
        "auto" = CUDA when available, else CPU.
    kernel : {"auto", "c", "torch"}
        On the CPU, "auto" uses the compiled kernel when it can be built and
        falls back to torch otherwise, with a warning naming the cause; "c"
        insists on it, "torch" avoids it.
    streams : list of str, optional
        One name per dataset (its participant, say) mixed into the seed of the
        initial weights (:func:`synlib.autoencoder.fitting.start_seed`), so that no
        two participants start from the same weights. ``None``: the seed alone, as
        :class:`Autoencoder` with that ``random_state`` starts.
    **options
        The fields of :class:`TrainingOptions` (epochs, lr, optimizer, ...).

    Returns
    -------
    list of Autoencoder
        Fitted estimators in the order of ``itertools.product(range(len(data)), pairs, seeds)``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((200, 6))
    >>> models = train_autoencoders([X, X[:150]], [2, 3], pairs=[("relu", "tanh"), ("linear", "linear")],
    ...                             seeds=[0], epochs=50)
    >>> [(ae.n_components, ae.encoder, ae.decoder) for ae in models]
    [(2, 'relu', 'tanh'), (2, 'linear', 'linear'), (3, 'relu', 'tanh'), (3, 'linear', 'linear')]
    >>> bool(models[0].loss_curve_[-1] < models[0].loss_curve_[0])
    True
    """
    opts = TrainingOptions(**options)
    models = []
    for result in fit_batch(data, n_components, pairs, seeds, opts, device=device, kernel=kernel, streams=streams):
        spec = result.spec
        ae = Autoencoder(spec.k, spec.encoder, spec.decoder, random_state=spec.seed, device=device, **opts.as_dict())
        ae._set_fitted(result)
        models.append(ae)
    return models
