"""The output modes: what a person and what another program reads."""

import io
import json

import pytest

from docdb_shell.render import MODES, cell_text, pretty_json

COLUMNS = ["id", "name", "doc"]
ROWS = [(1, "Ada", {"a": [1, 2], "b": "x"}), (22, None, b"\x01"), (3.5, "日本語", [True])]


def _render(mode, columns=COLUMNS, rows=ROWS, headers=True):
    out = io.StringIO()
    MODES[mode](columns, rows, out, headers)
    return out.getvalue()


def test_table_aligns_numbers_right_and_text_left():
    assert _render("table") == (
        "+-----+--------+-------------------------+\n"
        "| id  | name   | doc                     |\n"
        "+-----+--------+-------------------------+\n"
        '|   1 | Ada    | {"a": [1, 2], "b": "x"} |\n'
        "|  22 | NULL   | X'01'                   |\n"
        "| 3.5 | 日本語 | [true]                  |\n"
        "+-----+--------+-------------------------+\n"
    )


def test_box_uses_box_drawing_and_headers_can_be_off():
    text = _render("box", headers=False)
    assert text.startswith("┌") and text.rstrip().endswith("┘")
    assert "name" not in text and "├" not in text


def test_large_documents_are_pretty_printed_over_several_lines():
    doc = {
        "_id": 1,
        "items": [{"sku": "apple", "qty": 3, "price": 1.5}, {"sku": "pear", "qty": 1, "price": 2}],
    }
    text = pretty_json(doc)
    assert text.splitlines()[0] == "{"
    assert json.loads(text) == doc
    assert len(_render("table", ["orders"], [(doc,)]).splitlines()) > 5


def test_json_and_jsonl_are_valid_json_and_documents_stand_alone():
    assert json.loads(_render("json")) == [
        {"id": 1, "name": "Ada", "doc": {"a": [1, 2], "b": "x"}},
        {"id": 22, "name": None, "doc": "X'01'"},
        {"id": 3.5, "name": "日本語", "doc": [True]},
    ]
    lines = _render("jsonl", ["orders"], [({"_id": 1},), ({"_id": 2},)]).splitlines()
    assert [json.loads(line) for line in lines] == [{"_id": 1}, {"_id": 2}]
    assert json.loads(_render("json", rows=[])) == []


def test_csv_quotes_and_writes_null_as_empty():
    assert (
        _render("csv") == 'id,name,doc\n1,Ada,"{""a"":[1,2],""b"":""x""}"\n22,,X\'01\'\n3.5,日本語,[true]\n'
    )


def test_line_mode_one_value_per_line():
    text = _render("line", rows=ROWS[:2])
    assert text.splitlines()[:3] == ["  id = 1", "name = Ada", ' doc = {"a": [1, 2], "b": "x"}']
    assert "\n\n" in text


@pytest.mark.parametrize(
    "value, text",
    [(None, "NULL"), (True, "true"), (1.0, "1.0"), (b"\xff", "X'FF'"), ("x", "x"), ([1, "a"], '[1, "a"]')],
)
def test_cell_text(value, text):
    assert cell_text(value) == text
