"""A model directory: flat files plus ``manifest.json`` with the SHA-256 of each.

Saving stages every file in a fresh sibling directory and moves it into place at the end, so
an interrupted save leaves the target as it was. Loading reads each file once into memory,
checks it against the manifest and hands out those bytes, so what is checked is what is used.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
from pathlib import Path

__all__ = ["MANIFEST", "read_directory", "write_directory"]

MANIFEST = "manifest.json"
FORMAT = "sklearn_dynapro"
FORMAT_VERSION = 1
_DIGEST = re.compile(r"[0-9a-f]{64}")
_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def manifest_bytes(files: dict[str, bytes]) -> bytes:
    """The manifest for ``files`` (name → content), as UTF-8 JSON."""
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "algorithm": "sha256",
        "files": {name: sha256(files[name]) for name in sorted(files)},
    }
    return (json.dumps(manifest, indent=2) + "\n").encode("utf-8")


def _is_saved_model(directory: Path) -> bool:
    """Whether ``directory`` holds this library's manifest and exactly the files it lists.

    Any other ``manifest.json`` (a web app's, a dataset's) or any file the manifest does not
    list means the directory holds something else, which overwriting must not delete.
    """
    entries = list(os.scandir(directory))
    if not all(e.is_file(follow_symlinks=False) for e in entries):
        return False
    try:
        manifest = json.loads((directory / MANIFEST).read_bytes())
    except (OSError, ValueError):
        return False
    # Not _read_manifest: a model saved by another format version may still be replaced.
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return False
    listed = manifest.get("files")
    if not isinstance(listed, dict):
        return False
    return {e.name for e in entries} <= {*listed, MANIFEST}


def write_directory(files: dict[str, bytes], directory, *, overwrite: bool) -> Path:
    """Write ``files`` and their manifest to ``directory``.

    Parameters
    ----------
    files : dict of str to bytes
        File name → content; names are flat (no separators).
    directory : str or path-like
        Created if missing. An existing empty directory is used; a non-empty one is replaced
        only with ``overwrite=True`` and only if it holds a model saved by this library.
    overwrite : bool
        Replace an existing saved model.

    Returns
    -------
    directory : Path
    """
    directory = Path(directory)
    if directory.exists():
        if not directory.is_dir():
            raise FileExistsError(f"directory must be a directory, got the file {directory}.")
        if any(directory.iterdir()):
            if not overwrite:
                raise FileExistsError(
                    f"directory must be empty or new, got {directory}, which holds files; pass "
                    "overwrite=True to replace a model saved there."
                )
            if not _is_saved_model(directory):
                raise FileExistsError(
                    f"overwrite=True replaces only a directory holding a saved model (its "
                    f"{MANIFEST} and the files listed there), got {directory}; choose a new or "
                    "empty directory."
                )
    parent = directory.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    # A sibling, so the final move is a rename; mkdir (unlike mkdtemp) honours the umask.
    staging = parent / f".{directory.name}.saving-{secrets.token_hex(8)}"
    staging.mkdir()
    try:
        for name, data in {**files, MANIFEST: manifest_bytes(files)}.items():
            (staging / name).write_bytes(data)
        if directory.exists():
            shutil.rmtree(directory)
        staging.replace(directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return directory


def _read_manifest(directory: Path) -> dict[str, str]:
    path = directory / MANIFEST
    if not path.is_file() or path.is_symlink():
        raise ValueError(f"{directory} must hold {MANIFEST} to be a saved model; it is missing.")
    try:
        manifest = json.loads(path.read_bytes())
    except ValueError as err:
        raise ValueError(f"{MANIFEST} must be valid JSON: {err}.") from err
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != FORMAT
        or manifest.get("algorithm") != "sha256"
        or not isinstance(files, dict)
    ):
        raise ValueError(
            f"{MANIFEST} must be a {FORMAT} manifest with SHA-256 digests, got {manifest!r}."
        )
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{MANIFEST} must have format_version {FORMAT_VERSION}, got {version!r}; the model "
            "was saved by another version of sklearn_dynapro."
        )
    for name, digest in files.items():
        if not _FILE_NAME.fullmatch(name) or name == MANIFEST:
            raise ValueError(f"{MANIFEST} must list plain file names, got {name!r}.")
        if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
            raise ValueError(
                f"{MANIFEST} must give a hex SHA-256 digest for {name!r}, got {digest!r}."
            )
    return files


def read_directory(directory) -> dict[str, bytes]:
    """Read a saved model's files, checking each against the manifest.

    Parameters
    ----------
    directory : str or path-like
        A directory written by :func:`write_directory`.

    Returns
    -------
    files : dict of str to bytes
        Every file the manifest lists (the manifest itself excluded), by name.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"directory must be an existing directory, got {directory}.")
    expected = _read_manifest(directory)
    present = {}
    for entry in os.scandir(directory):
        if entry.name == MANIFEST:
            continue
        if not entry.is_file(follow_symlinks=False):
            raise ValueError(
                f"{directory} must hold only regular files, got {entry.name!r} (a directory "
                "or link)."
            )
        present[entry.name] = entry.path
    extra = sorted(set(present) - set(expected))
    if extra:
        raise ValueError(
            f"{directory} holds files not listed in {MANIFEST}: {extra}; remove them or save "
            "the model again."
        )
    missing = sorted(set(expected) - set(present))
    if missing:
        raise ValueError(f"{directory} misses files listed in {MANIFEST}: {missing}.")
    files = {}
    for name in sorted(expected):
        data = Path(present[name]).read_bytes()
        if not hmac.compare_digest(sha256(data), expected[name]):
            raise ValueError(
                f"{name} does not match its SHA-256 digest in {MANIFEST}: the file was modified "
                "or corrupted after saving."
            )
        files[name] = data
    return files
