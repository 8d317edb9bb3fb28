"""load_sequences and iter_sequences: CSV, TSV and FASTA files, compressed or not, and their
errors."""

import gzip

import numpy as np
import pandas as pd
import pytest

from sklearn_dynapro.datasets import iter_sequences, load_mpra_random50, load_sequences
from sklearn_dynapro.preprocessing import SequenceTokenizer

CSV = "name,UTR,mrl,library\nu1,ACGU,1.5,a\nu2,ggta,2.0,b\nu3,TTAN,3.25,a\n"


def write(path, text, compress=False):
    if compress:
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "sep", "compress"),
    [
        ("u.csv", ",", False),
        ("u.csv.gz", ",", True),
        ("u.tsv", "\t", False),
        ("u.TSV.GZ", "\t", True),
        ("u.tab", "\t", False),
    ],
)
def test_tables(tmp_path, name, sep, compress):
    path = write(tmp_path / name, CSV.replace(",", sep), compress)
    X, y = load_sequences(path, target_column="mrl", id_column="name")
    assert list(X.columns) == ["id", "sequence", "library"]
    assert X["id"].tolist() == ["u1", "u2", "u3"]
    # Sequences come back exactly as written; the estimators normalise them.
    assert X["sequence"].tolist() == ["ACGU", "ggta", "TTAN"]
    assert isinstance(y, pd.Series) and y.name == "mrl" and y.dtype == np.float64
    assert y.tolist() == [1.5, 2.0, 3.25]


def test_without_target_returns_only_the_frame(tmp_path):
    path = write(tmp_path / "u.csv", CSV)
    X = load_sequences(str(path))
    assert isinstance(X, pd.DataFrame)
    assert list(X.columns) == ["id", "sequence", "name", "mrl", "library"]
    assert X["id"].tolist() == [0, 1, 2] and X["id"].dtype == np.int64


@pytest.mark.parametrize("column", ["sequence", "Seq", "utr", "5'UTR", "UTR_5", "5utr"])
def test_sequence_column_is_detected(tmp_path, column):
    path = write(tmp_path / "u.csv", f"{column},y\nACGT,1\n")
    X, y = load_sequences(path, target_column="y")
    assert X["sequence"].tolist() == ["ACGT"] and y.tolist() == [1.0]


def test_id_column_is_detected_and_kept_as_text(tmp_path):
    path = write(tmp_path / "u.csv", "ID,seq\n0001,ACGT\n0002,GG\n")
    X = load_sequences(path)
    assert X["id"].tolist() == ["0001", "0002"]
    assert list(X.columns) == ["id", "sequence"]


def test_sequences_stay_text(tmp_path):
    # "NA" is a sequence, not a missing value; an empty field is an empty sequence.
    path = write(tmp_path / "u.csv", "seq,y\nNA,1\n,2\nACGT,3\n")
    X, _ = load_sequences(path, target_column="y")
    assert X["sequence"].tolist() == ["NA", "", "ACGT"]
    with pytest.raises(ValueError, match=r"empty sequence at row \[1\]"):
        SequenceTokenizer().fit(X)


def test_frame_feeds_an_encoder(tmp_path):
    path = write(tmp_path / "u.csv", CSV)
    X, _ = load_sequences(path, target_column="mrl")
    out = SequenceTokenizer(ambiguous="mask").fit_transform(X)
    np.testing.assert_array_equal(out, [[3, 4, 5, 6], [5, 5, 6, 3], [6, 6, 3, 2]])


@pytest.mark.parametrize("compress", [False, True])
def test_fasta(tmp_path, compress):
    text = ">s1 first record\nACGT\nTTAA\n\n>s2\nggu\n>s3 empty\n"
    path = write(tmp_path / ("u.fa.gz" if compress else "u.fa"), text, compress)
    X = load_sequences(path)
    assert list(X.columns) == ["id", "sequence"]
    assert X["id"].tolist() == ["s1", "s2", "s3"]
    assert X["sequence"].tolist() == ["ACGTTTAA", "ggu", ""]


@pytest.mark.parametrize("suffix", [".fasta", ".fna", ".FA"])
def test_fasta_suffixes(tmp_path, suffix):
    path = write(tmp_path / f"u{suffix}", ">a\nACGT\n")
    assert load_sequences(path)["sequence"].tolist() == ["ACGT"]


