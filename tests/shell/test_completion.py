"""Completion in the shell: keywords, dot-commands, object names, columns and document fields."""

import io

import pytest
from prompt_toolkit.document import Document

from docdb_shell.demo import load_demo
from docdb_shell.repl import SchemaCompleter
from docdb_shell.session import Session


@pytest.fixture
def completer():
    session = Session(None, out=io.StringIO(), err=io.StringIO())
    load_demo(session.conn)
    yield SchemaCompleter(session)
    session.close()


def _words(completer, text):
    """Completions with the cursor at ``|`` (or at the end)."""
    cursor = text.index("|") if "|" in text else len(text)
    document = Document(text.replace("|", ""), cursor_position=cursor)
    return [c.text for c in completer.get_completions(document, None)]


def test_keywords_and_dot_commands(completer):
    assert "SELECT" in _words(completer, "SEL")
    assert _words(completer, ".ta") == [".tables"]
    assert set(_words(completer, ".s")) == {".schema"}


def test_object_names_after_from_and_join(completer):
    assert _words(completer, "SELECT * FROM cu") == ["customers"]
    assert _words(completer, "SELECT * FROM customers c JOIN or") == ["orders"]


def test_columns_of_a_table_through_its_alias(completer):
    assert set(_words(completer, "SELECT c.| FROM customers c")) == {"id", "name", "email", "city"}
    assert _words(completer, "SELECT c.em| FROM customers c") == ["email"]


def test_fields_of_a_collection_nested_paths_too(completer):
    fields = _words(completer, "SELECT o.s| FROM orders o")
    assert "status" in fields and "ship_to" in fields and "ship_to.city" in fields
    assert _words(completer, "SELECT o.ship_to.c| FROM orders o") == ["city"]
    assert "sku" in _words(completer, "SELECT orders.items.s| FROM orders")


def test_columns_of_named_tables_come_first(completer):
    words = _words(completer, "SELECT ci| FROM customers")
    assert words[0] == "city"


def test_schema_changes_are_seen(completer):
    from docdb_shell.script import Piece

    completer.session.run(Piece("CREATE TABLE zebra (stripes INTEGER)", 1, 1))
    assert _words(completer, "SELECT * FROM zeb") == ["zebra"]
    assert _words(completer, "SELECT z.st| FROM zebra z") == ["stripes"]
