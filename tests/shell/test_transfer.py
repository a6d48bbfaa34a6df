"""Import, export and dump: round trips on both models and both engines, and malformed input."""

import json

import pytest

import docdb
from docdb_shell.transfer import TransferError, export, import_file

DOCS = [
    {"_id": 1, "name": "ann", "tags": ["a", "b"], "address": {"city": "Oslo", "zip": "0150"}, "score": 1.5},
    {"_id": 2, "name": "bob", "nested": {"deep": [{"x": None}, {"y": True}]}, "score": 2},
    {"_id": "three", "name": 'it\'s "quoted"\nand multi-line', "score": -0.25},
]


@pytest.fixture(params=["lsm", "hash"])
def conn(request, tmp_path):
    connection = docdb.connect(str(tmp_path / "db"), engine=request.param, autocommit=True)
    yield connection
    connection.close()


def _jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


def test_jsonl_into_a_new_collection_and_back(conn, tmp_path):
    report = import_file(conn, _jsonl(tmp_path / "in.jsonl", DOCS), "people")
    assert (report.inserted, report.errors, report.created) == (3, [], "collection")
    out = tmp_path / "out.jsonl"
    with open(out, "w") as f:
        assert export(conn, "people", f, "jsonl") == 3
    assert sorted(map(json.loads, out.read_text().splitlines()), key=str) == sorted(DOCS, key=str)


def test_json_array_both_ways(conn, tmp_path):
    source = tmp_path / "in.json"
    source.write_text(json.dumps(DOCS, indent=2))
    assert import_file(conn, str(source), "people").inserted == 3
    out = tmp_path / "out.json"
    with open(out, "w") as f:
        export(conn, "people", f, "json")
    assert sorted(json.loads(out.read_text()), key=str) == sorted(DOCS, key=str)


def test_csv_into_a_new_table_infers_types(conn, tmp_path):
    source = tmp_path / "in.csv"
    source.write_text('id,name,price,note\n1,apple,0.5,\n2,pear,1,ripe\n3,"plum, red",2.25,x\n')
    report = import_file(conn, str(source), "fruit")
    assert report.created == "table" and report.inserted == 3
    assert conn.describe("fruit")["columns"] == {
        "id": "INTEGER",
        "name": "TEXT",
        "price": "REAL",
        "note": "TEXT",
    }
    assert conn.execute("SELECT * FROM fruit ORDER BY id").fetchall() == [
        (1, "apple", 0.5, ""),  # as sqlite3 .import: an empty field in a TEXT column is empty text
        (2, "pear", 1.0, "ripe"),
        (3, "plum, red", 2.25, "x"),
    ]
    out = tmp_path / "out.csv"
    with open(out, "w", newline="") as f:
        export(conn, "fruit", f, "csv")
    assert out.read_text().splitlines()[3] == '3,"plum, red",2.25,x'


def test_csv_into_an_existing_table_and_into_a_collection(conn, tmp_path):
    conn.create_table("t", {"id": "INTEGER", "ok": "BOOLEAN", "j": "JSON"}, primary_key="id")
    source = tmp_path / "in.csv"
    source.write_text('id,ok,j\n1,true,"{""a"": 1}"\n2,0,[1]\n')
    assert import_file(conn, str(source), "t").inserted == 2
    assert conn.execute("SELECT * FROM t ORDER BY id").fetchall() == [(1, True, {"a": 1}), (2, False, [1])]
    conn.create_collection("docs")
    assert import_file(conn, str(source), "docs").inserted == 2
    assert conn.collection("docs").find_one({"id": 1}, projection={"_id": 0}) == {
        "id": 1,
        "ok": "true",
        "j": {"a": 1},
    }


def test_collection_exported_as_csv_has_every_top_level_field(conn, tmp_path):
    conn.collection("c").insert_many([{"_id": 1, "a": 1}, {"_id": 2, "b": {"x": 1}}])
    out = tmp_path / "c.csv"
    with open(out, "w", newline="") as f:
        export(conn, "c", f, "csv")
    assert out.read_text() == '_id,a,b\n1,1,\n2,,"{""x"":1}"\n'


