"""Read the user's own sequences from CSV, TSV or FASTA files."""

from __future__ import annotations

import contextlib
import csv
import gzip
import itertools
import os
import re
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from .._validation import check_int, format_rows

__all__ = ["iter_sequences", "load_sequences"]

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
            f"(optionally followed by .gz; or rename the file), got None for {str(path)!r}."
        )
    return fmt


def _is_gzip(path: Path) -> bool:
    # Sniff the content rather than trust the suffix, so that format= works on any name.
    with path.open("rb") as handle:
        return handle.read(2) == _GZIP_MAGIC


def _source(path, format, **columns) -> tuple[Path, str, bool]:
    """Check the file, the format and the column arguments; also say if it is gzipped."""
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
    if fmt == "fasta":
        for name, value in columns.items():
            if value is not None:
                raise ValueError(
                    f"{name} must be None for a FASTA file, which has no columns, got {value!r}."
                )
    return path, fmt, _is_gzip(path)


@contextlib.contextmanager
def _readable(path: Path, fmt: str, compressed: bool) -> Iterator[None]:
    """Turn the many ways a file fails to parse into one ValueError that names the file."""
    try:
        yield
    except _UNREADABLE as exc:
        kind = f"{'gzip-compressed ' if compressed else ''}UTF-8 {fmt.upper()}"
        reason = " ".join(str(exc).split()).rstrip(".")
        raise ValueError(
            f"path must be a {kind} file, got {str(path)!r}, which cannot be read as one "
            f"({type(exc).__name__}: {reason})."
        ) from exc


def _fasta_records(path: Path, compressed: bool) -> Iterator[tuple[str, str]]:
    """``(id, sequence)`` per FASTA record, ``id`` the first word of the header."""
    opener = gzip.open if compressed else open
    name: str | None = None
    parts: list[str] = []
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
                if name is not None:
                    yield name, "".join(parts)
                name, parts = words[0], []
            elif name is None:
                raise ValueError(
                    f"A FASTA file must start with a header line ('>name'), got {line[:40]!r} "
                    f"at line {lineno} of {str(path)!r}, before any header."
                )
            else:
                parts.append(line)
    if name is None:
        raise ValueError(f"A FASTA file must hold at least one record, got none in {str(path)!r}.")
    yield name, "".join(parts)


def _fasta_chunks(
    path: Path, compressed: bool, chunk_size: int | None
) -> Iterator[tuple[pd.DataFrame, None]]:
    records = _fasta_records(path, compressed)
    start = 0
    while block := list(itertools.islice(records, chunk_size)):
        ids, sequences = zip(*block, strict=True)
        index = pd.RangeIndex(start, start + len(block))
        X = pd.DataFrame(
            {
                "id": pd.Series(ids, index=index, dtype=object),
                "sequence": pd.Series(sequences, index=index, dtype=object),
            }
        )
        start += len(block)
        yield X, None


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


def _table_columns(
    path: Path, fmt: str, options: dict, sequence_column, target_column, id_column
) -> tuple:
    """Read the header; return the sequence column, the id column (or None) and the others."""
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
    return seq_col, id_col, others


def _first_long_record(path: Path, options: dict) -> tuple[int, int, int] | None:
    """``(row, fields, header fields)`` of the first record longer than the header, or None.

    Rows count the records after the header from 0, skipping lines that are empty or only
    spaces, as pandas does. None too when the ``csv`` module cannot read the file either.
    """
    opener = gzip.open if options["compression"] == "gzip" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter=options["sep"])
        records = (f for f in reader if f and not (len(f) == 1 and f[0].isspace()))
        try:
            header = next(records, [])
            for row, fields in enumerate(records):
                if len(fields) > len(header):
                    return row, len(fields), len(header)
        except csv.Error:  # e.g. an unclosed quote: pandas' own error says it better
            return None
    return None


@contextlib.contextmanager
def _strict_fields(path: Path, options: dict) -> Iterator[None]:
    # With index_col=False, rows with more fields than the header only draw a ParserWarning
    # (and usecols would drop the extra fields silently): make it an error. Set around each
    # read only, so that the caller's own warning filters hold between chunks.
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        try:
            yield
        except (pd.errors.ParserWarning, pd.errors.ParserError):
            # pandas names no record (a warning for the first, an error naming the line of
            # the file for later ones): read the file again to name the row.
            found = _first_long_record(path, options)
            if found is None:
                raise
            row, n_fields, n_header = found
            raise ValueError(
                f"Every record of {str(path)!r} must have at most the {n_header} fields of "
                f"its header, got {n_fields} at {format_rows([row])} (rows count the records "
                "of the file from 0)."
            ) from None


