"""docdb.models.schema: declarations, strict typing, NOT NULL and defaults."""

import pytest

from docdb.errors import DataError, Error, IntegrityError, ProgrammingError
from docdb.models.schema import TableSchema, parse_column

PEOPLE = TableSchema.define("people", {
    "id": "INTEGER",
    "name": "TEXT NOT NULL",
    "score": "REAL DEFAULT 0",
    "active": "BOOLEAN DEFAULT TRUE",
    "photo": "BLOB",
    "extra": "json default {\"tags\": []}",
    "nick": "TEXT UNIQUE DEFAULT 'it''s me'",
}, primary_key="id")


def test_parsing_declarations():
    assert parse_column("t", "c", "text not null unique").not_null
    column = parse_column("t", "c", "INTEGER DEFAULT -3")
    assert (column.type, column.default, column.not_null) == ("INTEGER", -3, False)
    assert PEOPLE.column("nick").default == "it's me" and PEOPLE.column("nick").unique
    assert PEOPLE.column("id").not_null  # primary key columns are NOT NULL
    assert PEOPLE.primary_key == ("id",)


def test_rows_in_column_order_with_defaults_and_widening():
    row = PEOPLE.check_row({"name": "Ada", "id": 1, "score": 3})
    assert row == (1, "Ada", 3.0, True, None, {"tags": []}, "it's me")
    assert type(row[2]) is float


@pytest.mark.parametrize("row, error, fragment", [
    ({"id": 1, "name": 5}, DataError, "column name is TEXT: cannot store 5"),
    ({"id": True, "name": "x"}, DataError, "column id is INTEGER: cannot store True"),
    ({"id": "1", "name": "x"}, DataError, "column id is INTEGER: cannot store '1'"),
    ({"id": 1, "name": "x", "score": "2.5"}, DataError, "column score is REAL"),
    ({"id": 1, "name": "x", "active": 1}, DataError, "column active is BOOLEAN"),
    ({"id": 1, "name": "x", "photo": "not bytes"}, DataError, "column photo is BLOB"),
    ({"id": 1, "name": "x", "extra": {"s": {1, 2}}}, DataError, "column extra: s is a set"),
    ({"id": 1}, IntegrityError, "column name is NOT NULL"),
    ({"name": "x"}, IntegrityError, "column id is NOT NULL"),
    ({"id": 1, "name": "x", "age": 3}, ProgrammingError, "has no column 'age'"),
])
def test_bad_rows_name_table_column_and_value(row, error, fragment):
    with pytest.raises(error, match=fragment):
        PEOPLE.check_row(row)


def test_changes_are_checked_like_rows():
    row = PEOPLE.check_row({"id": 1, "name": "Ada"})
    assert PEOPLE.check_changes(row, {"score": 2})[2] == 2.0
    with pytest.raises(IntegrityError):
        PEOPLE.check_changes(row, {"name": None})


@pytest.mark.parametrize("columns, primary_key, fragment", [
    ({}, None, "non-empty dict"),
    ({"a": "12"}, None, "cannot read the declaration '12'"),
    ({"a": "TEXT NOT"}, None, "cannot read the declaration 'TEXT NOT'"),
    ({"a": "INTEGER DEFAULT 'x'"}, None, "column a is INTEGER: cannot store 'x'"),
    ({"a": "INTEGER DEFAULT nope"}, None, "cannot read the default"),
    ({"a": "INTEGER"}, "b", "primary key"),
    ({"a": "JSON"}, "a", "cannot be JSON"),
])
def test_bad_definitions(columns, primary_key, fragment):
    with pytest.raises(Error, match=fragment):
        TableSchema.define("t", columns, primary_key)


def test_no_primary_key_means_a_hidden_row_id():
    assert TableSchema.define("log", {"line": "TEXT"}).primary_key == ()


@pytest.mark.parametrize("declared, held", [
    ("INTEGER", "INTEGER"), ("INT", "INTEGER"), ("BIGINT", "INTEGER"), ("VARCHAR", "TEXT"),
    ("TIMESTAMP", "TEXT"), ("DATE", "TEXT"), ("DOUBLE", "REAL"), ("BOOL", "BOOLEAN"),
    ("BLOB", "BLOB"), ("GEOMETRY", "JSON"), ("json", "JSON"),
])
def test_declared_types_keep_their_name_and_hold_a_docdb_type(declared, held):
    column = TableSchema.define("t", {"a": f"{declared} NOT NULL"}).columns[0]
    assert (column.type, column.declared, column.not_null) == (held, declared.upper(), True)