def test_a_bad_line_stops_the_import_and_its_batch_is_not_committed(conn, tmp_path):
    lines = [json.dumps({"_id": i}) for i in range(1, 8)]
    lines[5] = '{"_id": 6, broken'
    source = tmp_path / "bad.jsonl"
    source.write_text("\n".join(lines) + "\n")
    report = import_file(conn, str(source), "c", batch_size=4)
    assert report.stopped and report.inserted == 4
    assert len(report.errors) == 1 and report.errors[0].startswith(f"{source}:6: malformed JSON: ")
    assert sorted(d["_id"] for d in conn.collection("c").find()) == [1, 2, 3, 4]  # the second batch is gone


def test_skip_errors_reports_each_bad_record_and_keeps_the_rest(conn, tmp_path):
    conn.create_table("t", {"id": "INTEGER", "n": "INTEGER NOT NULL"}, primary_key="id")
    source = tmp_path / "t.jsonl"
    source.write_text(
        '{"id": 1, "n": 1}\n[1]\n{"id": 2, "n": "x"}\n{"id": 1, "n": 5}\n{"id": 3}\n{"id": 4, "n": 4}\n'
    )
    report = import_file(conn, str(source), "t", skip_errors=True)
    assert report.inserted == 2 and not report.stopped
    assert [e.split(": ", 1)[0] for e in report.errors] == [f"{source}:{n}" for n in (2, 3, 4, 5)]
    assert "expected a JSON object" in report.errors[0]
    assert "DataError" in report.errors[1] and "IntegrityError" in report.errors[2]
    assert conn.execute("SELECT id FROM t ORDER BY id").fetchall() == [(1,), (4,)]


def test_bad_csv_and_bad_json_array_name_their_line(conn, tmp_path):
    conn.create_table("t", {"id": "INTEGER"})
    source = tmp_path / "t.csv"
    source.write_text("id\n1\nseven\n")
    report = import_file(conn, str(source), "t")
    assert report.errors == [f"{source}:3: column id: 'seven' is not a INTEGER value"]
    assert conn.execute("SELECT count(*) FROM t").fetchall() == [(0,)]
    array = tmp_path / "a.json"
    array.write_text('[\n {"a": 1},\n {"a": 2,}\n]')
    report = import_file(conn, str(array), "c")
    assert report.errors[0].startswith(f"{array}:3: malformed JSON")
    with pytest.raises(TransferError, match="cannot tell the format"):
        import_file(conn, str(tmp_path / "x.txt"), "c")


def test_json_array_items_report_their_own_lines(conn, tmp_path):
    array = tmp_path / "a.json"
    array.write_text('[\n  {"_id": 1},\n  "not an object",\n  {"_id": "s,[x"}\n]\n')
    report = import_file(conn, str(array), "c", skip_errors=True)
    assert report.inserted == 2 and report.errors == [f"{array}:3: expected a JSON object, found str"]


def test_import_refuses_to_make_a_table_from_json(conn, tmp_path):
    with pytest.raises(TransferError, match="from CSV only"):
        import_file(conn, _jsonl(tmp_path / "a.jsonl", DOCS), "t", create="table")
    assert conn.collections() == [] and conn.tables() == []


# ----- dump and load back ----------------------------------------------------------------

TRICKY_ROWS = [
    (1, "plain", 1.0, {"k": [1, 2.5, None, True]}, b"\x00\xff", True),
    (2, "it's; -- not a comment\n/* nor this */", float("inf"), [], None, False),
    (3, None, -1e-300, "a JSON string", b"", None),
]


def test_dump_then_run_recreates_the_database(docdb_cli, tmp_path):
    source, copy = str(tmp_path / "a"), str(tmp_path / "b")
    conn = docdb.connect(source, autocommit=True)
    conn.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT DEFAULT 'x', r REAL, j JSON, b BLOB, "
        "ok BOOLEAN UNIQUE) USING hash"
    )
    for row in TRICKY_ROWS:
        conn.execute("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)", row)
    conn.execute("CREATE INDEX t_r ON t (r, name)")
    conn.collection("docs").insert_many(DOCS)
    conn.collection("docs").create_index("address.city", unique=False, name="docs_city")
    conn.execute("CREATE TABLE hidden (v TEXT)")
    conn.execute("INSERT INTO hidden VALUES ('no primary key')")
    conn.execute("CREATE VIEW names AS SELECT name FROM t WHERE id < 3")
    conn.close()

    dumped = docdb_cli(["dump", source, "-o", tmp_path / "dump.sql"])
    assert dumped.exit_code == 0, dumped.output
    loaded = docdb_cli(["run", copy, tmp_path / "dump.sql"])
    assert loaded.exit_code == 0, loaded.output

    original, restored = docdb.connect(source), docdb.connect(copy)
    try:
        for conn in (original, restored):
            assert conn.execute("SELECT * FROM t ORDER BY id").fetchall() == TRICKY_ROWS
            assert sorted(conn.collection("docs").find(), key=str) == sorted(DOCS, key=str)
            assert conn.execute("SELECT * FROM names").fetchall() == [("plain",), (TRICKY_ROWS[1][1],)]
        for name in ("t", "docs", "hidden", "names"):
            assert restored.describe(name) == original.describe(name)
        assert list(restored.iterdump()) == list(original.iterdump())
    finally:
        original.close()
        restored.close()