def _table_chunks(
    path: Path, fmt: str, options: dict, columns: tuple, target_column, chunk_size: int | None
) -> Iterator[tuple[pd.DataFrame, pd.Series | None]]:
    seq_col, id_col, others = columns
    rest = others + ([target_column] if target_column is not None else [])

    def reader(stack: contextlib.ExitStack, **kwargs) -> Iterator[pd.DataFrame]:
        if chunk_size is None:
            return iter([pd.read_csv(path, **kwargs, **options)])
        return stack.enter_context(pd.read_csv(path, chunksize=chunk_size, **kwargs, **options))

    # Two readers advance in step. The first reads every field as raw text without NA parsing,
    # so that the sequence "NA" stays a sequence, an empty field stays "" (reported as empty
    # by the estimators) and an id such as "0001" keeps its zeros; the second parses the
    # other columns as usual.
    start = 0
    with contextlib.ExitStack() as stack:
        with _strict_fields(path, options):
            text = reader(stack, dtype=str, na_filter=False)
        data = reader(stack, usecols=rest) if rest else None
        while True:
            with _strict_fields(path, options):
                words = next(text, None)
            if words is None or words.empty:  # a file with only a header gives one empty chunk
                break
            ids = words[id_col].astype(object) if id_col is not None else words.index.to_numpy()
            X = pd.DataFrame(
                {"id": ids, "sequence": words[seq_col].astype(object)}, index=words.index
            )
            target = None
            if data is not None:
                values = next(data)
                X = pd.concat([X, values[others]], axis=1)
                target = values[target_column] if target_column is not None else None
            start += len(X)
            yield X, target
    if start == 0:
        raise ValueError(
            f"A {fmt.upper()} file must hold at least one row, got none in {str(path)!r}."
        )


def _chunks(
    path: Path,
    fmt: str,
    compressed: bool,
    chunk_size: int | None,
    sequence_column,
    target_column,
    id_column,
) -> Iterator[tuple[pd.DataFrame, pd.Series | None]]:
    """``(X, raw target or None)`` per ``chunk_size`` records (``None``: all in one chunk).

    The header and the column arguments are checked now, the records as they are read. The
    index of each ``X`` counts the records of the file from 0.
    """
    if fmt == "fasta":
        return _fasta_chunks(path, compressed, chunk_size)
    # index_col=False: never take the first column as the row index, which pandas otherwise
    # does silently when every data row has one field more than the header.
    options = {
        "sep": "," if fmt == "csv" else "\t",
        "compression": "gzip" if compressed else None,
        "index_col": False,
    }
    columns = _table_columns(path, fmt, options, sequence_column, target_column, id_column)
    return _table_chunks(path, fmt, options, columns, target_column, chunk_size)


def _check_target(raw: pd.Series, target_column: str) -> pd.Series:
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
    return y.rename(target_column)


def iter_sequences(
    path: str | os.PathLike,
    *,
    chunk_size: int = 10_000,
    sequence_column: str | None = None,
    id_column: str | None = None,
    format: str | None = None,
) -> Iterator[pd.DataFrame]:
    """Read a CSV, TSV or FASTA file of sequences ``chunk_size`` records at a time.

    Each chunk is shaped as :func:`load_sequences` returns the whole file, with the same
    rules and errors, so memory stays that of one chunk however long the file is. The path,
    format, header and column arguments are checked when this is called; the records as they
    are read.

    Parameters
    ----------
    path : str or path-like
        The file. Gzip-compressed files are recognised by their content.
    chunk_size : int, default=10_000
        Records per chunk (the last chunk may hold fewer).
    sequence_column, id_column : str or None, default=None
        Columns of a CSV/TSV file, as in :func:`load_sequences`. Must be None for FASTA.
    format : {"csv", "tsv", "fasta"} or None, default=None
        File format; ``None`` infers it from the suffix, ignoring a final ``.gz``.

    Returns
    -------
    chunks : iterator of DataFrame
        ``id``, ``sequence``, then the file's other columns (CSV/TSV), each indexed by
        record number counted from 0 over the whole file, so that ``pd.concat(chunks)``
        equals ``load_sequences(path, ...)``. Without an id column the id is that record
        number. The dtypes of the other columns are inferred chunk by chunk.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        As :func:`load_sequences` (the message names the file); errors in the records are
        raised by the iteration that reaches them.
    TypeError
        If ``chunk_size`` is not an int.

    Examples
    --------
    >>> from sklearn_dynapro.datasets import iter_sequences
    >>> for X in iter_sequences("library.fasta.gz", chunk_size=50_000):  # doctest: +SKIP
    ...     store(X["id"], pipe.predict(X))
    """
    chunk_size = check_int("chunk_size", chunk_size, minimum=1)
    path, fmt, compressed = _source(
        path, format, sequence_column=sequence_column, id_column=id_column
    )
    with _readable(path, fmt, compressed):
        chunks = _chunks(path, fmt, compressed, chunk_size, sequence_column, None, id_column)
    return _frames(chunks, path, fmt, compressed)


def _frames(chunks, path: Path, fmt: str, compressed: bool) -> Iterator[pd.DataFrame]:
    with _readable(path, fmt, compressed):
        for X, _ in chunks:
            yield X


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
    path, fmt, compressed = _source(
        path,
        format,
        sequence_column=sequence_column,
        target_column=target_column,
        id_column=id_column,
    )
    with _readable(path, fmt, compressed):
        # chunk_size=None: the whole file as one chunk, so that pandas infers the dtype of
        # each column from all of its rows.
        [(X, raw)] = _chunks(path, fmt, compressed, None, sequence_column, target_column, id_column)
    return X if raw is None else (X, _check_target(raw, target_column))
