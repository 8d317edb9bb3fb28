"""DynaProRegressor(pretrained=..., freeze_backbone_epochs=...): loading, freezing, clone."""

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import Pipeline
from skorch.callbacks import Callback

from sklearn_dynapro import DynaProRegressor, make_dynapro_pipeline
from sklearn_dynapro.datasets import load_mpra_random50
from sklearn_dynapro.preprocessing import DynaProEncoder
from sklearn_dynapro.pretraining import UTRLanguageModel

pytestmark = pytest.mark.usefixtures("one_thread")

BACKBONE = {"d_model": 16, "n_layers": 1, "n_heads": 2, "ffn_dim": 32}
TINY = {
    "features": None,
    "module__d_model": 16,
    "module__n_layers": 1,
    "module__n_heads": 2,
    "module__ffn_dim": 16,
    "optimizer": torch.optim.AdamW,
    "lr": 3e-3,
    "max_epochs": 2,
    "batch_size": 64,
    "random_state": 0,
}


class BackboneSnapshots(Callback):
    """Copies of the backbone's weights when training starts and after every epoch."""

    def initialize(self):
        self.snapshots = []
        return self

    def _snap(self, net):
        state = net.module_.backbone.state_dict()
        self.snapshots.append({name: t.detach().clone() for name, t in state.items()})

    def on_train_begin(self, net, **kwargs):
        self._snap(net)

    def on_epoch_end(self, net, **kwargs):
        self._snap(net)


@pytest.fixture(scope="module")
def mrl():
    X, y = load_mpra_random50()
    return X[:300], y[:300]


@pytest.fixture(scope="module")
def lm(mrl):
    return UTRLanguageModel(**BACKBONE, max_epochs=1, random_state=0).fit(mrl[0][:200])


def same(a: dict, b: dict) -> bool:
    return set(a) == set(b) and all(torch.equal(a[name], b[name]) for name in a)


def fit_with_snapshots(X, y, **params):
    snapshots = BackboneSnapshots()
    pipe = make_dynapro_pipeline(**{**TINY, **params}, callbacks=[("snap", snapshots)])
    return pipe.fit(X, y), snapshots.snapshots


@pytest.mark.parametrize("form", ["model", "frozen", "path", "state_dict"])
def test_weights_land_in_the_backbone(mrl, lm, form, tmp_path):
    X, y = mrl
    pretrained = {
        "model": lm,
        "frozen": FrozenEstimator(lm),
        "path": tmp_path / "backbone.pt",
        "state_dict": lm.backbone_state_dict_,
    }[form]
    lm.save_backbone(tmp_path / "backbone.pt")
    extra = {"module__backbone_heads": 2} if form == "state_dict" else {}
    pipe, snapshots = fit_with_snapshots(X, y, pretrained=pretrained, max_epochs=1, **extra)
    module = pipe[-1].module_
    assert module.use_backbone and module.backbone.d_model == 16
    assert module.backbone.encoder.layers[0].self_attn.num_heads == 2
    assert same(snapshots[0], lm.backbone_state_dict_)
    assert not same(snapshots[-1], lm.backbone_state_dict_)  # and fine-tuning moves them


def test_frozen_epochs_keep_the_backbone_then_train_it(mrl, lm):
    X, y = mrl
    pipe, snapshots = fit_with_snapshots(
        X, y, pretrained=lm, freeze_backbone_epochs=2, max_epochs=3
    )
    start, epoch1, epoch2, epoch3 = snapshots
    assert same(start, lm.backbone_state_dict_)
    assert same(epoch1, start) and same(epoch2, start)
    assert not same(epoch3, start)
    # The rest of the network trained meanwhile, and the backbone is trainable at the end.
    assert len(pipe[-1].history_) == 3
    assert all(p.requires_grad for p in pipe[-1].module_.backbone.parameters())


