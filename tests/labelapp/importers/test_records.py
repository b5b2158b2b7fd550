"""The readers, one per file kind, shared by every format: what each yields, and how each names a bad
line or row."""

import datetime
import gzip
import io

import pytest

from labelapp.errors import ApplicationError
from labelapp.importers.records import record_file_open, record_file_upload
from tests.labelapp.importers.conftest import FILES, records, saved_dataset


def read(path):
    file = record_file_open(path)
    try:
        return [(str(record.where), record.fields) for record in file.records()]
    finally:
        file.close()


def test_jsonl_lines_are_numbered_as_in_the_file_skipping_blank_ones(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"prompt": "one"}\r\n\n  \n{"prompt": "caf\xc3\xa9"}')
    assert read(path) == [("a.jsonl, line 1", {"prompt": "one"}), ("a.jsonl, line 4", {"prompt": "café"})]


def test_a_gzipped_jsonl_file_reads_as_the_plain_one(tmp_path):
    path = tmp_path / "hh.jsonl.gz"
    path.write_bytes(gzip.compress((FILES / "hh-rlhf.jsonl").read_bytes()))
    assert [fields for _, fields in read(path)] == records("hh-rlhf.jsonl")
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(b"not gzip at all")
    with pytest.raises(ApplicationError, match=r"^broken\.jsonl\.gz: cannot be read \(Not a gzipped file"):
        read(broken)


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b'{"a": 1}\n{"a": NaN}\n', "a.jsonl, line 2: not valid JSON (NaN is not a JSON number)"),
        (b'{"a": 1}\n{"a": "caf\xe9"}\n', "a.jsonl, line 2: not UTF-8 text (byte 10 of the line)"),
        (b'{"a": 1}\n["a"]\n', "a.jsonl, line 2: each line must be a JSON object"),
        (b'{"a": 1}\n{"a": \n', "a.jsonl, line 2: not valid JSON (Expecting value at column 7)"),
    ],
)
def test_a_bad_jsonl_line_is_named(tmp_path, content, error):
    path = tmp_path / "a.jsonl"
    path.write_bytes(content)
    with pytest.raises(ApplicationError) as refused:
        read(path)
    assert refused.value.message == error
    assert refused.value.extra == {"file": "a.jsonl", "line": 2, "field": None}


def test_csv_records_are_numbered_by_the_line_they_end_on_and_empty_cells_are_missing(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text('prompt,topic\n"two\nlines",\nthree,maths\n')
    assert read(path) == [
        ("a.csv, line 3", {"prompt": "two\nlines"}),
        ("a.csv, line 4", {"prompt": "three", "topic": "maths"}),
    ]
    assert record_file_open(path).columns == ["prompt", "topic"]


def test_parquet_rows_come_as_json_would_hold_them(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "a.parquet"
    table = pa.table(
        {
            "prompt": ["one", "two", None],
            "at": [datetime.datetime(2024, 5, 1, 12, 30), None, None],
            "score": [1.5, float("nan"), 2.0],
            "params": [{"temperature": 0.7, "seed": None}, None, {"temperature": None, "seed": 3}],
        }
    )
    pq.write_table(table, path, row_group_size=1)
    assert read(path) == [
        (
            "a.parquet, row 1",
            {"prompt": "one", "at": "2024-05-01T12:30:00", "score": 1.5, "params": {"temperature": 0.7}},
        ),
        ("a.parquet, row 2", {"prompt": "two", "score": None}),
        ("a.parquet, row 3", {"score": 2.0, "params": {"seed": 3}}),
    ]
    not_parquet = tmp_path / "b.parquet"
    not_parquet.write_text("prompt\nhello\n")
    with pytest.raises(ApplicationError, match=r"^b\.parquet: not a Parquet file"):
        record_file_open(not_parquet)


def test_a_datasets_folder_and_a_datasetdict_folder_are_read_split_by_split(tmp_path):
    from datasets import Dataset, DatasetDict

    one = saved_dataset("shp.jsonl", tmp_path)
    assert [fields["c_root_id_A"] for _, fields in read(one)] == ["fv2ycsr", "fv2tgx8"]
    rows = records("hh-rlhf.jsonl")
    both = tmp_path / "hh"
    DatasetDict({"train": Dataset.from_list(rows[:2]), "test": Dataset.from_list(rows[2:])}).save_to_disk(
        str(both)
    )
    assert [where for where, _ in read(both)] == ["hh/train, row 1", "hh/train, row 2", "hh/test, row 1"]
    assert record_file_open(both).total == 3
    with pytest.raises(ApplicationError, match=r"^empty: not a datasets folder \(no state\.json"):
        (tmp_path / "empty").mkdir()
        record_file_open(tmp_path / "empty")


def test_an_upload_is_read_from_its_file_object():
    upload = io.BytesIO(b"prompt,level\nhi,easy\n")
    file = record_file_upload(name="p.csv", file=upload, size=21)
    assert (file.columns, [(str(r.where), r.fields) for r in file.records()]) == (
        ["prompt", "level"],
        [("p.csv, line 2", {"prompt": "hi", "level": "easy"})],
    )


@pytest.mark.parametrize("name", ["prompts.txt", "data.xlsx", "archive.zip"])
def test_an_unknown_file_type_is_refused_naming_the_kinds_read(tmp_path, name):
    (tmp_path / name).write_text("x")
    with pytest.raises(ApplicationError, match=rf"^{name}: unknown file type; use \.jsonl, \.csv"):
        record_file_open(tmp_path / name)