def test_format_overrides_the_suffix(tmp_path):
    path = write(tmp_path / "u.txt", CSV.replace(",", "\t"), compress=True)
    X = load_sequences(path, format="tsv")
    assert X["sequence"].tolist() == ["ACGU", "ggta", "TTAN"]
    fasta = write(tmp_path / "records.dat", ">a\nAC\n")
    assert load_sequences(fasta, format="fasta")["id"].tolist() == ["a"]


def test_missing_file(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(FileNotFoundError, match=r"nope\.csv"):
        load_sequences(path)


def test_unknown_suffix_and_format(tmp_path):
    path = write(tmp_path / "u.txt", CSV)
    with pytest.raises(ValueError, match=r"format must be given .*\.csv.*got None"):
        load_sequences(path)
    with pytest.raises(ValueError, match=r"format must be one of .*got 'xlsx'"):
        load_sequences(path, format="xlsx")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", r"at least one record, got none"),
        ("\n\n", r"at least one record, got none"),
        ("ACGT\n>a\nACGT\n", r"must start with a header line .*'ACGT' at line 1"),
        (">a\nAC\n>\nGG\n", r"headers must name their record .* line 3"),
    ],
)
def test_bad_fasta(tmp_path, text, match):
    path = write(tmp_path / "u.fa", text)
    with pytest.raises(ValueError, match=match):
        load_sequences(path)


@pytest.mark.parametrize("argument", ["sequence_column", "target_column", "id_column"])
def test_fasta_has_no_columns(tmp_path, argument):
    path = write(tmp_path / "u.fa", ">a\nACGT\n")
    with pytest.raises(ValueError, match=rf"{argument} must be None for a FASTA file"):
        load_sequences(path, **{argument: "x"})


def test_no_sequence_column_lists_the_columns(tmp_path):
    path = write(tmp_path / "u.csv", "name,value\na,1\n")
    with pytest.raises(ValueError, match=r"sequence_column must name .*\['name', 'value'\]"):
        load_sequences(path)


def test_ambiguous_sequence_columns(tmp_path):
    path = write(tmp_path / "u.csv", "seq,utr\nAC,GT\n")
    with pytest.raises(ValueError, match=r"sequence_column must be given: .*\['seq', 'utr'\]"):
        load_sequences(path)
    assert load_sequences(path, sequence_column="utr")["sequence"].tolist() == ["GT"]


@pytest.mark.parametrize(
    "kwargs",
    [{"sequence_column": "nope"}, {"target_column": "nope"}, {"id_column": "nope"}],
)
def test_unknown_columns(tmp_path, kwargs):
    path = write(tmp_path / "u.csv", CSV)
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=rf"{name} must be one of the columns .*got 'nope'"):
        load_sequences(path, **kwargs)


def test_output_column_clash(tmp_path):
    path = write(tmp_path / "u.csv", "utr,sequence\nAC,x\n")
    with pytest.raises(ValueError, match=r"\['sequence'\] .* would be overwritten"):
        load_sequences(path, sequence_column="utr")


@pytest.mark.parametrize(
    ("values", "match"),
    [
        (["1", "", "3"], r"row \[1\] \(first: nan\)"),
        (["1", "high", "3"], r"row \[1\] \(first: 'high'\)"),
        (["1", "2", "inf"], r"row \[2\]"),
        (["", "x", "3"], r"rows \[0, 1\]"),
    ],
)
def test_bad_targets_name_the_row(tmp_path, values, match):
    rows = "".join(f"ACG,{v}\n" for v in values)
    path = write(tmp_path / "u.csv", "seq,y\n" + rows)
    with pytest.raises(ValueError, match=r"target_column 'y' must hold finite numbers.*" + match):
        load_sequences(path, target_column="y")


@pytest.mark.parametrize("text", ["", "seq,y\n"])
def test_empty_tables(tmp_path, text):
    path = write(tmp_path / "u.csv", text)
    with pytest.raises(ValueError, match=r"(header row|at least one row)"):
        load_sequences(path)


# ------------------------------------------------------------------------- iter_sequences
FASTA = ">s1 first record\nACGT\nTTAA\n\n;comment\n>s2\nggu\n>s3 empty\n>s4\nNNAC\n"