def test_freezing_without_pretraining_on_a_random_backbone(mrl):
    X, y = mrl
    _, snapshots = fit_with_snapshots(
        X, y, module__backbone=True, module__backbone_dim=16, module__backbone_heads=2,
        module__backbone_layers=1, module__backbone_ffn=16, freeze_backbone_epochs=1,
    )  # fmt: skip
    assert same(snapshots[0], snapshots[1]) and not same(snapshots[1], snapshots[2])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"k": 3}, r"module__vocab_size=67 \(pretrained: 7\)"),
        ({"module__backbone_dim": 32}, r"module__backbone_dim=32 \(pretrained: 16\)"),
        ({"module__backbone": False}, r"module__backbone=False \(pretrained: True\)"),
        ({"freeze_backbone_epochs": -1}, r"'freeze_backbone_epochs' parameter .* range \[0, inf\)"),
    ],
)
def test_mismatches_raise_value_error(mrl, lm, params, message):
    X, y = mrl
    with pytest.raises(ValueError, match=message):
        make_dynapro_pipeline(**{**TINY, "pretrained": lm, **params}).fit(X[:100], y[:100])


def test_wrong_weights_raise_value_error(mrl, lm):
    X, y = mrl
    bad = dict(lm.backbone_state_dict_)
    bad["norm.weight"] = torch.ones(8)
    with pytest.raises(ValueError, match="must fit the network's backbone"):
        make_dynapro_pipeline(**TINY, pretrained=bad).fit(X[:100], y[:100])
    with pytest.raises(ValueError, match="UTRLMBackbone weights"):
        make_dynapro_pipeline(**TINY, pretrained={"w": torch.ones(2)}).fit(X[:100], y[:100])
    with pytest.raises(TypeError, match="pretrained must be"):
        make_dynapro_pipeline(**TINY, pretrained=3).fit(X[:100], y[:100])
    with pytest.raises(ValueError, match="not fitted"):
        make_dynapro_pipeline(**TINY, pretrained=UTRLanguageModel()).fit(X[:100], y[:100])


def test_pipeline_cross_validates_and_clones_share_the_model(mrl, lm, tmp_path):
    X, y = mrl
    weights = {name: t.clone() for name, t in lm.backbone_state_dict_.items()}
    pipe = make_dynapro_pipeline(**TINY, pretrained=lm, freeze_backbone_epochs=1)
    params = pipe[-1].get_params()
    assert params["pretrained"] is lm and params["freeze_backbone_epochs"] == 1
    # The language model's own parameters are not the pipeline's (nor settable through it).
    assert not [key for key in pipe.get_params() if "pretrained__" in key]
    assert clone(pipe)[-1].pretrained is lm
    scores = cross_val_score(pipe, X, y, cv=KFold(2, shuffle=True, random_state=0))
    assert scores.shape == (2,) and np.isfinite(scores).all()
    # The language model is shared, never refitted or changed.
    assert same(lm.backbone_state_dict_, weights) and len(lm.history_) == 1
    pipe.fit(X, y)
    path = tmp_path / "pipe.joblib"
    joblib.dump(pipe, path)
    np.testing.assert_array_equal(joblib.load(path).predict(X[:20]), pipe.predict(X[:20]))
    reg = DynaProRegressor().set_params(pretrained="weights.pt", freeze_backbone_epochs=3)
    assert reg.pretrained == "weights.pt" and reg.freeze_backbone_epochs == 3


def test_pipeline_takes_k_from_the_language_model(mrl):
    X, _ = mrl
    lm3 = UTRLanguageModel(**BACKBONE, k=3, max_epochs=1, random_state=0).fit(X[:100])
    assert make_dynapro_pipeline(pretrained=lm3)[0].k == 3
    assert make_dynapro_pipeline(pretrained=FrozenEstimator(lm3))[0].k == 3
    assert make_dynapro_pipeline(pretrained=lm3, k=1)[0].k == 1  # explicit k wins
    assert make_dynapro_pipeline()[0].k == 1


