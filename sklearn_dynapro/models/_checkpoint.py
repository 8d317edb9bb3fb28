"""Per-epoch training checkpoints from which an interrupted ``fit`` resumes.

:class:`EpochCheckpoint` is a :class:`skorch.callbacks.Checkpoint` that saves at the end of
every epoch (``monitor=None``), but writes one file holding the whole training state instead
of skorch's separate parameter, optimizer and history files: those are written one after the
other, so a process killed between two writes leaves a mismatched set, and they miss what an
exact resumption needs besides (the learning-rate schedule, early stopping's counters and best
weights, the torch random state). The file is written to a temporary name and moved into
place with :func:`os.replace`, so a kill during a write leaves the previous checkpoint whole.

skorch's :class:`~skorch.callbacks.LoadInitState` cannot restore this state: it loads in
``on_train_begin``, after which early stopping and the scheduler reset theirs. The estimator
therefore calls :func:`restore_training_state` once every callback has begun, just before
the first epoch (see ``SequenceNetRegressor.fit_loop``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from pathlib import Path

import numpy as np
import torch
from skorch.callbacks import Checkpoint, EarlyStopping, LRScheduler, PassthroughScoring
from skorch.callbacks.scoring import ScoringBase
from skorch.history import History

__all__ = [
    "CHECKPOINT_GLOB",
    "EpochCheckpoint",
    "checkpoint_path",
    "describe_mismatch",
    "fingerprint",
    "load_checkpoint",
    "restore_training_state",
    "training_state",
]

#: Checkpoint files inside ``checkpoint_dir``: one per fit, named by its fingerprint.
CHECKPOINT_GLOB = "checkpoint-*.pt"
_FORMAT = 1
#: Parameters that may differ between the interrupted and the resuming fit.
_FREE_PARAMS = frozenset(
    {"checkpoint_dir", "resume", "verbose", "device", "callbacks", "warm_start"}
)
#: Parameters added after checkpoints existed, with their defaults: at the default they are
#: left out of the fingerprint, so a checkpoint written before them still resumes.
_LATER_PARAMS = {"standardize_target": True}


# ------------------------------------------------------------------------ fingerprints
def _stable_repr(value) -> str:
    """A repr that is the same in every process (no memory addresses)."""
    if isinstance(value, type) or (callable(value) and hasattr(value, "__qualname__")):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    if isinstance(value, set | frozenset):  # set order changes with the hash seed
        return "{" + ", ".join(sorted(map(_stable_repr, value))) + "}"
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))


def fingerprint(net, data, y: np.ndarray, groups: np.ndarray | None = None) -> dict:
    """What a checkpoint must match to be resumed: the estimator, its settings and the data.

    Parameters
    ----------
    net : SequenceNetRegressor
        The estimator being fitted.
    data : ndarray or dict of ndarray
        The checked network inputs.
    y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        The checked target.
    groups : ndarray of shape (n_samples,) or None, default=None
        The checked group codes of the early-stopping split, which shape it.

    Returns
    -------
    fingerprint : dict
        ``estimator`` (class name), ``n_samples``, ``data`` (SHA-256 of inputs, target and
        any groups) and ``params`` (a stable repr of every parameter that shapes training,
        or what ``net._fingerprint_params()`` gives for it).
    """
    digest = hashlib.sha256()
    arrays = sorted(data.items()) if isinstance(data, dict) else [("X", data)]
    # A fit without groups hashes as before groups existed, so its checkpoints still resume.
    extra = [] if groups is None else [("groups", groups)]
    for name, arr in [*arrays, ("y", y), *extra]:
        arr = np.ascontiguousarray(arr)
        digest.update(f"{name}:{arr.dtype.str}:{arr.shape};".encode())
        digest.update(arr.tobytes())
    params = {
        key: _stable_repr(value)
        for key, value in net.get_params(deep=False).items()
        # skorch lists its private bookkeeping (``_params_to_validate``) among the params.
        if key not in _FREE_PARAMS
        and not key.startswith(("_", "callbacks__"))
        and not (key in _LATER_PARAMS and value is _LATER_PARAMS[key])
    }
    # Parameters whose repr does not say what they hold (a path to weights that may be
    # rewritten, a model) are named by their content instead.
    params.update(net._fingerprint_params())
    return {
        "estimator": type(net).__qualname__,
        "n_samples": len(y),
        "data": digest.hexdigest(),
        "params": params,
    }


def checkpoint_path(checkpoint_dir: str | os.PathLike, fit_fingerprint: dict) -> Path:
    """The checkpoint file of one fit: ``checkpoint-<16 hex digits of its fingerprint>.pt``.

    One file per fit (estimator class, parameters, data) means fits that share a folder, such
    as the clones of a cross-validation or a grid search, in parallel or one after the other,
    each keep and resume their own checkpoint instead of overwriting one another's.

    Parameters
    ----------
    checkpoint_dir : str or path-like
        The folder given as ``checkpoint_dir``.
    fit_fingerprint : dict
        Made by :func:`fingerprint`.

    Returns
    -------
    path : Path
    """
    text = json.dumps(fit_fingerprint, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return Path(checkpoint_dir) / f"checkpoint-{digest}.pt"


def describe_mismatch(stored: dict, current: dict) -> str | None:
    """Say how a checkpoint's fingerprint differs from the current fit's, or None if it does not.

    Parameters
    ----------
    stored, current : dict
        Fingerprints made by :func:`fingerprint`.

    Returns
    -------
    reason : str or None
    """
    if stored.get("estimator") != current["estimator"]:
        return f"it was written by {stored.get('estimator')}, not {current['estimator']}"
    if stored.get("n_samples") != current["n_samples"]:
        return (
            f"it was written for {stored.get('n_samples')} training samples, "
            f"got {current['n_samples']}"
        )
    if stored.get("data") != current["data"]:
        return (
            "it was written for different training data (X, y or the groups of its "
            "validation split differ)"
        )
    old, new = stored.get("params", {}), current["params"]
    changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    if changed:
        shown = ", ".join(
            f"{k}={old.get(k, '<unset>')} (now {new.get(k, '<unset>')})" for k in changed[:5]
        )
        more = f" and {len(changed) - 5} more" if len(changed) > 5 else ""
        return f"it was written with other parameters: {shown}{more}"
    return None


# ------------------------------------------------------------------------ state bundle
def _float(value):
    return None if value is None else float(value)


def _json_default(value):
    """History values skorch's scorers may leave as numpy types."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    return str(value)


