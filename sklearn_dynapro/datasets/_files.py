"""Read the user's own sequences from CSV, TSV or FASTA files."""

from __future__ import annotations

import gzip
import os
import re
import warnings
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from .._validation import format_rows

__all__ = ["load_sequences"]

_FORMATS = ("csv", "tsv", "fasta")
_SUFFIX_TO_FORMAT = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".fa": "fasta",
    ".fasta": "fasta",
    ".fna": "fasta",
    ".fas": "fasta",
}
# Compared after lower-casing and dropping everything but letters and digits, so that
# "5'UTR", "UTR_5" and "Sequence" are recognised too.
_SEQUENCE_NAMES = ("sequence", "seq", "utr", "utr5", "5utr")
_GZIP_MAGIC = b"\x1f\x8b"
# What reading a file that is not UTF-8 text in the expected format raises from the codecs,
# gzip/zlib and pandas' parser; turned into one ValueError that names the file.
_UNREADABLE = (
    UnicodeDecodeError,
    pd.errors.ParserError,
    pd.errors.ParserWarning,
    gzip.BadGzipFile,
    EOFError,
    zlib.error,
)


def _normalise_name(name) -> str:
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def _infer_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    fmt = _SUFFIX_TO_FORMAT.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        known = ", ".join(sorted(_SUFFIX_TO_FORMAT))
        raise ValueError(
            f"format must be given for a file whose suffix is not one of {known} "
            f"(optionally followed by .gz), got None for {str(path)!r}."
        )
    return fmt


def _is_gzip(path: Path) -> bool:
    # Sniff the content rather than trust the suffix, so that format= works on any name.
    with path.open("rb") as handle:
        return handle.read(2) == _GZIP_MAGIC


def _read_fasta(path: Path, compressed: bool) -> pd.DataFrame:
    """Parse FASTA records into ``id`` (first word of the header) and ``sequence``."""
    opener = gzip.open if compressed else open
    ids: list[str] = []
    sequences: list[list[str]] = []
    with opener(path, "rt", encoding="utf-8") as handle:
        for lineno, raw in enumerate(handle, start=1):
            line = raw.strip()
            if not line or line.startswith(";"):
                # Blank lines and old-style ';' comment lines carry no sequence.
                continue
            if line.startswith(">"):
                words = line[1:].split(maxsplit=1)
                if not words:
                    raise ValueError(
                        f"FASTA headers must name their record ('>name'), got {line!r} at "
                        f"line {lineno} of {str(path)!r}."
                    )
                ids.append(words[0])
                sequences.append([])
            elif not sequences:
                raise ValueError(
                    f"A FASTA file must start with a header line ('>name'), got {line[:40]!r} "
                    f"at line {lineno} of {str(path)!r}, before any header."
                )
            else:
                sequences[-1].append(line)
    if not ids:
        raise ValueError(f"A FASTA file must hold at least one record, got none in {str(path)!r}.")
    return pd.DataFrame(
        {
            "id": pd.Series(ids, dtype=object),
            "sequence": pd.Series(["".join(parts) for parts in sequences], dtype=object),
        }
    )


def _pick_column(columns: list, requested, candidates: tuple[str, ...], what: str, path: Path):
    """Return the requested column, or the single column whose name matches a candidate."""
    if requested is not None:
        if requested not in columns:
            raise ValueError(
                f"{what} must be one of the columns {columns} of {str(path)!r}, got {requested!r}."
            )
        return requested
    matches = [c for c in columns if _normalise_name(c) in candidates]
    if len(matches) > 1:
        raise ValueError(
            f"{what} must be given: several columns of {str(path)!r} could hold it "
            f"({matches}), got None."
        )
    return matches[0] if matches else None