@pytest.mark.parametrize("chunk_size", [1, 2, 100])
@pytest.mark.parametrize(
    ("name", "text", "compress", "kwargs"),
    [
        ("u.csv", CSV, False, {"id_column": "name"}),
        ("u.csv.gz", CSV, True, {}),
        ("u.tsv", CSV.replace(",", "\t"), False, {"sequence_column": "UTR"}),
        ("u.fa", FASTA, False, {}),
        ("u.fa.gz", FASTA, True, {}),
    ],
)
def test_chunks_concatenate_to_load_sequences(tmp_path, name, text, compress, kwargs, chunk_size):
    path = write(tmp_path / name, text, compress)
    expected = load_sequences(path, **kwargs)
    chunks = list(iter_sequences(path, chunk_size=chunk_size, **kwargs))
    n = len(expected)
    assert [len(X) for X in chunks] == [min(chunk_size, n - s) for s in range(0, n, chunk_size)]
    assert all(list(X.columns) == list(expected.columns) for X in chunks)
    pd.testing.assert_frame_equal(pd.concat(chunks), expected)


def test_real_sequences_stream_in_file_order(tmp_path):
    X, y = load_mpra_random50()
    table = pd.DataFrame({"id": [f"utr{i:04d}" for i in range(50)], "utr": X[:50], "mrl": y[:50]})
    path = tmp_path / "utrs.tsv.gz"
    table.to_csv(path, sep="\t", index=False, compression="gzip")
    chunks = list(iter_sequences(path, chunk_size=7))
    assert len(chunks) == 8 and len(chunks[-1]) == 1
    # Each chunk is indexed by record number over the whole file.
    assert chunks[3].index.tolist() == list(range(21, 28))
    streamed = pd.concat(chunks)
    assert streamed["id"].tolist() == table["id"].tolist()  # leading zeros kept
    assert streamed["sequence"].tolist() == list(X[:50])
    np.testing.assert_allclose(streamed["mrl"], y[:50])
    pd.testing.assert_frame_equal(streamed, load_sequences(path))


def test_iter_checks_the_file_and_columns_when_called(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.csv"):
        iter_sequences(tmp_path / "nope.csv")
    path = write(tmp_path / "u.csv", "name,value\na,1\n")
    with pytest.raises(ValueError, match=r"sequence_column must name .*u\.csv"):
        iter_sequences(path)
    with pytest.raises(ValueError, match=r"id_column must be one of the columns .*u\.csv"):
        iter_sequences(path, sequence_column="name", id_column="nope")
    with pytest.raises(ValueError, match="sequence_column must be None for a FASTA file"):
        iter_sequences(path, format="fasta", sequence_column="name")
    with pytest.raises(ValueError, match="chunk_size must be an int >= 1, got 0"):
        iter_sequences(path, chunk_size=0)


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("u.fa", b">a\nAC\n>\nGG\n", r"headers must name their record .* line 3 of .*u\.fa"),
        ("u.fa", b"", r"at least one record, got none in .*u\.fa"),
        ("u.csv", b"seq,y\n", r"at least one row, got none in .*u\.csv"),
        ("u.csv", b"seq,y\nAC,1\nGG,2,3\n", r"u\.csv' .*at most the 2 .* got 3 at row \[1\]"),
        ("u.csv", b"seq,y\nGG,2,3\nAC,1\n", r"u\.csv' .*at most the 2 .* got 3 at row \[0\]"),
        # pandas skips lines of spaces too; a quote left open is pandas' error, not csv's.
        ("u.csv", b"seq,y\nAC,1\n   \nGG,2,3\n", r"u\.csv' .*at most the 2 .* got 3 at row \[1\]"),
        ("u.csv", b'seq,y\nAC,1\n"GG,2\n' + b"A" * 140_000 + b",3\n", r"u\.csv.*EOF inside string"),
        ("u.csv", b"seq\nAC\n\xff\xfe\n", r"UTF-8 CSV file, got .*u\.csv.*UnicodeDecodeError"),
        ("u.csv.gz", b"\x1f\x8bnot gzip", r"gzip-compressed UTF-8 CSV file, got .*u\.csv\.gz"),
    ],
)
def test_iter_errors_name_the_file(tmp_path, name, content, match):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match):
        list(iter_sequences(path, chunk_size=1))
    with pytest.raises(ValueError, match=match):
        load_sequences(path)