def test_tokens_of_another_k_are_refused(mrl):
    # A hand-built pipeline's k=1 encoder fed A, C, G, T as ids 3-6, which a k=3 backbone
    # reads as AAA, AAC, AAG, AAT: inside its vocabulary, so it trained on them silently.
    X, y = mrl
    lm3 = UTRLanguageModel(**BACKBONE, k=3, max_epochs=1, random_state=0).fit(X[:100])
    net = {key: value for key, value in TINY.items() if key != "features"}
    hand_built = Pipeline(
        [
            ("encode", DynaProEncoder(features=None)),
            ("model", DynaProRegressor(pretrained=lm3, **net)),
        ]
    )
    with pytest.raises(ValueError, match=r"overlapping 3-mers.*; encode with k=3"):
        hand_built.fit(X[:100], y[:100])
    hand_built.set_params(encode__k=3).fit(X[:100], y[:100])
    assert hand_built.predict(X[:5]).shape == (5,)
    # The same holds for a k-mer vocabulary set by hand, without pre-training.
    plain = make_dynapro_pipeline(**TINY, k=1, module__vocab_size=4**2 + 3)
    with pytest.raises(ValueError, match=r"overlapping 2-mers"):
        plain.fit(X[:100], y[:100])


def test_a_fitted_language_model_keeps_its_k(mrl):
    # transform and the pipeline's k read the constructor's k, so set_params(k=1) after
    # fitting fed 1-mer ids to the 3-mer backbone.
    X, _ = mrl
    lm3 = UTRLanguageModel(**BACKBONE, k=3, max_epochs=1, random_state=0).fit(X[:100])
    before = lm3.transform(X[:10])
    lm3.set_params(k=1)
    np.testing.assert_array_equal(lm3.transform(X[:10]), before)
    assert make_dynapro_pipeline(pretrained=lm3)[0].k == 3


def test_pipeline_takes_k_from_saved_weights(mrl, tmp_path):
    # A saved k-mer backbone used to give k=1 and a vocabulary clash at fit.
    X, y = mrl
    lm3 = UTRLanguageModel(**BACKBONE, k=3, max_epochs=1, random_state=0).fit(X[:100])
    path = tmp_path / "bb3.pt"
    lm3.save_backbone(path)
    for pretrained in (str(path), path, torch.load(path, weights_only=True)):
        assert make_dynapro_pipeline(pretrained=pretrained)[0].k == 3
    bare = {name: t.clone() for name, t in lm3.backbone_state_dict_.items()}
    assert make_dynapro_pipeline(pretrained=bare)[0].k == 3
    pipe = make_dynapro_pipeline(**TINY, pretrained=str(path)).fit(X[:100], y[:100])
    assert pipe[0].k == 3 and pipe[-1].module_.vocab_size == 4**3 + 3


def test_checkpoints_name_the_weights_by_their_content(mrl, lm, tmp_path):
    X, y = mrl
    weights, ckpt = tmp_path / "backbone.pt", tmp_path / "ckpt"
    lm.save_backbone(weights)
    fit = {**TINY, "max_epochs": 1, "checkpoint_dir": ckpt}
    make_dynapro_pipeline(**fit, pretrained=str(weights)).fit(X, y)
    # The same weights given as the model: the finished fit is found and given back.
    again = make_dynapro_pipeline(**fit, pretrained=lm, resume=True).fit(X, y)
    assert again[-1].resumed_from_epoch_ == 1
    # Other weights written to the same path: nothing of this fit to resume.
    UTRLanguageModel(**BACKBONE, max_epochs=1, random_state=1).fit(X[:200]).save_backbone(weights)
    other = make_dynapro_pipeline(**fit, pretrained=str(weights), resume=True)
    with pytest.raises(ValueError, match=r"other parameters: pretrained=weights sha256:"):
        other.fit(X, y)
    # Without pretrained weights the parameter keeps its plain repr.
    plain = make_dynapro_pipeline(**fit).fit(X, y)[-1]
    assert plain._checkpoint_fingerprint_["params"]["pretrained"] == "None"
