"""Only allow-listed classes and skops types are ever imported or built on load."""

import os
import re

import numpy as np
import pytest
import skops.io
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import FunctionTransformer

from sklearn_dynapro import make_dynapro_pipeline
from sklearn_dynapro.nn import DynaProNet
from sklearn_dynapro.persistence import _io, load, save
from sklearn_dynapro.persistence._allowlist import (
    TRUSTED_CLASSES,
    TRUSTED_SKOPS_TYPES,
    _import_dotted,
    check_trusted,
    class_name,
)
from sklearn_dynapro.preprocessing import DynaProEncoder


class MyNet(DynaProNet):
    """A user's network (not allow-listed)."""


class CountAs(TransformerMixin, BaseEstimator):
    """A user's feature transformer (not allow-listed): the count of A in each sequence."""

    def fit(self, X, y=None):
        self.n_features_in_ = 1
        return self

    def transform(self, X):
        return np.array([[str(s).count("A")] for s in X], dtype=float)

    def get_feature_names_out(self, input_features=None):
        return np.array(["n_A"], dtype=object)


@pytest.fixture
def nothing_built(monkeypatch):
    """Make building any step fail loudly, to show a refusal comes first."""

    def refuse(*args, **kwargs):
        raise AssertionError("a step was built before the config was checked")

    monkeypatch.setattr(_io, "build_net", refuse)
    monkeypatch.setattr(_io, "load_skops", refuse)


@pytest.mark.parametrize("name", TRUSTED_CLASSES)
def test_every_trusted_class_name_resolves(name):
    cls = _import_dotted(name)
    assert isinstance(cls, type)
    assert class_name(cls) == name


@pytest.mark.parametrize("name", TRUSTED_SKOPS_TYPES)
def test_every_trusted_skops_type_resolves_by_its_defining_module(name):
    cls = _import_dotted(name)
    assert isinstance(cls, type)
    assert f"{cls.__module__}.{cls.__qualname__}" == name


@pytest.mark.parametrize("name", ["os.system", "builtins.eval", "subprocess.Popen"])
@pytest.mark.parametrize("field", ["module", "optimizer", "class"])
def test_config_naming_a_class_outside_the_allow_list_is_refused(
    saved, edit_config, nothing_built, name, field
):
    directory, _, _ = saved("optimus")

    def edit(config):
        step = config["steps"][1]
        if field == "class":
            step["class"] = name
        else:
            step["params"][field] = {"__type__": "class", "name": name}

    edit_config(directory, edit)
    with pytest.raises(ValueError, match=rf"must name an allow-listed class, got '{name}'"):
        load(directory)


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda p: p.update({"class": "os.system"}), r"pipeline\.class"),
        (
            lambda p: p["params"].update(memory={"__type__": "class", "name": "os.system"}),
            r"pipeline\.memory",
        ),
    ],
)
def test_pipeline_class_and_params_are_checked_too(saved, edit_config, nothing_built, edit, where):
    directory, _, _ = saved("kmer")
    edit_config(directory, lambda config: edit(config["pipeline"]))
    with pytest.raises(ValueError, match=f"{where} must name an allow-listed class"):
        load(directory)


def test_net_step_class_must_be_a_sequence_net(saved, edit_config, nothing_built):
    directory, _, _ = saved("optimus")
    edit_config(directory, lambda c: c["steps"][1].update({"class": "torch.optim.Adam"}))
    with pytest.raises(ValueError, match="must name a SequenceNetRegressor"):
        load(directory)


def test_config_cannot_turn_off_weights_only_loading(saved, edit_config, nothing_built):
    directory, _, _ = saved("optimus")
    edit_config(
        directory,
        lambda c: c["steps"][1]["params"].update(torch_load_kwargs={"weights_only": False}),
    )
    with pytest.raises(ValueError, match="torch_load_kwargs must be null or keep weights_only"):
        load(directory)


@pytest.mark.parametrize(
    ("func", "refused"),
    [(os.system, "posix.system" if os.name == "posix" else "nt.system"), (eval, "builtins.eval")],
)
def test_skops_file_with_a_type_outside_the_allow_list_is_refused(
    saved, rewrite, nothing_built, func, refused
):
    directory, _, _ = saved("kmer")
    rewrite(directory, "2_model.skops", skops.io.dumps(FunctionTransformer(func=func)))
    with pytest.raises(ValueError, match=rf"2_model.skops holds types outside .*{refused}"):
        load(directory)


def test_skops_file_of_another_class_than_configured_is_refused(saved, rewrite):
    directory, _, _ = saved("kmer")
    rewrite(directory, "2_model.skops", skops.io.dumps(FunctionTransformer()))
    with pytest.raises(ValueError, match=r"must hold a sklearn\.linear_model\._ridge\.RidgeCV"):
        load(directory)


def test_user_classes_load_only_when_trusted(datasets, tmp_path):
    X, _ = datasets["list"]
    encoder = DynaProEncoder(features=CountAs()).fit(X)
    with pytest.warns(UserWarning, match="refuses unless passed as trusted"):
        directory = save(encoder, tmp_path / "encoder")
    name = f"{CountAs.__module__}.{CountAs.__qualname__}"
    with pytest.raises(ValueError, match=f"outside the allow-list: \\['{name}'\\]"):
        load(directory)
    loaded = load(directory, trusted=[name])
    np.testing.assert_array_equal(loaded.transform(X)["features"], encoder.transform(X)["features"])


def test_user_network_loads_only_when_trusted(datasets, tmp_path):
    X, y = datasets["list"]
    pipe = make_dynapro_pipeline(
        features=None,
        module=MyNet,
        module__d_model=16,
        module__n_heads=2,
        module__n_layers=1,
        module__ffn_dim=16,
        max_epochs=1,
        random_state=0,
    ).fit(X, y)
    name = f"{MyNet.__module__}.{MyNet.__qualname__}"
    with pytest.warns(UserWarning, match=re.escape(f"unless passed as trusted: ['{name}']")):
        directory = save(pipe, tmp_path / "mynet")
    with pytest.raises(ValueError, match=re.escape(f"allow-listed class, got '{name}'")):
        load(directory)
    loaded = load(directory, trusted=[name])
    assert type(loaded[-1].module_) is MyNet
    np.testing.assert_array_equal(loaded.predict(X), pipe.predict(X))


@pytest.mark.parametrize("trusted", [True, "os.system", [1], [""]])
def test_trusted_must_be_a_list_of_names(trusted):
    with pytest.raises(TypeError, match="trusted must"):
        check_trusted(trusted)