def test_export_command_and_import_command(docdb_cli, db_path, tmp_path):
    source = _jsonl(tmp_path / "in.jsonl", DOCS)
    result = docdb_cli(["import", db_path, source, "--into", "people"])
    assert (
        result.exit_code == 0
        and "3 records imported into people (created collection people)" in result.stderr
    )
    exported = docdb_cli(["export", db_path, "people", "--format", "jsonl"])
    assert sorted(map(json.loads, exported.stdout.splitlines()), key=str) == sorted(DOCS, key=str)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"_id": 9}\nnope\n')
    failed = docdb_cli(["import", db_path, bad, "--into", "people"])
    assert (
        failed.exit_code == 1 and f"{bad}:2: malformed JSON" in failed.stderr and "Stopped" in failed.stderr
    )
    skipped = docdb_cli(["import", db_path, bad, "--into", "people", "--skip-errors"])
    assert skipped.exit_code == 1 and "1 records imported" in skipped.stderr
    written = docdb_cli(["export", db_path, "people", "-o", tmp_path / "p.csv"])
    assert written.exit_code == 0 and (tmp_path / "p.csv").read_text().startswith("_id,name,")


def test_csv_as_a_new_collection_and_a_large_file_with_progress(docdb_cli, db_path, tmp_path):
    source = tmp_path / "big.csv"
    source.write_text("n,label,blank\n" + "".join(f"{i},{'x' * 40},\n" for i in range(30_000)))
    assert source.stat().st_size > 1 << 20  # the progress bar's threshold
    result = docdb_cli(
        ["import", db_path, source, "--into", "c", "--as", "collection", "--batch-size", "5000"]
    )
    assert result.exit_code == 0, result.output
    assert "30,000 records imported into c (created collection c)" in result.stderr
    conn = docdb.connect(db_path)
    assert conn.collection("c").count_documents({}) == 30_000
    assert conn.collection("c").find_one({"n": 7}, projection={"_id": 0}) == {"n": 7, "label": "x" * 40}
    conn.close()


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
def test_a_table_with_every_type_exports_and_imports_back(conn, tmp_path, fmt):
    columns = {"id": "INTEGER", "r": "REAL", "t": "TEXT", "ok": "BOOLEAN", "b": "BLOB", "j": "JSON"}
    rows = [(1, 1.5, 'a,"b"\nc', True, b"\x00\x01", {"k": [1, None]}), (2, None, "", False, None, [1, "x"])]
    conn.create_table("src", columns, primary_key="id")
    conn.create_table("dst", columns, primary_key="id")
    for row in rows:
        conn.table("src").insert(dict(zip(columns, row)))
    path = tmp_path / f"src.{fmt}"
    with open(path, "w", newline="") as f:
        export(conn, "src", f, fmt)
    report = import_file(conn, str(path), "dst")
    assert report.errors == [] and report.inserted == 2
    expected = rows if fmt != "csv" else [rows[0], (2, None, "", False, None, [1, "x"])]
    assert conn.execute("SELECT * FROM dst ORDER BY id").fetchall() == expected


def test_a_stopped_first_batch_does_not_report_a_target_it_made(conn, tmp_path):
    source = tmp_path / "bad.jsonl"
    source.write_text('{"_id": 1}\nnot json\n')
    report = import_file(conn, str(source), "fresh")
    assert report.stopped and report.inserted == 0 and report.created is None
    assert "fresh" not in conn.collections()


def test_progress_is_reported_for_large_files_only():
    import shell

    with shell._progress(1000) as small:
        assert small is None
    with shell._progress(5 << 20) as advance:
        advance(1 << 20)
        advance(5 << 20)  # positions, not steps: the bar moves by the difference
