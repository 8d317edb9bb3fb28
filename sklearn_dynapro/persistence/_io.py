"""``save`` and ``load``: a fitted pipeline ↔ a directory of JSON, safetensors and skops files.

Layout of a saved model (``<stem>`` is ``<step index>_<step name>``)::

    config.json                       format, versions, pipeline parameters, one record per step
    <stem>.weights.safetensors        a neural step's network weights (CPU tensors)
    <stem>.arrays.safetensors         its array parameters and fitted attributes (y_mean_, …)
    <stem>.history.json               its training history
    <stem>.skops                      a scikit-learn step (encoder, features, forest, …), or a
                                      language model without its network (whose weights are
                                      in <stem>.weights.safetensors)
    manifest.json                     SHA-256 of every other file
"""

from __future__ import annotations

import json
import re
import warnings
from importlib import metadata
from pathlib import Path

from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ._allowlist import TRUSTED_CLASSES, check_trusted, class_name, resolve_class
from ._codec import class_names, decode, encode
from ._manifest import FORMAT, FORMAT_VERSION, read_directory, write_directory
from ._modules import build_module_step, is_module_step, module_step_entry, parse_module_step
from ._nets import build_net, is_net, net_entry, parse_net
from ._skops import check_skops, load_skops, skops_entry

__all__ = ["load", "save"]

CONFIG = "config.json"
_SAFE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_PACKAGES = ("sklearn-dynapro", "torch", "scikit-learn", "skorch", "skops", "safetensors", "numpy")


def _versions() -> dict[str, str | None]:
    found = {}
    for package in _PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    from .. import __version__

    found["sklearn-dynapro"] = __version__
    return found


def _steps(estimator) -> tuple[list[tuple[str, object]], dict | None]:
    """The steps to store and the pipeline's own parameters (None for a bare estimator)."""
    if not isinstance(estimator, Pipeline):
        return [("estimator", estimator)], None
    params = estimator.get_params(deep=False)
    steps = params.pop("steps")
    return list(steps), params


def _is_passthrough(obj) -> bool:
    return obj is None or (isinstance(obj, str) and obj == "passthrough")


def _check_fitted(obj) -> None:
    if _is_passthrough(obj):
        return
    if is_net(obj):
        check_is_fitted(obj, ["module_", "y_mean_"])
    else:
        check_is_fitted(obj)


