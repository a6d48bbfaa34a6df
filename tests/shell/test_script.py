"""Splitting scripts into statements: semicolons in quotes and comments, positions, completeness."""

from hypothesis import given
from hypothesis import strategies as st

from docdb_shell.script import has_statement, is_complete, split_statements


def test_semicolons_inside_quotes_and_comments_do_not_split():
    text = "SELECT 'a;b', \"c;d\", `e;f` -- g;h\n; /* i; */ SELECT 2;"
    pieces, rest = split_statements(text)
    assert [p.text for p in pieces] == ["SELECT 'a;b', \"c;d\", `e;f` -- g;h\n", " /* i; */ SELECT 2"]
    assert rest.text == ""


def test_doubled_quotes_stay_inside_the_string():
    pieces, _ = split_statements("SELECT 'it''s; fine'; SELECT 1;")
    assert [p.text.strip() for p in pieces] == ["SELECT 'it''s; fine'", "SELECT 1"]


def test_positions_are_lines_and_columns_of_the_script():
    pieces, rest = split_statements("SELECT 1; SELECT\n  2;\n\nSELECT 3", line=10)
    assert (pieces[0].line, pieces[0].column) == (10, 1)
    assert (pieces[1].line, pieces[1].column) == (10, 10)
    assert (rest.line, rest.column) == (11, 5)
    assert pieces[1].position(2, 3) == (11, 3)  # line 2 of the piece
    assert pieces[1].position(1, 2) == (10, 11)  # line 1: shifted by where the piece starts


def test_empty_statements_and_comments_are_left_out():
    pieces, rest = split_statements(";;  -- nothing\n; /* x */ ;")
    assert pieces == [] and not has_statement(rest.text)


def test_completeness():
    assert is_complete("SELECT 1;")
    assert is_complete("SELECT 1;  -- trailing comment")
    assert is_complete("")
    assert not is_complete("SELECT 1")
    assert not is_complete("SELECT 'a;")
    assert not is_complete("SELECT 1; /* open comment ;")
    assert not is_complete("SELECT 1; SELECT 2")


_chunk = st.sampled_from(["SELECT 1", "'a;b'", '"x;y"', "-- c;\n", "/* d; */", " ", "\n", "x", "''"])


@given(st.lists(st.lists(_chunk, max_size=5).map("".join), max_size=6))
def test_statements_joined_by_semicolons_split_back(statements):
    """Any statements made of safe chunks, joined with ';', split back into the same texts."""
    text = ";".join(statements) + ";"
    pieces, rest = split_statements(text)
    assert [p.text for p in pieces] == [s for s in statements if has_statement(s)]
    assert rest.text == ""  # nothing after the last ";"
    assert (rest.line, rest.column) == (text.count("\n") + 1, len(text.split("\n")[-1]) + 1)
