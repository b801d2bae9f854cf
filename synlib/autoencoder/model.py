"""The autoencoder as a scikit-learn estimator."""

from __future__ import annotations

import inspect
import numbers

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from synlib.autoencoder.activations import get_activation
from synlib.autoencoder.fitting import TRAINING_CONSTRAINTS, FitResult, TrainingOptions, fit_batch

__all__ = ["Autoencoder"]


class Autoencoder(TransformerMixin, BaseEstimator):
    """Single-hidden-layer autoencoder whose decoder weights are the muscle synergies.

    The network (the authors' group's architecture): batch normalisation of
    each muscle, a dense encoder muscles → ``n_components`` with the ``encoder``
    activation, a dense decoder ``n_components`` → muscles with the ``decoder``
    activation, trained to reproduce the raw input (mean squared error).
    Training runs through :func:`synlib.autoencoder.fitting.fit_batch`; to fit
    many participants, pairs or seeds, call
    :func:`synlib.autoencoder.trainer.train_autoencoders`: it trains them all in one
    batch.

    Parameters
    ----------
    n_components : int
        Hidden units = synergies.
    encoder, decoder : str
        Activation names from :data:`synlib.autoencoder.activations.ACTIVATIONS`.
    random_state : int, RandomState or None
        Seed of the initial weights; an int gives the same model every time.
    device : str
        "auto" (CUDA when available, else CPU), "cpu", "cuda", ...
    **training_options
        Every field of :class:`synlib.autoencoder.fitting.TrainingOptions`, with its
        default there (they are this estimator's parameters: ``get_params`` lists
        them): ``training="group"`` (the group's 2000 full-batch epochs of RMSprop
        at 1e-3, decoder weights clipped at 0) or ``training="converged"`` (ours:
        trained until the loss stops falling, see
        :mod:`synlib.autoencoder.fitting`), ``epochs``, ``lr``, ``optimizer``, …

    Attributes
    ----------
    synergies_ : ndarray, n_components × muscles
        Decoder weight vectors (row c = the weights from unit c to the muscles),
        each scaled to unit L2 norm. A unit whose weights are all zero (possible
        with the non-negativity clip) keeps a zero row.
    synergy_norms_ : ndarray, n_components
        The norms the decoder rows were divided by.
    activations_ : ndarray, samples × n_components
        ``transform`` of the training data.
    intercept_ : ndarray, muscles
        Decoder bias (zero without biases).
    loss_curve_ : ndarray
        Training loss after each step (``"group"``: before each epoch's update, as
        Keras reports it) or evaluation (``"converged"``).
    loss_passes_ : ndarray
        The passes over the training data used by each point of ``loss_curve_``.
    n_epochs_ : int
        Passes over the training data used, rounded up (``"group"``: epochs run,
        fewer than ``epochs`` after early stopping).
    converged_ : bool
        Whether the model passed the convergence test (``tol`` over ``window``
        passes; for ``"group"``, whether its last epochs would have passed it).
    stop_reason_ : str
        Why training ended: ``"converged"``, ``"stalled"`` (no representable step
        lowers the loss: counted as converged), ``"capped"`` or ``"budget"``.
    loss_fall_ : float
        The test's value: the relative fall of the loss over the last ``window`` passes.
    bn_mean_, bn_var_ : ndarray, muscles
        Batch-norm statistics used at inference: the mean and (biased) variance
        of the training data — what the full-batch statistics are, and what
        Keras' moving averages converge to.
    encoder_weights_, encoder_bias_, decoder_weights_, bn_gamma_, bn_beta_ : ndarray
        The trained parameters (encoder m × k, decoder k × m).
    backend_ : str
        Which implementation computed the gradients, with its version:
        ``ckernel-<hash>`` (the compiled kernel; the hash covers its source,
        flags, compiler and architecture) or ``torch-<version>-<device>``.

    Notes
    -----
    With ``h`` the encoder output (:meth:`hidden`) and ``W2`` the decoder
    weights, ``transform`` returns ``h · diag(‖W2_c‖)`` and
    ``activations @ synergies_ = h @ W2``: the decoder's pre-activation without
    its bias. Hence :meth:`inverse_transform` computes
    ``f_dec(activations @ synergies_ + intercept_)``, which is exactly the
    network's output for any decoder activation; only for a linear decoder
    without bias is it the plain product ``activations @ synergies_`` of the
    synergy model.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).random((300, 8))
    >>> ae = Autoencoder(3, "relu", "tanh", epochs=100, random_state=0).fit(X)
    >>> ae.synergies_.shape, ae.activations_.shape
    ((3, 8), (300, 3))
    >>> bool(np.allclose(np.linalg.norm(ae.synergies_, axis=1), 1))
    True
    >>> bool(np.allclose(ae.inverse_transform(ae.transform(X)), ae.reconstruct(X)))
    True
    """

    # encoder and decoder are checked against the registry at fit (activations may be added at run time)
    _parameter_constraints: dict = {
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "encoder": [str], "decoder": [str],
        "random_state": ["random_state"],
        "device": [str, torch.device],
        **TRAINING_CONSTRAINTS,
    }

    def __init__(self, n_components, encoder="relu", decoder="tanh", *, random_state=None, device="auto",
                 **training_options):
        unknown = sorted(set(training_options) - set(TrainingOptions.names()))
        if unknown:
            raise TypeError(f"Autoencoder got unexpected keyword arguments {unknown}; its training options are "
                            f"{', '.join(TrainingOptions.names())}")
        self.n_components = n_components
        self.encoder = encoder
        self.decoder = decoder
        self.random_state = random_state
        self.device = device
        for name, default in TrainingOptions.defaults().items():
            setattr(self, name, training_options.get(name, default))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train on ``X`` (samples × muscles)."""
        if isinstance(self.random_state, (int, np.integer)) and not isinstance(self.random_state, bool):
            seed = int(self.random_state)
        else:
            seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        options = TrainingOptions(**{name: getattr(self, name) for name in TrainingOptions.names()})
        [result] = fit_batch([X], self.n_components, [(self.encoder, self.decoder)], [seed], options,
                             device=self.device)
        self._set_fitted(result)
        return self

    def fit_transform(self, X, y=None):
        return self.fit(X).activations_

    def _set_fitted(self, result: FitResult) -> None:
        """Take the trained state of ``result`` (its model must be this estimator's)."""
        p = result.params
        self.bn_mean_, self.bn_var_ = np.asarray(result.bn_mean, float), np.asarray(result.bn_var, float)
        self.bn_gamma_, self.bn_beta_ = p["gamma"], p["beta"]
        self.encoder_weights_, self.encoder_bias_ = p["W1"], p["b1"]
        self.decoder_weights_, self.intercept_ = p["W2"], p["b2"]
        norms = np.linalg.norm(self.decoder_weights_, axis=1)
        self.synergy_norms_ = norms
        safe = np.where(norms > 0, norms, 1.0)
        self.synergies_ = self.decoder_weights_ / safe[:, None]
        self.loss_curve_ = result.loss_curve
        self.loss_passes_ = result.curve_passes
        self.n_epochs_ = int(np.ceil(result.passes - 1e-9))
        self.converged_ = bool(result.converged)
        self.stop_reason_ = result.stop
        self.loss_fall_ = float(result.fall)
        self.backend_ = result.backend
        self.n_features_in_ = result.X.shape[1]
        self.activations_ = self.transform(result.X)

    def _check_X(self, X) -> np.ndarray:
        check_is_fitted(self, "synergies_")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(f"expected a samples × {self.n_features_in_} muscles array, got shape {X.shape}")
        return X

    def hidden(self, X) -> np.ndarray:
        """Encoder outputs (before scaling by the synergy norms), samples × n_components."""
        X = self._check_X(X)
        Xn = (X - self.bn_mean_) / np.sqrt(self.bn_var_ + self.bn_eps) * self.bn_gamma_ + self.bn_beta_
        return _apply(self.encoder, Xn @ self.encoder_weights_ + self.encoder_bias_)

    def transform(self, X) -> np.ndarray:
        """Synergy activations: encoder outputs times the norms of the decoder rows."""
        return self.hidden(X) * self.synergy_norms_

    def inverse_transform(self, X) -> np.ndarray:
        """The network output for activations ``X``: ``f_dec(X @ synergies_ + intercept_)``."""
        check_is_fitted(self, "synergies_")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.synergies_.shape[0]:
            raise ValueError(f"expected a samples × {self.synergies_.shape[0]} activations array, got shape {X.shape}")
        return _apply(self.decoder, X @ self.synergies_ + self.intercept_)

    def reconstruct(self, X) -> np.ndarray:
        """The network output for data ``X``, computed directly from the trained weights."""
        return self.decode(self.hidden(X))

    def decode(self, H) -> np.ndarray:
        """The network output for hidden outputs ``H`` (samples × n_components): ``f_dec(H @ W2 + b2)``."""
        check_is_fitted(self, "synergies_")
        H = np.asarray(H, dtype=np.float64)
        if H.ndim != 2 or H.shape[1] != self.decoder_weights_.shape[0]:
            raise ValueError(f"expected a samples × {self.decoder_weights_.shape[0]} array of hidden outputs, "
                             f"got shape {H.shape}")
        return _apply(self.decoder, H @ self.decoder_weights_ + self.intercept_)


def _signature() -> inspect.Signature:
    # scikit-learn reads an estimator's parameters from the signature of __init__: the training
    # options are declared once, in TrainingOptions, and listed here from that declaration
    keyword = inspect.Parameter.KEYWORD_ONLY
    own = [p for name, p in inspect.signature(Autoencoder.__init__).parameters.items() if name != "training_options"]
    return inspect.Signature([*own, *(inspect.Parameter(name, keyword, default=default)
                                      for name, default in TrainingOptions.defaults().items())])


Autoencoder.__init__.__signature__ = _signature()


def _apply(name: str, values: np.ndarray) -> np.ndarray:
    return get_activation(name).forward(torch.from_numpy(np.ascontiguousarray(values))).numpy()
