"""Documented limits, enforced before any work with a docdb error -- never a RecursionError:
values nested deeper than 100 levels (or containing themselves), statements nested deeper
than 200 levels, texts longer than 16 MiB. Long AND / OR chains are not deep."""

import pytest

import docdb
from docdb.models.documents import MAX_NESTING
from query.parser import MAX_DEPTH, MAX_LENGTH


def _nested(levels):
    root = node = {}
    for _ in range(levels):
        node["a"] = {}
        node = node["a"]
    return root


def _self_referencing():
    value = {"x": 1}
    value["me"] = value
    return value


@pytest.fixture
def conn():
    connection = docdb.connect(autocommit=True)
    connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, j JSON)")
    connection.collection("c").insert_one({"_id": 1})
    yield connection
    connection.close()


@pytest.mark.parametrize("make", [lambda: _nested(1000), _self_referencing], ids=["1000 deep", "self"])
def test_values_too_deep_are_refused_everywhere(conn, make):
    value = make()
    with pytest.raises(docdb.DataError, match="nests deeper than 100"):
        conn.collection("c").insert_one(value)
    with pytest.raises(docdb.DataError, match="nests deeper than 100"):
        conn.collection("c").update_one({"_id": 1}, {"$set": {"v": value}})
    with pytest.raises(docdb.DataError, match="nests deeper than 100"):
        conn.table("t").insert({"id": 1, "j": value})
    with pytest.raises(docdb.ProgrammingError, match="nests deeper than 100"):
        conn.execute("INSERT INTO t VALUES (2, ?)", (value,))
    with pytest.raises(docdb.ProgrammingError, match="nests deeper than 100"):
        conn.collection("c").find_one({"v": value})
    assert conn.collection("c").find_one({"_id": 1}) == {"_id": 1}  # nothing changed
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_values_at_the_limit_are_stored(conn):
    value = _nested(MAX_NESTING - 1)  # the document itself is the 100th level
    conn.collection("c").insert_one({"_id": 2, **value})
    assert conn.collection("c").find_one({"_id": 2}) == {"_id": 2, **value}


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT " + "+".join(["1"] * 5000),
        "SELECT " + "[" * 300 + "1" + "]" * 300,
        "SELECT " + "(SELECT " * 300 + "1" + ")" * 300,
        "SELECT " + "CASE WHEN 1 THEN " * 300 + "1" + " END" * 300,
    ],
    ids=["5000 terms", "arrays", "subqueries", "case"],
)
def test_statements_too_deep_are_syntax_errors_with_a_position(conn, sql):
    with pytest.raises(docdb.ProgrammingError, match=f"nests deeper than {MAX_DEPTH} levels") as caught:
        conn.execute(sql)
    assert caught.value.line == 1 and caught.value.column > 1


def test_long_and_or_chains_are_not_deep(conn):
    conn.executemany("INSERT INTO t (id) VALUES (?)", [(i,) for i in range(10)])
    ors = " OR ".join(f"id = {i}" for i in range(3, 5000))
    ands = " AND ".join(f"id <> {i}" for i in range(5, 5000))
    assert conn.execute(f"SELECT count(*) FROM t WHERE {ors}").fetchone() == (7,)
    assert conn.execute(f"SELECT count(*) FROM t WHERE {ands}").fetchone() == (5,)
    assert conn.execute(f"SELECT count(*) FROM t WHERE ({ors}) AND ({ands})").fetchone() == (2,)
    assert conn.execute("SELECT " + "+".join(["1"] * 150)).fetchone() == (150,)


def test_text_too_long(conn):
    with pytest.raises(docdb.ProgrammingError, match="the limit is"):
        conn.execute("SELECT '" + "x" * MAX_LENGTH + "'")


# ----- hostile input: each works, or fails with a docdb error, in bounded time and memory ------


def test_pathological_like_and_glob_patterns_take_linear_time(conn):
    """Patterns that make a backtracking matcher exponential: ``%a%a%...%b`` over a long run
    of ``a``. docdb matches each ``%``-separated piece once, left to right."""
    subject = "a" * 20_000
    assert conn.execute("SELECT ? LIKE ?", (subject, "%a" * 60 + "%b")).fetchone() == (0,)
    assert conn.execute("SELECT ? LIKE ?", (subject, "%a" * 60 + "%")).fetchone() == (1,)
    assert conn.execute("SELECT ? GLOB ?", (subject, "*a" * 60 + "*b")).fetchone() == (0,)
    assert conn.execute("SELECT ? LIKE ?", (subject, "_%" * 5000)).fetchone() == (1,)


def test_long_in_lists(conn):
    conn.executemany("INSERT INTO t (id) VALUES (?)", [(i,) for i in range(50)])
    values = list(range(0, 40_000, 2))
    marks = ",".join("?" * len(values))
    assert conn.execute(f"SELECT count(*) FROM t WHERE id IN ({marks})", values).fetchone() == (25,)
    literals = ",".join(map(str, values))
    assert conn.execute(f"SELECT count(*) FROM t WHERE id NOT IN ({literals})").fetchone() == (25,)


def test_huge_values_round_trip(conn):
    text, blob = "é" * (4 << 20), bytes(range(256)) * (1 << 14)  # 8 MiB of UTF-8, 4 MiB of bytes
    conn.execute("CREATE TABLE b (id INTEGER PRIMARY KEY, x BLOB)")
    conn.execute("INSERT INTO b VALUES (1, ?)", (blob,))
    conn.collection("c").insert_one({"_id": 2, "text": text})
    assert conn.execute("SELECT x FROM b WHERE id = 1").fetchone() == (blob,)
    assert conn.collection("c").find_one({"_id": 2})["text"] == text
    assert conn.execute("SELECT " + "9" * 5000).fetchone()[0] == float("inf")


def test_very_many_columns(conn):
    columns = ", ".join(f"c{i} INTEGER" for i in range(2000))
    conn.execute(f"CREATE TABLE wide ({columns})")
    conn.execute(f"INSERT INTO wide VALUES ({', '.join('?' * 2000)})", list(range(2000)))
    row = conn.execute("SELECT * FROM wide").fetchone()
    assert len(row) == 2000 and row[1999] == 1999


def test_very_long_paths_are_refused_with_a_position(conn):
    path = ".".join(["a"] * 5000)
    with pytest.raises(docdb.ProgrammingError) as caught:
        conn.execute(f"SELECT c.{path} FROM c")
    assert caught.value.line == 1
    assert conn.execute("SELECT c." + ".".join(["a"] * 50) + " FROM c").fetchone() == (None,)


@pytest.mark.parametrize(
    "name", ["../../escape", "a/b", "/etc/passwd", "nul\x00byte", "ünï código", "x" * 250, "CON", ". ."]
)
def test_odd_names_are_names_and_nothing_else(conn, tmp_path, name):
    disk = docdb.connect(str(tmp_path / "db"), autocommit=True)
    quoted = '"' + name.replace('"', '""') + '"'
    try:
        disk.execute(f"CREATE TABLE {quoted} (a INTEGER)")
        disk.execute(f"INSERT INTO {quoted} VALUES (1)")
        disk.collection(name).insert_one({"_id": 1})
    except docdb.Error:  # refusing a name is fine; it must not reach the file system
        pass
    disk.close()
    outside = {p.name for p in tmp_path.iterdir()}
    assert outside == {"db"}
    inside = {p.name for p in (tmp_path / "db" / "objects").iterdir()}
    assert all(n.split("-")[0].isdigit() for n in inside), inside
