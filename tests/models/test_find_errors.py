"""A failure while find()'s documents are read is a PEP 249 error: a bug (a KeyError inside)
becomes InternalError, storage damage DatabaseError -- never the bare exception."""

from __future__ import annotations

import pytest

import docdb
from docdb.models import cursor as cursor_module
from storage.errors import CorruptionError


@pytest.mark.parametrize(("raised", "expected"), [(KeyError("x"), docdb.InternalError),
                                                  (CorruptionError("bad block"), docdb.DatabaseError)])
def test_a_failure_while_documents_stream_is_a_pep_249_error(monkeypatch, raised, expected):
    conn = docdb.connect(":memory:", cache_size=0)  # the path that decodes as it reads
    conn.collection("c").insert_many([{"a": i} for i in range(5)])

    def broken(data):
        raise raised
    monkeypatch.setattr(cursor_module, "decode_document", broken)
    with pytest.raises(expected) as caught:
        list(conn.collection("c").find({"a": {"$gte": 0}}))
    assert caught.value.__cause__ is raised
    with pytest.raises(expected):
        next(iter(conn.collection("c").find()))


def test_docdb_errors_pass_as_they_are():
    conn = docdb.connect(":memory:")
    with pytest.raises(docdb.ProgrammingError):
        list(conn.collection("c").find().skip(-1))
