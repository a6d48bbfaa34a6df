"""Every ``docdb`` command and dot-command, through click's CliRunner (standard input is not a
terminal here, so ``docdb shell`` runs what it reads, as sqlite3 does)."""

import json

import docdb


def _make(path, script):
    conn = docdb.connect(path, autocommit=True)
    conn.executescript(script)
    conn.close()


SHOP = """
    CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL);
    INSERT INTO t VALUES (1, 'ann', 1.5), (2, 'bob', 2.5);
    CREATE COLLECTION c;
    INSERT INTO c VALUE {'_id': 1, 'tags': ['x'], 'who': {'name': 'ann'}};
    CREATE INDEX c_who ON c (who.name);
"""


# ----- docdb shell with piped input ----------------------------------------------------------


def test_piped_shell_prints_results_and_no_prompts(docdb_cli, db_path):
    _make(db_path, SHOP)
    result = docdb_cli(["shell", db_path], input=".mode csv\nSELECT id, name FROM t\n ORDER BY id;\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == "id,name\n1,ann\n2,bob\n"


def test_piped_shell_reports_errors_on_stderr_goes_on_and_exits_1(docdb_cli, db_path):
    _make(db_path, SHOP)
    result = docdb_cli(["shell", db_path], input=".mode csv\nSELECT nope FROM t;\nSELEC 1;\nSELECT 2 AS x;\n")
    assert result.exit_code == 1
    assert result.stdout == "x\n2\n"
    assert "line 2, column 1: ProgrammingError: no such column: nope" in result.stderr
    assert "line 3, column 1: syntax error" in result.stderr and "^" in result.stderr


def test_shell_autocommits_and_rolls_back_an_open_transaction_on_exit(docdb_cli, db_path):
    _make(db_path, SHOP)
    result = docdb_cli(
        ["shell", db_path],
        input=(
            "INSERT INTO t VALUES (3, 'cy', NULL);\n"  # autocommit: kept
            "BEGIN;\nINSERT INTO t VALUES (4, 'di', NULL);\n"  # left open: rolled back
        ),
    )
    assert result.exit_code == 0
    assert "rolled back" in result.stderr
    conn = docdb.connect(db_path)
    assert [r[0] for r in conn.execute("SELECT id FROM t ORDER BY id")] == [1, 2, 3]
    conn.close()


def test_error_inside_a_transaction_keeps_the_transaction(docdb_cli, db_path):
    _make(db_path, SHOP)
    result = docdb_cli(
        ["shell", db_path],
        input=(
            "BEGIN;\nINSERT INTO t VALUES (5, 'ed', NULL);\nINSERT INTO t VALUES (5, 'dup', NULL);\nCOMMIT;\n"
        ),
    )
    assert result.exit_code == 1 and "IntegrityError" in result.stderr
    conn = docdb.connect(db_path)
    assert conn.execute("SELECT name FROM t WHERE id = 5").fetchall() == [("ed",)]
    conn.close()


def test_demo_loads_and_its_examples_run(docdb_cli):
    from docdb_shell.demo import EXAMPLES

    script = ".mode jsonl\n" + "\n".join(query for _title, query in EXAMPLES) + "\n"
    result = docdb_cli(["shell", "--demo"], input=script)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert {"id": 1, "name": "Ada Lovelace", "email": "ada@example.com"} in rows
    assert any("spent" in row for row in rows) and any("sku" in row for row in rows)


# ----- dot-commands --------------------------------------------------------------------------


def _shell(docdb_cli, db_path, script):
    _make(db_path, SHOP)
    return docdb_cli(["shell", db_path], input=script)


def test_tables_collections_schema_indexes(docdb_cli, db_path):
    result = _shell(
        docdb_cli, db_path, ".tables\n.collections\n.schema t\n.schema c\n.mode csv\n.indexes c\n"
    )
    assert result.exit_code == 0, result.output
    out = result.stdout.splitlines()
    assert out[0] == "t" and out[1] == "c"
    assert "CREATE TABLE t (id INTEGER, name TEXT NOT NULL, score REAL, PRIMARY KEY (id)) USING lsm;" in out
    assert "CREATE COLLECTION c USING lsm;" in out and "CREATE INDEX c_who ON c (who.name);" in out
    assert any(line.startswith("--   who.name") and "text" in line for line in out)
    assert "c_who,c,who.name,false" in out


def test_mode_headers_maxrows_timer_explain(docdb_cli, db_path):
    result = _shell(
        docdb_cli,
        db_path,
        ".mode line\nSELECT id FROM t WHERE id = 1;\n.mode csv\n.headers off\n"
        ".maxrows 1\nSELECT id FROM t ORDER BY id;\n.maxrows 0\n.timer on\nSELECT 7;\n.timer off\n"
        ".explain on\nSELECT name FROM t WHERE id = 2;\n.mode\n",
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "id = 1"
    assert "1" in lines and "(1 of 2 rows shown; .maxrows 0 shows all)" in lines and "2" not in lines[:4]
    assert "7" in lines and any(line.startswith("Run Time: ") for line in lines)
    assert any("SEARCH TABLE t" in line for line in lines) and "bob" in lines
    assert lines[-1] == "current output mode: csv"


def test_bad_dot_commands_suggest_and_explain_their_usage(docdb_cli, db_path):
    result = _shell(
        docdb_cli, db_path, ".tabels\n.mode nope\n.headers maybe\n.maxrows x\n.schema nope\n.help\n"
    )
    assert result.exit_code == 1
    assert "unknown command .tabels; did you mean .tables?" in result.stderr
    assert "unknown mode 'nope'" in result.stderr and "expected on or off" in result.stderr
    assert (
        "expected a number" in result.stderr and "no table, collection or view named 'nope'" in result.stderr
    )
    assert ".import FILE NAME" in result.stdout and ".quit" in result.stdout


def test_output_read_import_export_dump_open_quit(docdb_cli, db_path, tmp_path):
    script = tmp_path / "s.sql"
    script.write_text(
        "INSERT INTO t VALUES (9, 'from script', NULL);\n.mode csv\nSELECT name FROM t WHERE id = 9;\n"
    )
    (tmp_path / "in.jsonl").write_text('{"k": 1}\n{"k": 2}\n')
    out, exported, dumped, other = (tmp_path / n for n in ("out.txt", "e.csv", "d.sql", "other"))
    result = _shell(
        docdb_cli,
        db_path,
        f".output {out}\nSELECT 42 AS x;\n.output\n.read {script}\n"
        f".import {tmp_path / 'in.jsonl'} imported\n.export t {exported}\n.output {dumped}\n.dump t\n"
        f".output\n.open {other}\n.tables\n.quit\nSELECT 'not run';\n",
    )
    assert result.exit_code == 0, result.output
    assert "42" in out.read_text() and "from script" in result.stdout
    assert "2 records imported into the new collection imported" in result.stdout
    assert exported.read_text().splitlines()[0] == "id,name,score"
    assert "INSERT INTO t VALUES (9, 'from script', NULL);" in dumped.read_text()
    assert "not run" not in result.stdout
    conn = docdb.connect(str(other))
    assert conn.tables() == []
    conn.close()


# ----- docdb run -----------------------------------------------------------------------------


def test_run_stops_at_the_first_error_with_file_line_column(docdb_cli, db_path, tmp_path):
    script = tmp_path / "load.sql"
    script.write_text(
        "CREATE TABLE u (a INTEGER);\nINSERT INTO u VALUES (1);\n\nINSERT INTO u\n  VALUES (2,;\n"
        "INSERT INTO u VALUES (3);\n"
    )
    result = docdb_cli(["run", db_path, script])
    assert result.exit_code == 1
    assert f"{script}:5:12: syntax error" in result.stderr
    assert "  VALUES (2," in result.stderr
    conn = docdb.connect(db_path)
    assert conn.execute("SELECT a FROM u").fetchall() == [(1,)]
    conn.close()


def test_run_continue_echo_and_stdin(docdb_cli, db_path, tmp_path):
    script = tmp_path / "a.sql"
    script.write_text("CREATE TABLE u (a INTEGER);\nINSERT INTO u VALUES ('x');\nINSERT INTO u VALUES (2);\n")
    result = docdb_cli(
        ["run", "--continue", "--echo", db_path, script, "-"], input="SELECT count(*) AS n FROM u;"
    )
    assert result.exit_code == 1
    assert f"{script}:2:1: DataError" in result.stderr
    assert "INSERT INTO u VALUES (2);" in result.stdout and "| 1 |" in result.stdout


def test_run_missing_script(docdb_cli, db_path):
    result = docdb_cli(["run", db_path, "/no/such/script.sql"])
    assert result.exit_code == 1 and "cannot read /no/such/script.sql" in result.output


# ----- docdb query ---------------------------------------------------------------------------


def test_query_formats_and_parameters(docdb_cli, db_path):
    _make(db_path, SHOP)
    select = "SELECT id, name FROM t WHERE id >= :low ORDER BY id"
    assert json.loads(docdb_cli(["query", db_path, select, "-p", "low", "2"]).stdout) == [
        {"id": 2, "name": "bob"}
    ]
    jsonl = docdb_cli(["query", db_path, select, "--jsonl", "-p", "low", "1"]).stdout
    assert [json.loads(line)["name"] for line in jsonl.splitlines()] == ["ann", "bob"]
    assert (
        docdb_cli(["query", db_path, select, "--csv", "-p", "low", "1"]).stdout == "id,name\n1,ann\n2,bob\n"
    )
    docs = docdb_cli(["query", db_path, "SELECT * FROM c"]).stdout
    assert json.loads(docs) == [{"_id": 1, "tags": ["x"], "who": {"name": "ann"}}]
    changed = docdb_cli(["query", db_path, "UPDATE t SET score = 0 WHERE name = :n", "-p", "n", "ann"])
    assert json.loads(changed.stdout) == [{"rows_affected": 1}]


def test_query_errors(docdb_cli, db_path):
    _make(db_path, SHOP)
    result = docdb_cli(["query", db_path, "SELEC 1"])
    assert result.exit_code == 1 and "syntax error" in result.stderr


# ----- stats and compact ---------------------------------------------------------------------


def test_stats_and_compact(docdb_cli, db_path):
    _make(db_path, SHOP + "DELETE FROM t WHERE id = 1; UPDATE t SET score = 9;")
    result = docdb_cli(["stats", db_path])
    assert result.exit_code == 0, result.output
    assert "rows/documents" in result.stdout and "| t " in result.stdout and "collection" in result.stdout
    figures = json.loads(docdb_cli(["stats", "--json", db_path]).stdout)
    table = next(o for o in figures["objects"] if o["name"] == "t")
    assert table["entries"] == 1 and table["engine"] == "lsm" and table["indexes"] == 0
    compacted = docdb_cli(["compact", db_path])
    assert compacted.exit_code == 0 and "compacted" in compacted.stdout
    after = json.loads(docdb_cli(["stats", "--json", db_path]).stdout)
    compacted_table = next(o for o in after["objects"] if o["name"] == "t")
    # what is left is one table file's own overhead (its index and bloom filter), and no log
    assert compacted_table["entries"] == 1 and compacted_table["dead_bytes"] < 1024
    assert after["log_bytes"] == 0


def test_read_only_commands_refuse_a_missing_database(docdb_cli, tmp_path):
    for args in (["stats"], ["compact"], ["dump"], ["export", "--format", "csv"]):
        result = docdb_cli([args[0], tmp_path / "nope", *args[1:], *(["x"] if args[0] == "export" else [])])
        assert result.exit_code == 2 and "does not exist" in result.output
