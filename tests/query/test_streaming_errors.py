"""Failures that surface while a statement's rows are being read are docdb errors too.

A plan streams its rows, so most of a SELECT's work -- and most of what can go wrong in
it -- happens in ``fetchone``/``fetchmany``/``fetchall`` or iteration, after ``execute``
returned. A bug there (an injected ``KeyError`` in the row decoder) is ``InternalError``
with its cause attached, a failing disk is ``OperationalError``, a docdb error stays as
it is, a storage error is its PEP 249 class (damage ``DatabaseError``, the rest
``OperationalError``), and an exception from the caller's own ``row_factory`` is the
caller's.
"""

from __future__ import annotations

import pytest

import docdb
import storage
from docdb.models.table import Table


@pytest.fixture
def conn(tmp_path):
    conn = docdb.connect(str(tmp_path / "db"), autocommit=True)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER)")
    conn.executemany("INSERT INTO t (a) VALUES (?)", [(i,) for i in range(50)])
    yield conn
    conn.close()


def fail_after(monkeypatch, exception: Exception, good_rows: int = 3) -> None:
    """The table's row decoder raises ``exception`` after ``good_rows`` rows."""
    real = Table._decode
    seen = [0]

    def decode(self, schema, raw):
        seen[0] += 1
        if seen[0] > good_rows:
            raise exception
        return real(self, schema, raw)

    def decode_batch(self, schema, raws):  # a scan decodes a list at a time
        return [decode(self, schema, raw) for raw in raws]

    monkeypatch.setattr(Table, "_decode", decode)
    monkeypatch.setattr(Table, "_decode_batch", decode_batch)


READS = {
    "fetchall": lambda cur: cur.fetchall(),
    "fetchmany": lambda cur: [cur.fetchmany(2) for _ in range(10)],
    "fetchone": lambda cur: [cur.fetchone() for _ in range(10)],
    "iteration": lambda cur: list(cur),
}


@pytest.mark.parametrize("read", list(READS))
def test_a_bug_while_rows_stream_is_internal_error(conn, monkeypatch, read):
    fail_after(monkeypatch, KeyError("boom"))
    cur = conn.execute("SELECT a FROM t WHERE a >= 0")
    with pytest.raises(docdb.InternalError) as caught:
        READS[read](cur)
    assert isinstance(caught.value.__cause__, KeyError)
    assert "KeyError" in str(caught.value)


def test_a_disk_failure_while_rows_stream_is_operational_error(conn, monkeypatch):
    fail_after(monkeypatch, OSError(5, "Input/output error"))
    with pytest.raises(docdb.OperationalError, match="disk I/O error"):
        conn.execute("SELECT a FROM t").fetchall()


def test_executemany_and_executescript_translate_what_their_statements_raise(conn, monkeypatch):
    fail_after(monkeypatch, KeyError("boom"), good_rows=0)
    with pytest.raises(docdb.InternalError):
        conn.executemany("UPDATE t SET a = a + 1 WHERE id = ?", [(1,), (2,)])
    with pytest.raises(docdb.InternalError):
        conn.executescript("UPDATE t SET a = a + 1; SELECT 1;")
    monkeypatch.undo()
    assert conn.execute("SELECT sum(a) FROM t").fetchone() == (sum(range(50)),)  # nothing half done


def test_docdb_errors_and_the_callers_own_exceptions_pass_unchanged(conn, monkeypatch):
    error = docdb.DataError("a docdb error raised while rows stream")
    fail_after(monkeypatch, error)
    with pytest.raises(docdb.DataError) as caught:
        list(conn.execute("SELECT a FROM t"))
    assert caught.value is error
    monkeypatch.undo()

    def factory(cursor, row):
        raise LookupError("the caller's")

    conn.row_factory = factory
    with pytest.raises(LookupError, match="the caller's"):
        conn.execute("SELECT a FROM t").fetchall()


@pytest.mark.parametrize(("raised", "expected"), [
    (storage.CorruptionError("block checksum mismatch", "x.sst", 40), docdb.DatabaseError),
    (storage.StorageError("background work failed"), docdb.OperationalError),
])
def test_storage_errors_surface_as_their_pep249_classes(conn, monkeypatch, raised, expected):
    fail_after(monkeypatch, raised)
    with pytest.raises(expected) as caught:
        conn.execute("SELECT a FROM t").fetchall()
    assert caught.value.__cause__ is raised
    fail_after(monkeypatch, raised, good_rows=0)
    with pytest.raises(expected):
        conn.execute("UPDATE t SET a = a + 1")
