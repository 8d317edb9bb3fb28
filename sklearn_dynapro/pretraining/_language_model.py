"""``UTRLanguageModel``: UTR-LM / 3UTRBERT-style pre-training of the transformer backbone."""

from __future__ import annotations

import copy
import math
import secrets
import time
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from .._base import SequenceInputMixin
from .._validation import AMBIGUOUS_POLICIES
from ..models._base import _private_rng, check_device, resolve_device
from ..nn import padding_mask
from ..preprocessing import SequenceTokenizer
from ._masking import mask_tokens
from ._network import PretrainingNet, mean_pool
from ._structure import IGNORE_INDEX, fold_structures, structure_labels
from ._weights import save_backbone

__all__ = ["UTRLanguageModel"]

#: Batches per pool within which sequences are sorted by length (see ``_batches``).
_POOL_BATCHES = 50
_OBJECTIVES = ("mlm", "mfe", "structure")


class UTRLanguageModel(
    SequenceInputMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Pre-train a :class:`~sklearn_dynapro.nn.UTRLMBackbone` on unlabelled UTR sequences.

    The three objectives of UTR-LM (Chu et al. 2024), computed on the same corrupted batch
    and summed with the weights below:

    * **masked-token prediction** (``mlm``): cross-entropy on the original token of the
      selected positions. ``mask_fraction`` of the real positions are selected; of those 80%
      become ``[MASK]``, 10% a random k-mer token and 10% stay unchanged (decided per position).
      With ``k > 1`` and ``whole_kmer_masking=True`` (3UTRBERT, Yang et al. 2023) whole runs
      of k-mer tokens are selected: ``round(mask_fraction * L / k)`` nucleotides of each
      ``L``-nt sequence are drawn and *every* token whose k-mer contains one of them is
      selected (``k`` tokens per drawn nucleotide, fewer at the ends or where runs overlap),
      so no selected k-mer can be read off its overlapping neighbours. See
      :func:`~sklearn_dynapro.pretraining.mask_tokens`.
    * **minimum free energy** (``mfe``): mean-squared error of the standardised ViennaRNA MFE
      of the whole sequence, predicted from the mean of the backbone output over real tokens.
    * **secondary structure** (``structure``): per-token cross-entropy over the dot-bracket
      classes ``.``, ``(``, ``)`` of the ViennaRNA MFE structure. A k-mer token takes the class
      of its last base, the base its column is named after by
      :class:`~sklearn_dynapro.preprocessing.SequenceTokenizer`.

    Structures and energies come from :func:`~sklearn_dynapro.pretraining.fold_structures`
    (RNAfold's model, cached per sequence; folding is skipped when both ``mfe_weight`` and
    ``structure_weight`` are 0). The fitted backbone plugs into fine-tuning with
    ``DynaProRegressor(pretrained=lm)`` or ``make_dynapro_pipeline(k=lm.k, pretrained=lm)``.

    Training uses AdamW in a plain PyTorch loop (mini-batches of similar lengths, padding
    trimmed per batch) inside :func:`torch.random.fork_rng`, so the caller's random state is
    left alone.

    Parameters
    ----------
    k : int, default=1
        Token size: 1 for nucleotides (UTR-LM), 3–6 for overlapping k-mers (3UTRBERT).
    whole_kmer_masking : bool, default=True
        With ``k > 1``, select every token that covers a drawn nucleotide (see above); when
        False, draw ``mask_fraction`` of the tokens independently. No effect for ``k=1``.
    mask_fraction : float, default=0.15
        Share of the real positions selected for masked-token prediction.
    mlm_weight, mfe_weight, structure_weight : float, default=1.0
        Loss weights of the three objectives; 0 switches one off (at least one must be > 0).
    d_model : int, default=128
        Backbone width (``module__backbone_dim`` of the fine-tuned network).
    n_layers : int, default=6
        Transformer layers.
    n_heads : int, default=16
        Attention heads; must divide ``d_model``.
    ffn_dim : int, default=512
        Feed-forward width.
    dropout : float, default=0.1
        Dropout of the backbone during pre-training.
    position : {"sinusoidal", "learned"}, default="sinusoidal"
        Position encoding (distance to the start codon).
    max_positions : int, default=1024
        Rows of the learned position table.
    lr : float, default=5e-4
        Learning rate of AdamW (the peak rate with ``lr_schedule="onecycle"``).
    weight_decay : float, default=1e-2
        AdamW weight decay.
    lr_schedule : {"onecycle", "cosine"} or None, default="onecycle"
        Learning-rate schedule stepped every batch.
    max_epochs : int, default=10
        Passes over the sequences.
    batch_size : int, default=128
        Sequences per mini-batch (also for :meth:`transform`).
    valid_fraction : float, default=0.0
        Share of the sequences held out (seeded) to report validation losses per epoch,
        always with the same corruption; 0 trains on everything.
    n_jobs : int or None, default=None
        Processes used to fold the sequences (joblib convention).
    sequence_column : str, int or None, default="sequence"
        Column holding the sequences when ``X`` is a DataFrame.
    ambiguous : {"error", "warn", "mask"}, default="warn"
        Policy for ``N`` and other IUPAC codes, which become the ``N`` token.
    random_state : int, RandomState or None, default=None
        Seeds weight initialisation, masking, batch order and the validation split.
    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
        ``"auto"`` picks CUDA when available.
    verbose : int, default=0
        1 shows folding and per-epoch progress bars and prints a line per epoch.

    Attributes
    ----------
    tokenizer_ : SequenceTokenizer
        Tokenizer fitted on the training sequences (its ``k`` is the model's).
    vocab_size_ : int
        Number of token ids, ``4**k + 3``.
    module_ : PretrainingNet
        The trained network (backbone and the three heads), on the CPU.
    backbone_state_dict_ : dict of str to Tensor
        CPU copy of ``module_.backbone.state_dict()``, the weights fine-tuning loads.
    backbone_params_ : dict
        ``DynaProNet`` arguments giving the same backbone shape (``backbone=True``,
        ``vocab_size``, ``backbone_dim``, ``backbone_layers``, ``backbone_heads``,
        ``backbone_ffn``, ``position`` and, for learned positions, ``max_positions``); use
        them as ``module__<name>``.
    mfe_mean_, mfe_scale_ : float
        Standardisation of the MFE target, from the training rows (the validation rows are
        left out); 0 and 1 when nothing was folded.
    history_ : list of dict
        One dict per epoch: ``epoch``, ``loss`` (weighted sum), ``mlm_loss``,
        ``mlm_accuracy``, ``mfe_loss``, ``structure_loss``, ``structure_accuracy``, ``lr`` (of
        the epoch's last step),
        ``seconds`` and, with ``valid_fraction > 0``, the same losses prefixed ``valid_``.
        Objectives with weight 0 are NaN. ``pandas.DataFrame(history_)`` tabulates it.
    seed_ : int
        The seed training used.

    Examples
    --------
    >>> from sklearn_dynapro.datasets import load_mpra_random50
    >>> from sklearn_dynapro.pretraining import UTRLanguageModel
    >>> X, _ = load_mpra_random50()
    >>> lm = UTRLanguageModel(d_model=16, n_layers=1, n_heads=2, ffn_dim=32, max_epochs=1,
    ...                       random_state=0).fit(X[:200])
    >>> lm.transform(X[:3]).shape
    (3, 16)
    """

    _parameter_constraints: ClassVar[dict] = {
        "k": [Interval(Integral, 1, 6, closed="both")],
        "whole_kmer_masking": ["boolean"],
        "mask_fraction": [Interval(Real, 0, 1, closed="neither")],
        "mlm_weight": [Interval(Real, 0, None, closed="left")],
        "mfe_weight": [Interval(Real, 0, None, closed="left")],
        "structure_weight": [Interval(Real, 0, None, closed="left")],
        "d_model": [Interval(Integral, 1, None, closed="left")],
        "n_layers": [Interval(Integral, 1, None, closed="left")],
        "n_heads": [Interval(Integral, 1, None, closed="left")],
        "ffn_dim": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "position": [StrOptions({"sinusoidal", "learned"})],
        "max_positions": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "lr_schedule": [StrOptions({"onecycle", "cosine"}), None],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "valid_fraction": [Interval(Real, 0, 1, closed="left")],
        "n_jobs": [Integral, None],
        "sequence_column": [str, Integral, None],
        "ambiguous": [StrOptions(set(AMBIGUOUS_POLICIES))],
        "random_state": ["random_state"],
        "device": [str, torch.device],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        k: int = 1,
        whole_kmer_masking: bool = True,
        mask_fraction: float = 0.15,
        mlm_weight: float = 1.0,
        mfe_weight: float = 1.0,
        structure_weight: float = 1.0,
        d_model: int = 128,
        n_layers: int = 6,
        n_heads: int = 16,
        ffn_dim: int = 512,
        dropout: float = 0.1,
        position: str = "sinusoidal",
        max_positions: int = 1024,
        lr: float = 5e-4,
        weight_decay: float = 1e-2,
        lr_schedule: str | None = "onecycle",
        max_epochs: int = 10,
        batch_size: int = 128,
        valid_fraction: float = 0.0,
        n_jobs: int | None = None,
        sequence_column: str | int | None = "sequence",
        ambiguous: str = "warn",
        random_state=None,
        device="auto",
        verbose: int = 0,
    ) -> None:
        self.k = k
        self.whole_kmer_masking = whole_kmer_masking
        self.mask_fraction = mask_fraction
        self.mlm_weight = mlm_weight
        self.mfe_weight = mfe_weight
        self.structure_weight = structure_weight
        self.d_model = d_model
        self.n_layers = n_layers
        self.n_heads = n_heads
        self.ffn_dim = ffn_dim
        self.dropout = dropout
        self.position = position
        self.max_positions = max_positions
        self.lr = lr
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.valid_fraction = valid_fraction
        self.n_jobs = n_jobs
        self.sequence_column = sequence_column
        self.ambiguous = ambiguous
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    # ------------------------------------------------------------------------ fitting
    def _check_settings(self) -> dict[str, float]:
        weights = {
            "mlm": float(self.mlm_weight),
            "mfe": float(self.mfe_weight),
            "structure": float(self.structure_weight),
        }
        if not any(weights.values()):
            raise ValueError(
                "mlm_weight, mfe_weight and structure_weight must not all be 0, got "
                f"{self.mlm_weight!r}, {self.mfe_weight!r}, {self.structure_weight!r}."
            )
        if self.d_model % self.n_heads:
            raise ValueError(
                f"n_heads must divide d_model, got d_model={self.d_model}, n_heads={self.n_heads}."
            )
        check_device(self.device, type(self).__name__)
        return weights

    def _seed(self) -> int:
        if isinstance(self.random_state, Integral):
            return int(self.random_state)
        if self.random_state is None:
            return secrets.randbelow(2**31)  # fresh entropy; leaves numpy's state alone
        return int(check_random_state(self.random_state).randint(2**31 - 1))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None) -> UTRLanguageModel:
        """Pre-train the backbone on unlabelled sequences.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or DataFrame
            Sequences (DNA or RNA alphabet, any case, each at least ``k`` long), or a
            DataFrame with ``sequence_column``.
        y : None
            Ignored; pre-training needs no labels.

        Returns
        -------
        self : UTRLanguageModel
            The fitted model.
        """
        weights = self._check_settings()
        sequences = self._check_sequences(X, min_len=self.k)
        n_valid = math.ceil(len(sequences) * self.valid_fraction) if self.valid_fraction else 0
        if n_valid >= len(sequences):
            raise ValueError(
                f"X must hold more sequences than the validation share takes, got "
                f"{len(sequences)} with valid_fraction={self.valid_fraction}."
            )
        self.tokenizer_ = SequenceTokenizer(k=self.k, ambiguous="mask").fit(sequences)
        self.vocab_size_ = self.tokenizer_.vocab_size_
        tokens = self.tokenizer_.transform(sequences)
        self.seed_ = self._seed()
        index = np.arange(len(sequences))
        train, valid = (
            train_test_split(index, test_size=n_valid, random_state=self.seed_)
            if n_valid
            else (index, index[:0])
        )
        if weights["mfe"] or weights["structure"]:
            structures, mfe = fold_structures(
                sequences, n_jobs=self.n_jobs, verbose=bool(self.verbose), ambiguous="mask"
            )
            labels = structure_labels(structures, self.tokenizer_.max_len_, k=self.k)
            # Scaled by the training rows alone, so the validation rows report a held-out loss.
            self.mfe_mean_ = float(mfe[train].mean())
            scale = float(mfe[train].std())
            self.mfe_scale_ = scale if scale > 0 else 1.0
        else:
            labels = np.full(tokens.shape, IGNORE_INDEX, dtype=np.int64)
            mfe = np.zeros(len(sequences))
            self.mfe_mean_, self.mfe_scale_ = 0.0, 1.0
        targets = {
            "tokens": tokens,
            "structure": labels,
            "mfe": ((mfe - self.mfe_mean_) / self.mfe_scale_).astype(np.float32),
        }
        self.backbone_params_ = {
            "backbone": True,
            "vocab_size": self.vocab_size_,
            "backbone_dim": self.d_model,
            "backbone_layers": self.n_layers,
            "backbone_heads": self.n_heads,
            "backbone_ffn": self.ffn_dim,
            "position": self.position,
        }
        if self.position == "learned":
            self.backbone_params_["max_positions"] = self.max_positions
        device = torch.device(resolve_device(self.device))
        with _private_rng():
            torch.manual_seed(self.seed_)
            self.module_ = self._pretraining_net().to(device)
            self.history_ = self._train(targets, train, valid, weights, device)
        self._set_module(self.module_)
        return self

    def _pretraining_net(self) -> PretrainingNet:
        """A network of the fitted shape (from ``backbone_params_``), randomly initialised."""
        shape = self.backbone_params_
        return PretrainingNet(
            shape["vocab_size"],
            shape["backbone_dim"],
            shape["backbone_layers"],
            shape["backbone_heads"],
            shape["backbone_ffn"],
            self.dropout,
            shape["position"],
            shape.get("max_positions", self.max_positions),
        )

    def _set_module(self, module: PretrainingNet) -> None:
        """Keep ``module`` (on the CPU, in eval mode) and the backbone weights copied from it."""
        self.module_ = module.to("cpu").eval()
        self.backbone_state_dict_ = {
            name: t.detach().clone() for name, t in module.backbone.state_dict().items()
        }

    def _batches(self, rows: np.ndarray, lengths: np.ndarray, rng) -> list[np.ndarray]:
        """Shuffled mini-batches of similar lengths, so trimming the padding saves work.

        Rows are shuffled, cut into pools of ``_POOL_BATCHES`` batches, sorted by length
        within each pool and cut into batches; the batch order is shuffled again.
        """
        order = rows[rng.permutation(len(rows))]
        pool = self.batch_size * _POOL_BATCHES
        batches = []
        for start in range(0, len(order), pool):
            chunk = order[start : start + pool]
            chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
            batches += [
                chunk[i : i + self.batch_size] for i in range(0, len(chunk), self.batch_size)
            ]
        return [batches[i] for i in rng.permutation(len(batches))]

    def _make_scheduler(self, optimizer, total_steps: int):
        if self.lr_schedule == "onecycle":
            return torch.optim.lr_scheduler.OneCycleLR(
                optimizer, max_lr=self.lr, total_steps=total_steps
            )
        if self.lr_schedule == "cosine":
            return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
        return None

    def _train(self, targets, train, valid, weights, device) -> list[dict]:
        net = self.module_
        lengths = (targets["tokens"] != 0).sum(axis=1)
        rng = np.random.default_rng(self.seed_)
        generator = torch.Generator().manual_seed(self.seed_)
        optimizer = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        pool = self.batch_size * _POOL_BATCHES
        # Every pool ends with its own short batch, hence the sum over pools.
        steps = sum(
            math.ceil(min(pool, len(train) - s) / self.batch_size)
            for s in range(0, len(train), pool)
        )
        scheduler = self._make_scheduler(optimizer, steps * self.max_epochs)
        history = []
        for epoch in range(1, self.max_epochs + 1):
            start = time.perf_counter()
            net.train()
            batches = self._batches(train, lengths, rng)
            bar = tqdm(
                batches,
                desc=f"Epoch {epoch}/{self.max_epochs}",
                unit="batch",
                disable=not self.verbose,
                leave=False,
            )
            totals = _Totals()
            for rows in bar:
                batch = self._batch(targets, rows, lengths, generator, device)
                losses = totals.add(net, batch, weights)
                lr = optimizer.param_groups[0]["lr"]
                optimizer.zero_grad(set_to_none=True)
                losses.backward()
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                bar.set_postfix(loss=f"{totals.mean('loss'):.4f}", refresh=False)
            record = {"epoch": epoch, **totals.summary(), "lr": lr}
            if len(valid):
                record.update(self._evaluate(targets, valid, lengths, weights, device))
            record["seconds"] = time.perf_counter() - start
            history.append(record)
            if self.verbose:
                shown = ", ".join(
                    f"{key}={value:.4f}"
                    for key, value in record.items()
                    if key.endswith(("loss", "accuracy")) and not np.isnan(value)
                )
                print(f"epoch {epoch}: {shown} ({record['seconds']:.1f} s)", flush=True)
        return history

    @torch.no_grad()
    def _evaluate(self, targets, valid, lengths, weights, device) -> dict[str, float]:
        net = self.module_
        net.eval()
        # The same corruption every epoch, so validation losses are comparable.
        generator = torch.Generator().manual_seed(self.seed_ + 1)
        order = valid[np.argsort(lengths[valid], kind="stable")]
        totals = _Totals()
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            totals.add(net, self._batch(targets, rows, lengths, generator, device), weights)
        return {f"valid_{key}": value for key, value in totals.summary().items()}

    def _batch(self, targets, rows, lengths, generator, device) -> dict[str, torch.Tensor]:
        """Corrupt one batch, with the all-padding columns on the left trimmed off."""
        width = int(lengths[rows].max())
        tokens = torch.from_numpy(targets["tokens"][rows, -width:])
        inputs, token_targets, _ = mask_tokens(
            tokens,
            k=self.k,
            vocab_size=self.vocab_size_,
            mask_fraction=self.mask_fraction,
            whole_kmer=self.whole_kmer_masking,
            generator=generator,
        )
        batch = {
            "inputs": inputs,
            "tokens": token_targets,
            "structure": torch.from_numpy(targets["structure"][rows, -width:]),
            "mfe": torch.from_numpy(targets["mfe"][rows]),
        }
        return {key: value.to(device) for key, value in batch.items()}

    # ------------------------------------------------------------------- after fitting
    def transform(self, X) -> np.ndarray:
        """Mean of the backbone's output over each sequence's tokens.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or DataFrame
            Sequences, each at least ``k`` long (any length: positions count from the 3' end).

        Returns
        -------
        embeddings : ndarray of shape (n_samples, d_model), float32
            One row per input, in input order.
        """
        check_is_fitted(self, "module_")
        k = self.tokenizer_.k  # the fitted k: set_params(k=...) since does not change the weights
        sequences = self._check_sequences(X, min_len=k)
        # The vocabulary is fixed for k, so a tokenizer sized for X gives the same ids.
        tokens = SequenceTokenizer(k=k, ambiguous="mask").fit_transform(sequences)
        lengths = (tokens != 0).sum(axis=1)
        device = torch.device(resolve_device(self.device))
        backbone = self.module_.backbone
        if device.type != "cpu":
            backbone = copy.deepcopy(backbone).to(device)
        backbone.eval()
        out = np.empty((len(sequences), self._n_features_out), dtype=np.float32)
        with torch.no_grad():
            for start in range(0, len(sequences), self.batch_size):
                rows = slice(start, start + self.batch_size)
                width = int(lengths[rows].max())
                batch = torch.from_numpy(tokens[rows, -width:]).to(device)
                mask = padding_mask(batch)
                out[rows] = mean_pool(backbone(batch, mask), mask).float().cpu().numpy()
        return out

    @property
    def _n_features_out(self) -> int:
        # The fitted width (d_model may have been set since); unfitted, the NotFittedError
        # (an AttributeError) makes get_feature_names_out refuse as for any transformer.
        check_is_fitted(self, "backbone_params_")
        return self.backbone_params_["backbone_dim"]

    def save_backbone(self, path) -> None:
        """Write the backbone's weights and shape for ``DynaProRegressor(pretrained=path)``.

        Parameters
        ----------
        path : str or os.PathLike
            Destination file (written with :func:`torch.save`; load it with
            ``torch.load(path, weights_only=True)``).
        """
        check_is_fitted(self, "backbone_state_dict_")
        save_backbone(path, self.backbone_state_dict_, self.backbone_params_, self.tokenizer_.k)


class _Totals:
    """Running sums of the per-objective losses and accuracies over an epoch."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.counts: dict[str, float] = {}

    def _add(self, key: str, value: float, count: float) -> None:
        self.sums[key] = self.sums.get(key, 0.0) + value
        self.counts[key] = self.counts.get(key, 0.0) + count

    def mean(self, key: str) -> float:
        count = self.counts.get(key, 0.0)
        return self.sums[key] / count if count else float("nan")

    def add(self, net, batch, weights) -> torch.Tensor:
        """Run one batch, record its losses, and return the weighted loss to minimise."""
        token_logits, mfe, structure_logits = net(batch["inputs"])
        n = float(len(batch["mfe"]))
        total = token_logits.new_zeros(())
        for name, logits, target in (
            ("mlm", token_logits, batch["tokens"]),
            ("structure", structure_logits, batch["structure"]),
        ):
            if not weights[name]:
                continue
            scored = target != IGNORE_INDEX
            if not scored.any():
                continue
            loss = torch.nn.functional.cross_entropy(logits[scored].float(), target[scored])
            total = total + weights[name] * loss
            count = float(scored.sum())
            self._add(f"{name}_loss", float(loss.detach()) * count, count)
            correct = (logits[scored].argmax(dim=-1) == target[scored]).sum()
            self._add(f"{name}_accuracy", float(correct), count)
        if weights["mfe"]:
            loss = torch.nn.functional.mse_loss(mfe.float(), batch["mfe"])
            total = total + weights["mfe"] * loss
            self._add("mfe_loss", float(loss.detach()) * n, n)
        self._add("loss", float(total.detach()) * n, n)
        return total

    def summary(self) -> dict[str, float]:
        keys = ["loss"]
        for name in _OBJECTIVES:
            keys += [f"{name}_loss"] + ([f"{name}_accuracy"] if name != "mfe" else [])
        return {key: self.mean(key) for key in keys}