def save(estimator, directory, *, overwrite: bool = False) -> Path:
    """Save a fitted pipeline or estimator to a directory, in a format safe to share.

    Nothing in the directory is pickled. A neural step is stored as its parameters in JSON
    (classes such as ``optimizer=torch.optim.AdamW`` by dotted name), its network weights as
    safetensors and the fitted attributes ``predict`` needs; every other step (encoders,
    feature transformers, scalers, forests, ridge models, ``ColumnTransformer`` …) with
    skops. ``manifest.json`` lists the SHA-256 of every file. :func:`load` checks the digests,
    builds only allow-listed classes and never unpickles, so a model from someone else can be
    loaded without running their code. ``joblib.dump`` remains the quick round trip for files
    you wrote yourself: loading a pickle runs whatever it contains.

    The optimizer state is not saved: a loaded model predicts exactly like the saved one and
    can be fine-tuned from its weights, but training does not resume where it stopped.

    Parameters
    ----------
    estimator : Pipeline or estimator
        Fitted. Neural nets (:class:`~sklearn_dynapro.DynaProRegressor`, the neural
        baselines) must be top-level steps of a :class:`~sklearn.pipeline.Pipeline` or the
        estimator itself; their parameters must be plain values, classes or arrays (no
        callbacks, no ``RandomState`` instances). ``pretrained`` is stored as None (with a
        warning): the saved weights already hold the pre-trained backbone. A
        :class:`~sklearn_dynapro.pretraining.UTRLanguageModel` used as a transformer step is
        stored as skops (the model without its network) plus its network's weights.
    directory : str or path-like
        Where to write; created if missing. Must be new or empty unless ``overwrite=True``.
    overwrite : bool, default=False
        Replace a model saved earlier in ``directory``. A non-empty directory that does not
        hold a saved model is never deleted.

    Returns
    -------
    directory : Path
        The directory written.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_dynapro.datasets import load_mpra_random50
    >>> from sklearn_dynapro.features import KmerFeatures
    >>> from sklearn_dynapro.persistence import load, save
    >>> X, y = load_mpra_random50()
    >>> pipe = make_pipeline(KmerFeatures(k_range=(1, 3)), Ridge()).fit(X[:300], y[:300])
    >>> path = save(pipe, Path(tempfile.mkdtemp()) / "kmer-ridge")
    >>> sorted(file.name for file in path.iterdir())
    ['0_kmerfeatures.skops', '1_ridge.skops', 'config.json', 'manifest.json']
    >>> bool((load(path).predict(X[:5]) == pipe.predict(X[:5])).all())
    True
    """
    if not isinstance(overwrite, bool):
        raise TypeError(f"overwrite must be a bool, got {overwrite!r}.")
    steps, pipeline_params = _steps(estimator)
    records, files = [], {}
    for index, (name, obj) in enumerate(steps):
        _check_fitted(obj)
        stem = f"{index}_{name}" if _SAFE_NAME.fullmatch(name) else str(index)
        if _is_passthrough(obj):
            record, step_files = {"name": name, "kind": "passthrough", "value": obj}, {}
        elif is_net(obj):
            record, step_files = net_entry(obj, name=name, stem=stem)
        elif is_module_step(obj):
            record, step_files = module_step_entry(obj, name=name, stem=stem)
        else:
            record, step_files = skops_entry(obj, name=name, stem=stem)
        records.append(record)
        files.update(step_files)
    pipeline = None
    if pipeline_params is not None:
        arrays: dict = {}
        encoded = {
            key: encode(value, where=f"pipeline.{key}", arrays=arrays)
            for key, value in pipeline_params.items()
        }
        if arrays:
            raise TypeError(f"pipeline parameters must not hold arrays, got {sorted(arrays)}.")
        pipeline = {"class": class_name(type(estimator)), "params": encoded}
    nets = [record for record in records if record["kind"] == "net"]
    named = {record["class"] for record in nets} | set(class_names([pipeline, nets]))
    if pipeline is not None:
        named.add(pipeline["class"])
    refused = sorted(named - set(TRUSTED_CLASSES))
    if refused:
        warnings.warn(
            f"load() refuses these classes unless passed as trusted: {refused}.",
            UserWarning,
            stacklevel=2,
        )
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": _versions(),
        "pipeline": pipeline,
        "steps": records,
    }
    files[CONFIG] = (json.dumps(config, indent=2) + "\n").encode("utf-8")
    return write_directory(files, directory, overwrite=overwrite)


def _read_config(files: dict[str, bytes]) -> dict:
    if CONFIG not in files:
        raise ValueError(f"a saved model must hold {CONFIG}; the manifest does not list it.")
    try:
        config = json.loads(files[CONFIG])
    except ValueError as err:
        raise ValueError(f"{CONFIG} must be valid JSON: {err}") from err
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ValueError(f"{CONFIG} must describe a {FORMAT} model, got {config!r:.200}.")
    if config.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{CONFIG} must have format_version {FORMAT_VERSION}, got "
            f"{config.get('format_version')!r}."
        )
    steps = config.get("steps")
    if not isinstance(steps, list) or not steps or not all(isinstance(s, dict) for s in steps):
        raise ValueError(f"{CONFIG} must list the steps as JSON objects, got {steps!r:.200}.")
    names = [step.get("name") for step in steps]
    if not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
        raise ValueError(f"{CONFIG} must give each step a distinct name, got {names!r}.")
    pipeline = config.get("pipeline")
    if pipeline is None and len(steps) != 1:
        raise ValueError(f"{CONFIG} must describe a pipeline to hold {len(steps)} steps.")
    if pipeline is not None and (
        not isinstance(pipeline, dict) or not isinstance(pipeline.get("params"), dict)
    ):
        raise ValueError(
            f"{CONFIG} must describe the pipeline's class and params, got {pipeline!r}."
        )
    saved = (config.get("versions") or {}).get("sklearn-dynapro")
    from .. import __version__

    if saved != __version__:
        warnings.warn(
            f"the model was saved with sklearn_dynapro {saved} and is loaded with "
            f"{__version__}; check its predictions.",
            UserWarning,
            stacklevel=3,
        )
    return config


