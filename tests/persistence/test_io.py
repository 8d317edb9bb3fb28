"""save/load round trips of every model kind, and the joblib round trip next to them."""

import copy
import json
import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import RandomForestRegressor
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from skorch.callbacks import EpochScoring

from sklearn_dynapro import DynaProRegressor, make_dynapro_pipeline
from sklearn_dynapro.features import KmerFeatures
from sklearn_dynapro.nn import UTRLMBackbone
from sklearn_dynapro.persistence import load, save
from sklearn_dynapro.preprocessing import DynaProEncoder
from sklearn_dynapro.pretraining import UTRLanguageModel
from sklearn_dynapro.uncertainty import SeedEnsembleRegressor

TINY = {
    "module__d_model": 16,
    "module__n_layers": 1,
    "module__n_heads": 2,
    "module__ffn_dim": 16,
    "module__vocab_size": 7,
    "max_epochs": 1,
    "random_state": 0,
}


def test_round_trip_predicts_identically(saved, model_name):
    directory, model, X = saved(model_name)
    loaded = load(directory)
    assert type(loaded) is type(model)
    assert [step for step, _ in loaded.steps] == [step for step, _ in model.steps]
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_joblib_round_trip_predicts_identically(fitted, model_name, tmp_path):
    model, X = fitted(model_name)
    joblib.dump(model, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")  # trusted: we wrote it
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_nets_keep_parameters_fitted_values_and_history(saved, net_name):
    directory, model, _ = saved(net_name)
    # load() sets the device parameter to its own argument: ask for the one the model has.
    original = model[-1]
    net = load(directory, device=original.get_params()["device"])[-1]
    assert net.get_params(deep=False) == original.get_params(deep=False)
    assert load(directory)[-1].get_params()["device"] == "cpu"
    for attr in ("y_mean_", "y_scale_"):
        np.testing.assert_array_equal(getattr(net, attr), getattr(original, attr))
        assert getattr(net, attr).dtype == getattr(original, attr).dtype
    assert net.module_data_params_ == original.module_data_params_
    assert (net.n_outputs_, net.y_ndim_, net.seed_) == (
        original.n_outputs_,
        original.y_ndim_,
        original.seed_,
    )
    assert net.history_[:, "train_loss"] == pytest.approx(original.history_[:, "train_loss"])


def test_files_written_and_weights_stored_as_safetensors(saved):
    directory, model, _ = saved("dynapro_features_library")
    names = sorted(path.name for path in directory.iterdir())
    assert names == [
        "0_encode.skops",
        "1_model.arrays.safetensors",
        "1_model.history.json",
        "1_model.weights.safetensors",
        "config.json",
        "manifest.json",
    ]
    from safetensors.torch import load_file

    weights = load_file(directory / "1_model.weights.safetensors")
    state = model[-1].module_.state_dict()
    assert weights.keys() == state.keys()
    assert all(torch.equal(weights[key], state[key]) for key in state)
    config = json.loads((directory / "config.json").read_text())
    params = config["steps"][1]["params"]
    assert params["optimizer"] == {"__type__": "class", "name": "torch.optim.AdamW"}
    assert params["module"] == {"__type__": "class", "name": "sklearn_dynapro.nn.DynaProNet"}
    assert config["steps"][1]["attributes"]["n_libraries_"] == 2


def test_load_never_unpickles(saved, monkeypatch):
    directory, model, X = saved("dynapro_features_library")

    def refuse(*args, **kwargs):
        raise AssertionError("load must not unpickle")

    for target, attr in [
        (pickle, "load"),
        (pickle, "loads"),
        (pickle, "Unpickler"),
        (torch, "load"),
        (torch.serialization, "load"),
        (joblib, "load"),
    ]:
        monkeypatch.setattr(target, attr, refuse)
    loaded = load(directory)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_loaded_net_fine_tunes_from_its_weights(saved, datasets):
    directory, model, X = saved("dynapro")
    _, y = datasets["list"]
    loaded = load(directory)
    # With a zero learning rate, warm-started training leaves the loaded weights unchanged;
    # a network initialised afresh would predict differently.
    loaded.set_params(model__warm_start=True, model__lr=0.0, model__max_epochs=1)
    loaded.fit(X, y)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_pretrained_backbone_is_in_the_weights_not_the_params(datasets, tmp_path):
    X, y = datasets["list"]
    with torch.random.fork_rng():
        torch.manual_seed(0)
        backbone = UTRLMBackbone(d_model=16, n_layers=1, n_heads=2, ffn_dim=16)
    pipe = make_dynapro_pipeline(
        features=None, pretrained=backbone.state_dict(), module__backbone_heads=2, **TINY
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        pipe.fit(X, y)
    with pytest.warns(UserWarning, match="pretrained is not saved"):
        directory = save(pipe, tmp_path / "pretrained")
    loaded = load(directory)
    assert loaded[-1].pretrained is None
    assert loaded[-1].module_data_params_["backbone"] is True
    np.testing.assert_array_equal(loaded.predict(X), pipe.predict(X))


def test_device_argument_sets_where_nets_run(saved):
    directory, model, X = saved("optimus")
    loaded = load(directory, device="auto")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert loaded[-1].device == expected
    assert next(loaded[-1].module_.parameters()).device.type == expected
    np.testing.assert_allclose(loaded.predict(X), model.predict(X), rtol=1e-5, atol=1e-6)


def test_bare_estimator_round_trip(fitted, tmp_path):
    pipe, X = fitted("dynapro")
    net = pipe[-1]
    inputs = pipe[0].transform(X)
    loaded = load(save(net, tmp_path / "net"))
    assert isinstance(loaded, DynaProRegressor)
    np.testing.assert_array_equal(loaded.predict(inputs), net.predict(inputs))
    encoder = load(save(pipe[0], tmp_path / "encoder"))
    np.testing.assert_array_equal(encoder.transform(X)["tokens"], inputs["tokens"])


def test_overwrite_rules(fitted, tmp_path):
    kmer, X = fitted("kmer")
    ridge, _ = fitted("biophysical_ridge")
    target = tmp_path / "model"
    target.mkdir()
    save(kmer, target)  # an existing empty directory is fine
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save(ridge, target)
    save(ridge, target, overwrite=True)
    np.testing.assert_array_equal(load(target).predict(X), ridge.predict(X))
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no staging folder left

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save(kmer, notes)
    with pytest.raises(FileExistsError, match="only a directory holding a saved model"):
        save(kmer, notes, overwrite=True)
    assert (notes / "todo.txt").read_text() == "keep me"
    # Someone else's manifest.json, or a file a saved model does not list, is not a model.
    webapp = tmp_path / "webapp"
    webapp.mkdir()
    (webapp / "manifest.json").write_text('{"name": "my web app"}')
    (webapp / "results.csv").write_text("keep me")
    with pytest.raises(FileExistsError, match="only a directory holding a saved model"):
        save(kmer, webapp, overwrite=True)
    assert sorted(p.name for p in webapp.iterdir()) == ["manifest.json", "results.csv"]
    (target / "results.csv").write_text("keep me")
    with pytest.raises(FileExistsError, match="only a directory holding a saved model"):
        save(kmer, target, overwrite=True)
    assert (target / "results.csv").read_text() == "keep me"
    with pytest.raises(FileExistsError, match="must be a directory"):
        save(kmer, notes / "todo.txt")
    with pytest.raises(TypeError, match="overwrite must be a bool"):
        save(kmer, tmp_path / "new", overwrite="yes")


def test_save_refuses_what_it_cannot_store_and_writes_nothing(fitted, datasets, tmp_path):
    X, y = datasets["list"]
    with pytest.raises(NotFittedError):
        save(make_dynapro_pipeline(features=None), tmp_path / "unfitted")

    pipe, _ = fitted("dynapro")
    with_callbacks = copy.deepcopy(pipe).set_params(model__callbacks=[("r2", EpochScoring("r2"))])
    with pytest.raises(TypeError, match=r"params\.callbacks\.0\.1 must be None, a number"):
        save(with_callbacks, tmp_path / "callbacks")

    nested = Pipeline(
        [
            ("encode", DynaProEncoder(features=None)),
            (
                "model",
                TransformedTargetRegressor(regressor=DynaProRegressor(**TINY)),
            ),
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nested.fit(X, y)
    with pytest.raises(TypeError, match="only top-level steps of a Pipeline can be neural nets"):
        save(nested, tmp_path / "nested")
    assert list(tmp_path.iterdir()) == []


def test_network_defaults_of_the_saved_model_survive_a_changed_default(saved, edit_config):
    # FramePoolNet's residual default changed twice; a saved model must keep the network its
    # weights were trained in, whatever the default is when it is loaded.
    directory, model, X = saved("framepool_library")
    config = json.loads((directory / "config.json").read_text())
    defaults = config["steps"][1]["module_defaults"]
    assert defaults["residual"] is False and defaults["kernel_size"] == 7
    assert "n_filters" not in defaults  # set by hand: in params
    assert "n_libraries" not in defaults  # follows from the data
    assert "module__residual" not in load(directory)[-1].get_params()

    def saved_when_default_was_residual(config):
        config["steps"][1]["module_defaults"]["residual"] = True

    edit_config(directory, saved_when_default_was_residual)
    loaded = load(directory)
    assert loaded[-1].get_params()["module__residual"] is True
    assert loaded[-1].module_.residual is True
    assert not np.array_equal(loaded.predict(X), model.predict(X))

    def garbled(config):
        config["steps"][1]["module_defaults"] = {"residual": [1]}

    edit_config(directory, garbled)
    with pytest.raises(ValueError, match="module_defaults must map argument names to plain"):
        load(directory)


def test_language_model_step_round_trip(datasets, tmp_path, monkeypatch, rewrite):
    # The language model is a transformer holding a network: skops without the network,
    # safetensors for the weights.
    X, y = datasets["list"]
    lm = UTRLanguageModel(
        d_model=8, n_layers=1, n_heads=2, ffn_dim=8, max_epochs=1, mfe_weight=0.0,
        structure_weight=0.0, position="learned", max_positions=128, random_state=0,
    )  # fmt: skip
    pipe = make_pipeline(lm, Ridge()).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing load() would refuse
        directory = save(pipe, tmp_path / "embeddings")
    assert hasattr(pipe[0], "module_")  # saving left the fitted model whole
    names = sorted(path.name for path in directory.iterdir())
    assert names == [
        "0_utrlanguagemodel.skops",
        "0_utrlanguagemodel.weights.safetensors",
        "1_ridge.skops",
        "config.json",
        "manifest.json",
    ]
    monkeypatch.setattr(torch, "load", None)  # nothing is unpickled
    loaded = load(directory)
    np.testing.assert_array_equal(loaded.predict(X), pipe.predict(X))
    step = loaded[0]
    assert step.get_params() == lm.get_params()
    pd.testing.assert_frame_equal(pd.DataFrame(step.history_), pd.DataFrame(lm.history_))
    for key, tensor in lm.backbone_state_dict_.items():
        torch.testing.assert_close(step.backbone_state_dict_[key], tensor, rtol=0, atol=0)
    assert not step.module_.training
    # A weights file of another shape is refused, naming it.
    other = UTRLanguageModel(d_model=16, n_layers=1, n_heads=2, ffn_dim=8, max_epochs=1)
    other.set_params(mfe_weight=0.0, structure_weight=0.0).fit(X[:50])
    other_dir = save(other, tmp_path / "other")
    weights = "0_utrlanguagemodel.weights.safetensors"
    rewrite(directory, weights, (other_dir / "0_estimator.weights.safetensors").read_bytes())
    with pytest.raises(ValueError, match=f"{weights} must hold the weights of the configured"):
        load(directory)


def test_seed_ensemble_round_trip(datasets, tmp_path):
    X, y = datasets["list"]
    forest = make_pipeline(KmerFeatures(k_range=(1, 2)), RandomForestRegressor(5))
    ens = SeedEnsembleRegressor(forest, n_estimators=2, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing load() would refuse
        path = save(ens, tmp_path / "ensemble")
    loaded = load(path)
    np.testing.assert_array_equal(
        loaded.predict(X, return_std=True), ens.predict(X, return_std=True)
    )


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_model_trained_on_cuda_loads_on_cpu(datasets, tmp_path):
    X, y = datasets["list"]
    pipe = make_dynapro_pipeline(features=None, **{**TINY, "device": "cuda"}).fit(X, y)
    directory = save(pipe, tmp_path / "cuda")
    on_cpu, on_cuda = load(directory), load(directory, device="cuda")
    assert on_cpu[-1].device == "cpu"
    np.testing.assert_array_equal(on_cuda.predict(X), pipe.predict(X))
    np.testing.assert_allclose(on_cpu.predict(X), pipe.predict(X), rtol=1e-4, atol=1e-5)