def _callback_state(callback) -> dict | None:
    """The part of a callback's state that training depends on, or None if it has none."""
    if isinstance(callback, EpochCheckpoint):
        return None
    if isinstance(callback, EarlyStopping):
        return {
            "misses_": int(callback.misses_),
            "dynamic_threshold_": _float(callback.dynamic_threshold_),
            "best_epoch_": int(callback.best_epoch_),
            "best_model_weights_": getattr(callback, "best_model_weights_", None),
        }
    if isinstance(callback, LRScheduler):
        scheduler = getattr(callback, "lr_scheduler_", None)
        return {
            "lr_scheduler_": scheduler.state_dict() if hasattr(scheduler, "state_dict") else None,
            "batch_idx_": int(getattr(callback, "batch_idx_", 0)),
        }
    if isinstance(callback, PassthroughScoring | ScoringBase):
        return {"best_score_": _float(getattr(callback, "best_score_", None))}
    return None


def _rng_state() -> dict:
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
    return {"cpu": torch.get_rng_state(), "cuda": cuda}


def training_state(net, *, finished: bool) -> dict:
    """Everything needed to go on training ``net`` exactly where it is now.

    Parameters
    ----------
    net : SequenceNetRegressor
        An estimator at the end of an epoch (or of training).
    finished : bool
        Whether training has ended (all epochs ran, or early stopping stopped it).

    Returns
    -------
    state : dict
        Plain containers and tensors only, so :func:`torch.load` reads it with
        ``weights_only=True``.
    """
    callbacks = {}
    for name, callback in net.callbacks_:
        state = _callback_state(callback)
        if state is not None:
            callbacks[name] = state
    return {
        "format": _FORMAT,
        "epoch": len(net.history),
        "finished": bool(finished),
        "fingerprint": net._checkpoint_fingerprint_,
        "seed": int(net.seed_),
        "history": json.dumps(list(net.history), default=_json_default),
        "module": net.module_.state_dict(),
        "criterion": net.criterion_.state_dict(),
        "optimizer": net.optimizer_.state_dict(),
        "callbacks": callbacks,
        "extras": net._training_extras(),
        "rng": _rng_state(),
        "torch_version": str(torch.__version__),
    }


def restore_training_state(net, state: dict) -> None:
    """Put ``net`` back in the state recorded by :func:`training_state`.

    Called after every callback's ``on_train_begin`` (which resets early stopping and builds
    the scheduler) and before the first epoch; the random state is restored last.

    Parameters
    ----------
    net : SequenceNetRegressor
        An initialised estimator with the same settings as the one that wrote ``state``.
    state : dict
        A checkpoint read by :func:`load_checkpoint`.
    """
    net.history = History(json.loads(state["history"]))
    net.module_.load_state_dict(state["module"])
    net.criterion_.load_state_dict(state["criterion"])
    net.optimizer_.load_state_dict(state["optimizer"])
    saved = state["callbacks"]
    for name, callback in net.callbacks_:
        if isinstance(callback, EpochCheckpoint):
            callback.saved_epoch_ = state["epoch"]
        if name not in saved:
            continue
        values = dict(saved[name])
        if isinstance(callback, LRScheduler):
            scheduler = values.pop("lr_scheduler_")
            if scheduler is not None:
                callback.lr_scheduler_.load_state_dict(scheduler)
        for key, value in values.items():
            setattr(callback, key, value)
    net._restore_training_extras(state.get("extras", {}))
    torch.set_rng_state(state["rng"]["cpu"])
    cuda = state["rng"]["cuda"]
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