def _plan_steps(records: list[dict], files: dict[str, bytes], *, resolve, trusted) -> list:
    """Check every step's record and file, building nothing; return what to build."""
    plans, used = [], {CONFIG}
    for index, record in enumerate(records):
        where = f"{CONFIG} steps[{index}] ({record['name']!r})"
        kind = record.get("kind")
        if kind == "passthrough":
            if not _is_passthrough(record.get("value")):
                raise ValueError(f"{where} must be 'passthrough' or null, got {record!r}.")
            plans.append(("passthrough", record.get("value")))
        elif kind == "net":
            plans.append(("net", parse_net(record, files, resolve=resolve, where=where)))
            used.update(record[key] for key in ("weights", "arrays", "history") if key in record)
        elif kind == "module":
            plan = parse_module_step(record, files, trusted=trusted, where=where)
            plans.append(("module", plan))
            used.update((plan["file"], plan["weights"]))
        elif kind == "skops":
            file, cls = record.get("file"), record.get("class")
            if not isinstance(file, str) or file not in files or not isinstance(cls, str):
                raise ValueError(f"{where} must name its skops file and class, got {record!r}.")
            types = check_skops(files[file], file=file, trusted=trusted)
            plans.append(("skops", (file, types, cls)))
            used.add(file)
        else:
            raise ValueError(
                f"{where} kind must be 'net', 'module', 'skops' or 'passthrough', got {kind!r}."
            )
    unused = sorted(set(files) - used)
    if unused:
        raise ValueError(f"the model holds files {CONFIG} does not use: {unused}.")
    return plans


def load(directory, *, device="cpu", trusted=None):
    """Load a model written by :func:`save`, checking it before building anything.

    In order: every file's SHA-256 is checked against ``manifest.json`` (a missing, extra or
    modified file is a ValueError naming it); every class ``config.json`` names and every type
    in the skops files is checked against the allow-list (scikit-learn, NumPy, this library's
    estimators and transformers, torch losses and optimizers), so an unknown name is a
    ValueError before any object is built; then the steps are built, the networks initialised
    on ``device`` and their weights read from safetensors. Nothing is unpickled.

    The manifest guards against corrupted or partly edited files, not against someone who
    rewrites it too; the allow-list is what keeps a hostile file from running code. To check
    that a model is the one its author published, compare the SHA-256 of its
    ``manifest.json`` with the one they give.

    Parameters
    ----------
    directory : str or path-like
        A directory written by :func:`save`.
    device : str or torch.device, default="cpu"
        Where neural steps run (their ``device`` parameter); ``"auto"`` picks CUDA when
        available. Predictions on the CPU are identical to the saved model's on the CPU.
    trusted : list of str or None, default=None
        Extra dotted class names to accept, e.g. your own network or transformer class.
        Only for models whose origin you trust.

    Returns
    -------
    estimator : Pipeline or estimator
        Fitted, as saved. Neural steps have a fresh optimizer (see :func:`save`).
    """
    trusted_names = check_trusted(trusted)
    files = read_directory(directory)
    config = _read_config(files)

    def resolve(name, where):
        return resolve_class(name, trusted=trusted_names, where=where)

    # Check everything first: nothing is built until every name and file has passed.
    plans = _plan_steps(config["steps"], files, resolve=resolve, trusted=trusted_names)
    pipeline = config["pipeline"]
    if pipeline is not None:
        pipeline_cls = resolve(pipeline.get("class"), "pipeline.class")
        if not issubclass(pipeline_cls, Pipeline):
            raise ValueError(f"pipeline.class must name a Pipeline, got {pipeline_cls!r}.")
        pipeline_params = decode(pipeline["params"], where="pipeline", arrays={}, resolve=resolve)
        if "steps" in pipeline_params:
            raise ValueError(f"{CONFIG} pipeline params must not hold the steps.")

    built = []
    for kind, plan in plans:
        if kind == "net":
            built.append(build_net(plan, device=device))
        elif kind == "module":
            built.append(build_module_step(plan, files))
        elif kind == "skops":
            file, types, cls = plan
            built.append(load_skops(files[file], file=file, types=types, expected_class=cls))
        else:
            built.append(plan)
    if pipeline is None:
        return built[0]
    names = [record["name"] for record in config["steps"]]
    return pipeline_cls(list(zip(names, built, strict=True)), **pipeline_params)