def _read_table(
    path: Path, fmt: str, compressed: bool, sequence_column, target_column, id_column
) -> tuple[pd.DataFrame, pd.Series | None]:
    # index_col=False: never take the first column as the row index, which pandas otherwise
    # does silently when every data row has one field more than the header.
    options = {
        "sep": "," if fmt == "csv" else "\t",
        "compression": "gzip" if compressed else None,
        "index_col": False,
    }
    try:
        columns = list(pd.read_csv(path, nrows=0, **options).columns)
    except pd.errors.EmptyDataError:
        raise ValueError(
            f"A {fmt.upper()} file must have a header row, got an empty file {str(path)!r}."
        ) from None

    seq_col = _pick_column(columns, sequence_column, _SEQUENCE_NAMES, "sequence_column", path)
    if seq_col is None:
        raise ValueError(
            f"sequence_column must name the sequence column of {str(path)!r}; none of its "
            f"columns {columns} is called one of {list(_SEQUENCE_NAMES)} (case-insensitive), "
            "got None."
        )
    id_col = _pick_column(columns, id_column, ("id",), "id_column", path)
    if target_column is not None and target_column not in columns:
        raise ValueError(
            f"target_column must be one of the columns {columns} of {str(path)!r}, "
            f"got {target_column!r}."
        )
    if target_column is not None and target_column in (seq_col, id_col):
        raise ValueError(
            f"target_column must differ from the sequence and id columns, got {target_column!r}."
        )
    others = [c for c in columns if c not in (seq_col, id_col, target_column)]
    clashes = [c for c in others if c in ("id", "sequence")]
    if clashes:
        raise ValueError(
            f"The columns {clashes} of {str(path)!r} would be overwritten by the output "
            "columns 'id' and 'sequence'; pass them as id_column / sequence_column or rename "
            "them."
        )

    # Sequences and ids are read as raw text, without NA parsing: the sequence "NA" stays a
    # sequence, an empty field stays "" (reported as empty by the estimators), and an id
    # such as "0001" keeps its zeros.
    # The whole file is parsed here, so rows with more fields than the header are an error
    # (usecols would drop the extra fields, and index_col=False only warns about them).
    text_columns = [c for c in (seq_col, id_col) if c is not None]
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        text = pd.read_csv(path, dtype=str, na_filter=False, **options)[text_columns]
    if text.shape[0] == 0:
        raise ValueError(
            f"A {fmt.upper()} file must hold at least one row, got none in {str(path)!r}."
        )
    rest = others + ([target_column] if target_column is not None else [])
    if rest:
        data = pd.read_csv(path, usecols=rest, **options)
    else:
        data = pd.DataFrame(index=text.index)

    ids = text[id_col].astype(object) if id_col is not None else pd.RangeIndex(len(text))
    X = pd.DataFrame({"id": ids, "sequence": text[seq_col].astype(object)})
    X = pd.concat([X, data[others]], axis=1)
    if target_column is None:
        return X, None

    raw = data[target_column]
    y = pd.to_numeric(raw, errors="coerce").astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(y.to_numpy()))
    if bad.size:
        first = raw.iloc[bad[0]]
        first = first.item() if isinstance(first, np.generic) else first
        raise ValueError(
            f"target_column {target_column!r} must hold finite numbers, got missing, "
            f"non-numeric or infinite values at {format_rows(bad.tolist())} "
            f"(first: {first!r})."
        )
    return X, y.rename(target_column)


def load_sequences(
    path: str | os.PathLike,
    *,
    sequence_column: str | None = None,
    target_column: str | None = None,
    id_column: str | None = None,
    format: str | None = None,
):
    """Read sequences (and optionally a target) from a CSV, TSV or FASTA file.

    The sequences are returned as they are written, as strings; the estimators validate and
    normalise them (case, ``U``, alphabet, length), so problems are reported by row there.

    Parameters
    ----------
    path : str or path-like
        The file. Gzip-compressed files are recognised by their content.
    sequence_column : str or None, default=None
        Column holding the sequences (CSV/TSV). ``None`` picks the one column named
        ``sequence``, ``seq``, ``utr``, ``utr5`` or ``5utr``, ignoring case and punctuation
        (so ``5'UTR`` and ``UTR_5`` match too).
    target_column : str or None, default=None
        Numeric column to return as ``y`` (CSV/TSV). It is left out of ``X``.
    id_column : str or None, default=None
        Column holding the record ids (CSV/TSV). ``None`` uses a column named ``id``
        (any case) if there is one, and the 0-based row number otherwise.
    format : {"csv", "tsv", "fasta"} or None, default=None
        File format. ``None`` infers it from the suffix, ignoring a final ``.gz``:
        ``.csv``; ``.tsv`` or ``.tab``; ``.fa``, ``.fasta``, ``.fna`` or ``.fas``.

    Returns
    -------
    X : DataFrame of shape (n_samples, n_columns)
        ``id`` (str, or int64 row numbers), ``sequence`` (str), then the file's remaining
        columns in file order (CSV/TSV). For FASTA, ``id`` is the first word of each
        header.
    y : Series of shape (n_samples,), float64
        Only when ``target_column`` is given; named after it.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the format cannot be inferred, the file is not UTF-8 text in that format (or a
        broken gzip stream), a named column is missing, no sequence column can be found, the
        file holds no records, a FASTA line comes before the first header, or the target has
        missing, non-numeric or infinite values (the rows are named).

    Examples
    --------
    >>> from sklearn_dynapro.datasets import load_sequences
    >>> X, y = load_sequences("utrs.csv", target_column="mrl")  # doctest: +SKIP
    """
    path = Path(os.fspath(path)).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"No such sequence file: {str(path)!r}.")
    if not path.is_file():
        raise ValueError(f"path must be a file, got the directory {str(path)!r}.")
    if format is None:
        fmt = _infer_format(path)
    elif format in _FORMATS:
        fmt = format
    else:
        raise ValueError(f"format must be one of {_FORMATS} or None, got {format!r}.")
    compressed = _is_gzip(path)

    if fmt == "fasta":
        given = {
            "sequence_column": sequence_column,
            "target_column": target_column,
            "id_column": id_column,
        }
        for name, value in given.items():
            if value is not None:
                raise ValueError(
                    f"{name} must be None for a FASTA file, which has no columns, got {value!r}."
                )
    try:
        if fmt == "fasta":
            return _read_fasta(path, compressed)
        X, y = _read_table(path, fmt, compressed, sequence_column, target_column, id_column)
    except _UNREADABLE as exc:
        kind = f"{'gzip-compressed ' if compressed else ''}UTF-8 {fmt.upper()}"
        reason = " ".join(str(exc).split()).rstrip(".")
        raise ValueError(
            f"path must be a {kind} file, got {str(path)!r}, which cannot be read as one "
            f"({type(exc).__name__}: {reason})."
        ) from exc
    return X if y is None else (X, y)