def load_checkpoint(path: str | os.PathLike) -> dict | None:
    """Read a checkpoint file, or the newest checkpoint in a folder.

    Parameters
    ----------
    path : str or path-like
        A checkpoint file (see :func:`checkpoint_path`), or a folder given as
        ``checkpoint_dir`` to fits, of whose checkpoints the last written is read.

    Returns
    -------
    state : dict or None
        None when there is no such file or the folder holds no checkpoint. Keys include
        ``epoch`` (epochs completed), ``finished``, ``fingerprint`` and ``history`` (JSON text
        of skorch's history).

    Raises
    ------
    ValueError
        If the file exists but is not a checkpoint this library wrote.
    """
    path = Path(path)
    if path.is_dir():
        written = sorted(path.glob(CHECKPOINT_GLOB), key=lambda file: file.stat().st_mtime_ns)
        if not written:
            return None
        path = written[-1]
    elif not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several kinds for foreign or damaged files
        raise ValueError(
            f"{str(path)!r} must be a training checkpoint, got a file torch.load cannot read "
            f"({type(exc).__name__})."
        ) from exc
    if not isinstance(state, dict) or state.get("format") != _FORMAT:
        raise ValueError(
            f"{str(path)!r} must be a training checkpoint of format {_FORMAT}, got "
            f"{state.get('format') if isinstance(state, dict) else type(state).__name__!r}."
        )
    return state


# ---------------------------------------------------------------------------- callback
def _checkpointing(net) -> bool:
    """Whether ``net`` is in a fit from scratch, the only training a checkpoint holds.

    ``partial_fit`` and a warm-start ``fit`` go on from a model in memory, which the file
    named by the fit's settings and data does not describe: writing them there would hand
    a later fit from scratch a model trained on other data.
    """
    return bool(vars(net).get("_checkpointing_"))


class EpochCheckpoint(Checkpoint):
    """Save the whole training state at the end of every epoch, atomically.

    Writes the fit's own file in ``dirname`` (:func:`checkpoint_path`; see the module notes).
    At the end of training the file
    is rewritten with ``finished=True`` and the final weights (early stopping's best ones)
    when every epoch ran or early stopping ended training; when training was interrupted
    instead (a :class:`KeyboardInterrupt`, which skorch turns into the end of training), the
    checkpoint of the last completed epoch is kept and a warning says so.

    Parameters
    ----------
    dirname : str or path-like
        Folder of the checkpoint; created when training starts. It may hold the checkpoints
        of other fits too.

    Attributes
    ----------
    saved_epoch_ : int
        Epochs the file on disk holds.
    """

    def __init__(self, dirname: str | os.PathLike):
        super().__init__(
            monitor=None,
            f_params=None,
            f_optimizer=None,
            f_criterion=None,
            f_history=None,
            dirname=os.fspath(dirname),
            event_name=None,
        )

    def on_train_begin(self, net, X=None, y=None, **kwargs) -> None:
        """Nothing is on disk for this fit yet (a resumed fit sets the restored epoch)."""
        self.saved_epoch_ = 0

    def save_model(self, net) -> None:
        """Write the state after an epoch (skorch calls this from ``on_epoch_end``)."""
        if _checkpointing(net):
            self._write(net, finished=False)

    def on_train_end(self, net, X=None, y=None, **kwargs) -> None:
        """Mark the checkpoint finished, or warn that training was interrupted."""
        if not _checkpointing(net):
            return
        n_epochs = len(net.history)
        stopped = any(
            isinstance(cb, EarlyStopping) and cb.patience and cb.misses_ >= cb.patience
            for _, cb in net.callbacks_
        )
        if stopped or (self.saved_epoch_ == n_epochs and n_epochs >= net.max_epochs):
            self._write(net, finished=True)
        elif n_epochs > self.saved_epoch_:
            warnings.warn(
                f"Training was interrupted in epoch {n_epochs} of {net.max_epochs}; "
                f"{self.dirname!r} keeps the checkpoint of epoch {self.saved_epoch_}. Fit "
                "again on the same data to resume from it.",
                UserWarning,
                stacklevel=2,
            )

    def _write(self, net, *, finished: bool) -> None:
        state = training_state(net, finished=finished)
        path = checkpoint_path(self.dirname, state["fingerprint"])
        partial = path.with_name(f".{path.name}.{os.getpid()}.part")
        try:
            with open(partial, "wb") as handle:
                torch.save(state, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(partial, path)  # atomic: readers see the old file or the new one
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        self.saved_epoch_ = state["epoch"]
