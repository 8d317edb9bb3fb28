"""Every file of a saved model is checked against manifest.json before anything is used."""

import json
import os

import pytest

from sklearn_dynapro.persistence import load
from sklearn_dynapro.persistence._manifest import read_directory, write_directory


def test_write_and_read_directory_round_trip(tmp_path):
    files = {"a.json": b"{}", "b.bin": bytes(range(256))}
    directory = write_directory(files, tmp_path / "model", overwrite=False)
    assert read_directory(directory) == files
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["algorithm"] == "sha256"
    assert sorted(manifest["files"]) == ["a.json", "b.bin"]


@pytest.mark.parametrize("name", ["1_model.weights.safetensors", "0_encode.skops", "config.json"])
def test_modified_file_is_refused(saved, name):
    directory, _, _ = saved("dynapro_features_library")
    data = bytearray((directory / name).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (directory / name).write_bytes(bytes(data))
    with pytest.raises(ValueError, match=rf"{name} does not match its SHA-256 digest in manifest"):
        load(directory)


def test_extra_file_is_refused(saved):
    directory, _, _ = saved("optimus")
    (directory / "payload.pkl").write_bytes(b"not listed")
    with pytest.raises(ValueError, match=r"files not listed in manifest.json: \['payload.pkl'\]"):
        load(directory)


def test_missing_file_is_refused(saved):
    directory, _, _ = saved("optimus")
    (directory / "1_model.history.json").unlink()
    with pytest.raises(ValueError, match=r"misses files listed .*'1_model.history.json'"):
        load(directory)


def test_links_and_subdirectories_are_refused(saved, tmp_path):
    directory, _, _ = saved("kmer")
    (directory / "sub").mkdir()
    with pytest.raises(ValueError, match="only regular files, got 'sub'"):
        load(directory)
    (directory / "sub").rmdir()
    target = directory / "0_kmers.skops"
    moved = tmp_path / "elsewhere.skops"
    target.replace(moved)
    os.symlink(moved, target)
    with pytest.raises(ValueError, match=r"only regular files, got '0_kmers\.skops'"):
        load(directory)


def test_missing_directory_or_manifest(saved, tmp_path):
    with pytest.raises(FileNotFoundError, match="must be an existing directory"):
        load(tmp_path / "nowhere")
    directory, _, _ = saved("kmer")
    (directory / "manifest.json").unlink()
    with pytest.raises(ValueError, match=r"must hold manifest\.json"):
        load(directory)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m["files"].update({"../escape": "0" * 64}), "must list plain file names"),
        (lambda m: m["files"].update({"config.json": "abc"}), "hex SHA-256 digest"),
        (lambda m: m.update(format_version=99), "must have format_version 1, got 99"),
        (lambda m: m.update(algorithm="md5"), "manifest with SHA-256 digests"),
    ],
)
def test_malformed_manifest_is_refused(saved, edit, message):
    directory, _, _ = saved("kmer")
    manifest = json.loads((directory / "manifest.json").read_text())
    edit(manifest)
    (directory / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match=message):
        load(directory)


def test_config_must_use_every_file(saved, rewrite):
    directory, _, _ = saved("kmer")
    rewrite(directory, "notes.txt", b"listed but unused")
    with pytest.raises(ValueError, match=r"files config.json does not use: \['notes.txt'\]"):
        load(directory)
