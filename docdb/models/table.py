"""Tables: typed rows under their primary key, with UNIQUE columns and secondary indexes.

Row format: the values in column order as a JSON array (orjson: fast to read,
and a row needs no order), or -- for a row JSON cannot hold exactly: a blob, an
infinity, an integer beyond 64 bits -- ``keycode.encode_tuple`` of them, with a
JSON column's value as its orjson bytes. The first byte tells them apart (``[``
is no keycode type byte). A row shorter than the schema (written before a
column was added) reads the missing columns as their defaults. Key: the encoded
primary key, or for a table without one a hidden row id, one more than the
largest in the table (as SQLite's rowid).

A UNIQUE column is a unique index named ``<column>_unique``; as in SQL, NULLs
never collide. Every method is one statement of the session's transaction.
May import: the standard library, ``orjson`` and ``docdb.models``.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator
from typing import Any

import orjson

from docdb.errors import DataError, IntegrityError, ProgrammingError
from docdb.models import keycode
from docdb.models.catalog import SEQUENCE_PREFIX, SYSTEM, edited
from docdb.models.constraints import Rules, normalized_checks, normalized_foreign_keys, rules_for
from docdb.models.gcpause import without_collection
from docdb.models.index import Access, choose
from docdb.models.objects import (
    Session,
    add_index,
    check_name,
    create_object,
    index_fields,
    read_access,
    remove_index,
    update_entry,
    write_indexes,
)
from docdb.models.schema import TableSchema, TimeDefault, check_value, parse_column
from docdb.models.txn import Transaction
from storage.batches import chunked

PRIMARY = "PRIMARY"


UNIQUE_SUFFIX = "_unique"


def constraint_indexes(schema: TableSchema) -> list[str]:
    """The indexes CREATE TABLE makes for its UNIQUE columns (not one that is the whole
    primary key, which is unique already): ``<column>_unique``."""
    return [column.name + UNIQUE_SUFFIX for column in schema.columns
            if column.unique and schema.primary_key != (column.name,)]


def sequence_key(store: int) -> bytes:
    """Where an AUTOINCREMENT table's largest id ever used is kept, in the system store (as
    SQLite's sqlite_sequence): by store id, so a rename keeps it and a drop leaves it unread."""
    return SEQUENCE_PREFIX + str(store).encode()
_INFINITIES = (float("inf"), float("-inf"))


def create_table(txn: Transaction, name: str, columns: dict, primary_key: Any, engine: str,
                 autoincrement: bool = False, checks: Any = None, foreign_keys: Any = None) -> None:
    schema = TableSchema.define(check_name(name, "table"), columns, primary_key)
    extra: dict[str, Any] = {"columns": dict(columns), "primary_key": list(schema.primary_key)}
    names = [c.name for c in schema.columns]
    if checks:
        extra["checks"] = normalized_checks(name, names, checks)
    if foreign_keys:
        extra["foreign_keys"] = normalized_foreign_keys(name, names, foreign_keys)
    if autoincrement:
        if schema.rowid_column is None:
            raise ProgrammingError(f"table {name}: AUTOINCREMENT is only allowed on an INTEGER PRIMARY KEY")
        extra["autoincrement"] = True
    entry = create_object(txn, name, "table", engine, **extra)
    for name in constraint_indexes(schema):
        column = name[: -len(UNIQUE_SUFFIX)]
        entry = add_index(txn, entry, name, [[column, 1]], True)


class Table:
    def __init__(self, session: Session, name: str):
        self._session = session
        self.name = check_name(name, "table")
        self._schema: tuple[dict, TableSchema] | None = None
        self._rules: tuple[dict, Rules] | None = None
        self._others: dict[str, Table] = {}  # the tables its keys refer to or are referred by (schemas kept)
        self._parent_keys: dict[tuple, tuple] = {}  # (entry, columns) -> (entry, key columns, is primary)

    def __repr__(self) -> str:
        return f"Table({self.name!r})"

    # ----- schema and encoding ------------------------------------------------------------

    def _entry(self, reader: Any) -> dict:
        return reader.catalog.require(self.name, "table")

    def schema_of(self, entry: dict) -> TableSchema:
        if self._schema is None or self._schema[0] is not entry:
            self._schema = (entry, _parsed_schema(self.name, entry))
        return self._schema[1]

    def record_reader(self, entry: dict) -> tuple[Any, Any]:
        """(decode(raw) -> row, values_of(fields, row)): how this table reads its stored rows
        and what its indexes hold of one (``docdb.models.check``)."""
        schema = self.schema_of(entry)
        return (lambda raw: self._decode(schema, raw)), self._values_of(schema)

    @property
    def columns(self) -> list[str]:
        return [c.name for c in self.schema_of(self._entry(self._session.reading())).columns]

    def _encode(self, schema: TableSchema, row: tuple) -> bytes:
        if not any(type(v) is bytes or (type(v) is float and (v in _INFINITIES or v != v)) for v in row):
            try:  # the fast form: a JSON array (big ints and bad text fall back to keycode)
                return orjson.dumps(row)
            except orjson.JSONEncodeError:
                pass
        stored = [orjson.dumps(v) if c.type == "JSON" and v is not None else v
                  for c, v in zip(schema.columns, row)]
        try:
            return keycode.encode_tuple(stored)
        except ValueError as error:
            raise DataError(f"table {self.name}: {error}") from None

    def _decode(self, schema: TableSchema, raw: bytes) -> tuple:
        if raw[:1] == b"[":
            values = orjson.loads(raw)
            if len(values) == len(schema.columns):
                return tuple(values)
        else:
            values = list(keycode.decode_tuple(raw))
            for i, column in enumerate(schema.columns):
                if i < len(values) and column.type == "JSON" and values[i] is not None:
                    values[i] = orjson.loads(values[i])
        for column in schema.columns[len(values):]:  # columns added after the row was written
            values.append(column.default if column.has_default else None)
        return tuple(values)

    @without_collection
    def _decode_batch(self, schema: TableSchema, raws: list[bytes]) -> list[tuple]:
        """``_decode`` of each: rows that are all JSON arrays of the schema's width (the
        usual case) in one orjson call for the list."""
        if all(map(bytes.startswith, raws, itertools.repeat(b"["))):
            values = orjson.loads(b"[" + b",".join(raws) + b"]")
            if set(map(len, values)) <= {len(schema.columns)}:
                return list(map(tuple, values))
        return [self._decode(schema, raw) for raw in raws]

    def _as_dict(self, schema: TableSchema, row: tuple) -> dict:
        return {c.name: v for c, v in zip(schema.columns, row)}

    def _key(self, schema: TableSchema, row: tuple) -> bytes:
        names = [c.name for c in schema.columns]
        return keycode.encode_tuple([row[names.index(k)] for k in schema.primary_key])

    def _pk_key(self, schema: TableSchema, pk: Any) -> bytes:
        """The key of the row whose primary key (or hidden row id) is ``pk``."""
        if type(pk) is int and len(schema.primary_key) == 1 and \
                schema.column(schema.primary_key[0]).type == "INTEGER":
            return keycode.encode_tuple((pk,))  # the usual key: nothing to check or widen
        values = list(pk) if isinstance(pk, (tuple, list)) else [pk]
        width = len(schema.primary_key) or 1
        if len(values) != width:
            raise ProgrammingError(f"table {self.name}: a key here has {width} value(s), got {pk!r:.80}")
        if schema.primary_key:
            values = [check_value(self.name, schema.column(k), v) for k, v in zip(schema.primary_key, values)]
        try:
            return keycode.encode_tuple(values)
        except ValueError as error:
            raise DataError(f"table {self.name}: {error}") from None

    def _pk_of(self, schema: TableSchema, key: bytes) -> Any:
        values = keycode.decode_tuple(key)
        return values[0] if len(values) == 1 else values

    # ----- writes ---------------------------------------------------------------------

    def _values_of(self, schema: TableSchema):
        names = [c.name for c in schema.columns]

        def values(fields: list[str], row: tuple) -> list[list[Any]]:
            return [[row[names.index(f)]] for f in fields]
        return values

    def _write(self, txn: Transaction, entry: dict, key: bytes, old: tuple | None, new: tuple | None,
               was: tuple | None | bool = True) -> None:
        """Every row write of the table: its CHECKs and foreign keys first, the row and its
        index entries, then what the change does to rows of tables referencing this one --
        judged from ``was``, the row before the statement changed it (True: ``old``; False:
        the children are answered by another write, as when an update moves a row's key)."""
        schema = self.schema_of(entry)
        if new is not None and ("checks" in entry or "foreign_keys" in entry):
            rules = self.rules_of(entry)
            rules.check_row(self.name, [c.name for c in schema.columns], new)
            for foreign_key in rules.foreign_keys:
                self._check_parent(txn, schema, foreign_key, old, new)
        write_indexes(txn, entry, key, old, new, self._values_of(schema),
                      lambda values: any(v is None for vs in values for v in vs))
        txn.put(entry["id"], key, self._encode(schema, new) if new is not None else None)
        if new is None:
            txn.next_rowids.pop(entry["id"], None)  # the largest row id may be gone
        before = old if was is True else was or None
        if before is not None:
            for child, foreign_key in txn.catalog.referencing(self.name):
                self._change_children(txn, entry, child, foreign_key, before, new)

    def _other(self, name: str) -> Table:
        """Another table of the session, kept so its parsed schema is too."""
        table = self._others.get(name)
        if table is None:
            table = self._others[name] = Table(self._session, name)
        return table

    def rules_of(self, entry: dict) -> Rules:
        """The CHECKs (compiled) and foreign keys of this version of the table's entry."""
        if self._rules is None or self._rules[0] is not entry:
            columns = [c.name for c in self.schema_of(entry).columns]
            self._rules = (entry, rules_for(self.name, columns, entry))
        return self._rules[1]

    def _check_parent(self, txn: Transaction, schema: TableSchema, foreign_key: dict, old: tuple | None,
                      new: tuple) -> None:
        """A child row's key must name a parent row -- unless a part of it is NULL, or an
        update left it as it was."""
        names = [c.name for c in schema.columns]
        values = [new[names.index(c)] for c in foreign_key["columns"]]
        if any(v is None for v in values) or (
                old is not None and values == [old[names.index(c)] for c in foreign_key["columns"]]):
            return
        parent = foreign_key["parent"]
        if (txn.catalog.get(parent) or {}).get("kind") != "table":
            raise IntegrityError(f"FOREIGN KEY constraint failed: table {self.name} references {parent}, "
                                 "which is no table")
        if not self._other(parent).holds_key(txn, foreign_key["parent_columns"], values, self.name):
            shown = ", ".join(f"{c} = {v!r:.60}" for c, v in zip(foreign_key["columns"], values))
            raise IntegrityError(f"FOREIGN KEY constraint failed{_label(foreign_key)}: table {self.name} "
                                 f"({shown}) has no row in {parent} to refer to")

    def holds_key(self, reader: Any, columns: list[str], values: list, child: str) -> bool:
        """Whether a row's ``columns`` (empty: the primary key) equal ``values``; the columns
        must be the primary key or have a UNIQUE index, as SQLite requires of a parent key."""
        entry = self._entry(reader)
        schema = self.schema_of(entry)
        columns, whole = self._key_columns(entry, columns, child)
        if whole:
            try:
                key = self._pk_key(schema, values)
            except (DataError, ProgrammingError):
                return False  # a value the key's type cannot hold: no row has it
            return reader.get(entry["id"], key) is not None
        try:
            return next(self._matching(dict(zip(columns, values)))[1], None) is not None
        except DataError:
            return False

    def _key_columns(self, entry: dict, columns: list[str], child: str) -> tuple[list[str], bool]:
        """(the columns a foreign key into this version of the table names -- given, or the
        primary key --, whether they are the primary key); "foreign key mismatch" unless they
        are the primary key or UNIQUE. Kept per entry: a write asks for every row."""
        known = self._parent_keys.get((id(entry), tuple(columns)))
        if known is not None and known[0] is entry:
            return known[1], known[2]
        schema = self.schema_of(entry)
        chosen = list(columns) or list(schema.primary_key)
        folded = [c.lower() for c in chosen]
        whole = folded == [k.lower() for k in schema.primary_key]
        unique = [[f.lower() for f in index_fields(ix)] for ix in entry["indexes"].values()
                  if ix.get("unique")]
        if not chosen or (not whole and folded not in unique):
            raise ProgrammingError(f'foreign key mismatch - "{child}" referencing "{self.name}"')
        self._parent_keys[(id(entry), tuple(columns))] = (entry, chosen, whole)
        return chosen, whole

    def _change_children(self, txn: Transaction, entry: dict, child: str, foreign_key: dict,
                         old: tuple, new: tuple | None) -> None:
        """A parent row deleted, or its key changed: the referencing rows of ``child`` are
        refused (NO ACTION, RESTRICT), follow (CASCADE), or lose their key (SET NULL, SET DEFAULT)."""
        names = [c.name.lower() for c in self.schema_of(entry).columns]
        columns, _ = self._key_columns(entry, foreign_key["parent_columns"], child)
        before = [old[names.index(c.lower())] for c in columns]
        after = None if new is None else [new[names.index(c.lower())] for c in columns]
        if any(v is None for v in before) or before == after:
            return
        action = foreign_key["on_delete" if new is None else "on_update"]
        table = self._other(child)
        try:
            referring = [pk for pk, _ in table._matching(dict(zip(foreign_key["columns"], before)))[1]]
        except DataError:
            return  # a value the child's column cannot hold: no child has it
        if not referring:
            return
        if action in ("NO ACTION", "RESTRICT"):
            shown = ", ".join(f"{c} = {v!r:.60}" for c, v in zip(columns, before))
            raise IntegrityError(f"FOREIGN KEY constraint failed{_label(foreign_key)}: {len(referring)} "
                                 f"row(s) of {child} still refer to the row of {self.name} with {shown}")
        for pk in referring:
            if action == "CASCADE" and new is None:
                table.delete(pk)
            elif action == "CASCADE":
                table.update(pk, dict(zip(foreign_key["columns"], after or ())))
            else:
                child_schema = table.schema()
                values = [_default(child_schema.column(c)) if action == "SET DEFAULT" else None
                          for c in foreign_key["columns"]]
                table.update(pk, dict(zip(foreign_key["columns"], values)))
                parent_columns = foreign_key["parent_columns"]
                if None not in values and not self.holds_key(txn, parent_columns, values, child):
                    raise IntegrityError(f"FOREIGN KEY constraint failed{_label(foreign_key)}: the default "
                                         f"{values!r:.60} of {child} names no row of {self.name}")

    def _next_rowid(self, txn: Transaction, entry: dict) -> int:
        """The largest row id (or INTEGER PRIMARY KEY) + 1; with AUTOINCREMENT, also above any
        id the table ever held (its high-water mark, kept in the system store)."""
        store = entry["id"]
        rowid = txn.next_rowids.get(store)
        if rowid is None:
            last = next(iter(txn.scan(store, reverse=True)), None)
            rowid = keycode.decode_tuple(last[0])[0] + 1 if last else 1
            if entry.get("autoincrement"):
                mark = txn.get(SYSTEM, sequence_key(store))
                rowid = max(rowid, int(mark) + 1) if mark is not None else rowid
        txn.next_rowids[store] = rowid + 1
        return rowid

    def _used_rowid(self, txn: Transaction, entry: dict, rowid: int) -> None:
        """An INTEGER PRIMARY KEY was stored: later ids go above it."""
        store = entry["id"]
        following = txn.next_rowids.get(store)
        if following is not None and rowid >= following:
            txn.next_rowids[store] = rowid + 1
        if entry.get("autoincrement"):
            mark = txn.get(SYSTEM, sequence_key(store))
            if mark is None or rowid > int(mark):
                txn.put(SYSTEM, sequence_key(store), str(rowid).encode())

    def _insert(self, txn: Transaction, entry: dict, row: dict) -> Any:
        schema = self.schema_of(entry)
        rowid_column = schema.rowid_column
        if rowid_column is not None and isinstance(row, dict) and row.get(rowid_column) is None:
            row = {**row, rowid_column: self._next_rowid(txn, entry)}
        values = schema.check_row(row)
        if schema.primary_key:
            key = self._key(schema, values)
            if txn.get(entry["id"], key) is not None:
                raise IntegrityError(f"table {self.name}: primary key {self._pk_of(schema, key)!r} "
                                     "already exists")
            if rowid_column is not None:
                self._used_rowid(txn, entry, row[rowid_column])
        else:
            key = keycode.encode_tuple([self._next_rowid(txn, entry)])
        self._write(txn, entry, key, None, values)
        return self._pk_of(schema, key)

    def insert(self, row: dict) -> Any:
        """Add a row; returns its primary key (a tuple if composite) or hidden row id."""
        with self._session.writing() as txn:
            return self._insert(txn, self._entry(txn), row)

    def insert_many(self, rows: Any) -> list:
        """All of ``rows`` or, if any is refused, none of them."""
        with self._session.writing() as txn:
            entry = self._entry(txn)
            return [self._insert(txn, entry, row) for row in rows]

    def _row_at(self, reader: Any, pk: Any) -> tuple[dict, TableSchema, bytes, tuple | None]:
        """(entry, schema, key, row or None) of the row whose key is ``pk``."""
        entry = self._entry(reader)
        schema = self.schema_of(entry)
        key = self._pk_key(schema, pk)
        raw = reader.get(entry["id"], key)
        return entry, schema, key, self._decode(schema, raw) if raw is not None else None

    def update(self, pk: Any, changes: dict) -> bool:
        """Change some columns of the row with key ``pk``; False if there is none."""
        if not isinstance(changes, dict):
            raise ProgrammingError(f"table {self.name}: changes are a dict of column -> value")
        with self._session.writing() as txn:
            entry, schema, key, old = self._row_at(txn, pk)
            if old is None:
                return False
            new = schema.check_changes(old, changes)
            new_key = self._key(schema, new) if schema.primary_key else key
            if new_key != key:
                if txn.get(entry["id"], new_key) is not None:
                    raise IntegrityError(f"table {self.name}: primary key "
                                         f"{self._pk_of(schema, new_key)!r} already exists")
                self._write(txn, entry, key, old, None, was=False)
                self._write(txn, entry, new_key, None, new, was=old)
                return True
            self._write(txn, entry, new_key, old, new)
            return True

    def delete(self, pk: Any) -> bool:
        """Delete the row with key ``pk``; False if there is none."""
        with self._session.writing() as txn:
            entry, _schema, key, old = self._row_at(txn, pk)
            if old is None:
                return False
            self._write(txn, entry, key, old, None)
            return True

    def delete_all(self) -> int:
        """Delete every row, one at a time, so that tables referencing this one answer for
        each (what DROP TABLE does first to a table others refer to, as in SQLite)."""
        with self._session.writing():
            keys = [pk for pk, _ in self.candidates()[1]]
            return sum(self.delete(pk) for pk in keys)

    # ----- reads ----------------------------------------------------------------------

    def get(self, pk: Any) -> dict | None:
        _entry, schema, _key, row = self._row_at(self._session.reading(), pk)
        return self._as_dict(schema, row) if row is not None else None

    def rows(self, where: dict | None = None, order_by: Any = None, limit: int | None = None) -> list[dict]:
        """Rows whose columns equal ``where``'s values (``None`` matches NULL), sorted and capped."""
        return [row for row in self._select(where, order_by, limit)[0]]

    def explain(self, where: dict | None = None) -> dict[str, Any]:
        rows, stats, access = self._select(where, None, None)
        return {"table": self.name, "plan": "IXSCAN" if access.index else "SCAN", "index": access.index,
                "keys_examined": stats["keys_examined"], "rows_examined": stats["docs_examined"],
                "returned": len(rows)}

    def _select(self, where: dict | None, order_by: Any, limit: int | None):
        if where is not None and not isinstance(where, dict):
            raise ProgrammingError(f"table {self.name}: where is a dict of column -> value")
        schema = self.schema_of(self._entry(self._session.reading()))
        order = _order_spec(self.name, schema, order_by)
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
            raise ProgrammingError(f"limit must be a non-negative integer or None, not {limit!r}")
        stats = {"keys_examined": 0, "docs_examined": 0, "decoded": 0}
        access, found = self._matching(where or {}, stats)
        rows = [row for _, row in found]
        for position, descending in reversed(order):
            rows.sort(key=lambda r, p=position: (r[p] is not None, r[p]), reverse=descending)
        if limit is not None:
            rows = rows[:limit]
        return [self._as_dict(schema, r) for r in rows], stats, access

    def _matching(self, where: dict, stats: dict[str, int] | None = None
                  ) -> tuple[Access, Iterator[tuple[Any, tuple]]]:
        """(the access chosen, the (key, row) pairs whose columns equal ``where``'s values,
        None matching NULL). A value the column's type cannot hold is a DataError."""
        schema = self.schema_of(self._entry(self._session.reading()))
        columns = {k: schema.column(k) for k in where}
        wanted = {column.name: check_value(self.name, column, where[k]) for k, column in columns.items()}
        access, found = self.candidates(wanted, stats)
        positions = [(i, wanted[c.name]) for i, c in enumerate(schema.columns) if c.name in wanted]
        return access, (pair for pair in found
                        if all(pair[1][i] == v and (pair[1][i] is None) == (v is None) for i, v in positions))

    def candidates(self, where: dict | None = None, stats: dict[str, int] | None = None,
                   keys: bool = True) -> tuple[Access, Iterator[tuple[Any, tuple]]]:
        """The access ``where`` picks and the ``(primary key, row)`` pairs it reads (rows as
        tuples in column order). ``where`` holds MongoDB-style constraints on columns
        (``{"a": 1}``, ``{"a": {"$gte": 2, "$lt": 5}}``, ``{"a": {"$in": [...]}}``) with
        values of the columns' types; the pairs hold every row that meets them and maybe
        others, so the caller -- the query layer, which knows SQL's rules -- filters.
        ``keys=False``: the pairs' keys are None (decoding a key costs as much as a row)."""
        return self._read(self._access(where), where, stats, keys)

    def _read(self, planned: tuple[Any, dict, TableSchema, Access], where: dict | None,
              stats: dict[str, int] | None, keys: bool) -> tuple[Access, Iterator[tuple[Any, tuple]]]:
        reader, entry, schema, access = planned
        counts = stats if stats is not None else {"keys_examined": 0, "docs_examined": 0, "decoded": 0}
        decode, pk_of = self._decode, self._pk_of
        if access.index == PRIMARY and _whole_key_equalities(where or {}, schema.primary_key):
            # every range is one whole primary key: read those rows directly, not by a scan
            keys_wanted = [start for start, _ in access.ranges]
            raws = reader.get_many(entry["id"], keys_wanted)
            counts["docs_examined"] += len(keys_wanted)
            found: Iterator[tuple[bytes, bytes]] = (
                (key, raw) for key, raw in zip(keys_wanted, raws) if raw is not None)
        else:
            found = read_access(reader, entry, access, counts)
        if not keys:
            return access, ((None, decode(schema, raw)) for _, raw in found)
        return access, ((pk_of(schema, key), decode(schema, raw)) for key, raw in found)

    def row_values(self, where: dict | None = None) -> Iterator[tuple]:
        """``candidates``' rows alone: the query layer's table scan. A scan of the table
        itself skips every per-row layer it can -- keys, counts -- as its cost is per row."""
        planned = self._access(where)
        reader, entry, schema, access = planned
        if access.index is not None:
            return (row for _, row in self._read(planned, where, None, False)[1])
        return itertools.chain.from_iterable(self._batches(reader, entry, schema, access))

    def row_at(self, pk: Any) -> list[tuple]:
        """``[the row]`` whose single-column primary key is ``pk`` (of the column's type), or
        ``[]``: the query layer's primary-key equality, without weighing any index."""
        reader = self._session.reading()
        entry = self._entry(reader)
        raw = reader.get(entry["id"], keycode.encode_tuple((pk,)))
        return [] if raw is None else [self._decode(self.schema_of(entry), raw)]

    def row_batches(self, where: dict | None = None) -> Iterator[list[tuple]]:
        """``row_values`` a list at a time (lists that may be shared: never change them)."""
        planned = self._access(where)
        reader, entry, schema, access = planned
        if access.index is not None:
            rows = (row for _, row in self._read(planned, where, None, False)[1])
            return chunked(rows, 1024)
        return self._batches(reader, entry, schema, access)

    def _batches(self, reader: Any, entry: dict, schema: TableSchema,
                 access: Access) -> Iterator[list[tuple]]:
        """The rows of a scan (no index) as lists; a whole-table scan through the row cache."""
        decoded = functools.partial(self._decode_batch, schema)
        data = entry["id"]
        if access.ranges == ((None, None),):
            # a whole-table scan, through the row cache: rows of plain values only, as a JSON
            # column's objects and arrays could be changed by whoever they are handed to
            json = [i for i, c in enumerate(schema.columns) if c.type == "JSON"]
            return reader.decoded_batches(data, entry, decoded, functools.partial(_plain_rows, json))
        batches = itertools.chain.from_iterable(
            reader.scan_batches(data, start, stop) for start, stop in access.ranges)
        return (decoded(raws) for _, raws in batches)

    def count_exact(self, where: dict) -> int | None:
        """How many rows meet ``where`` (constraints as ``candidates`` takes them, values of
        the columns' types), counted from the keys of the index or primary key that answers
        it exactly -- decoding nothing; None if the one chosen does not (a condition on a
        column it does not lead with, or a range before an equality)."""
        reader, entry, schema, access = self._access(where)
        if access.index is None:
            return None
        fields = list(schema.primary_key) if access.index == PRIMARY else \
            index_fields(entry["indexes"][access.index])
        if not _leads(fields, where):
            return None
        store = entry["id"] if access.index == PRIMARY else entry["indexes"][access.index]["id"]
        return sum(len(keys) for start, stop in access.ranges
                   for keys, _ in reader.scan_batches(store, start, stop))

    def access_name(self, where: dict | None) -> str | None:
        """What a read of the rows matching ``where`` uses, as EXPLAIN names it: "PRIMARY
        KEY", "INDEX <name>", or None for a full scan -- the choice a run makes."""
        index = self._access(where)[3].index
        if index is None:
            return None
        return "PRIMARY KEY" if index == PRIMARY else f"INDEX {index}"

    def _access(self, where: dict | None) -> tuple[Any, dict, TableSchema, Access]:
        reader = self._session.reading()
        entry = self._entry(reader)
        schema = self.schema_of(entry)
        indexes = {name: index_fields(ix) for name, ix in entry["indexes"].items()}
        if schema.primary_key:
            indexes[PRIMARY] = list(schema.primary_key)
        return reader, entry, schema, choose(where, indexes, both_bounds=True, prefer=lambda n: n == PRIMARY)

    def schema(self) -> TableSchema:
        return self.schema_of(self._entry(self._session.reading()))

    @property
    def sequence(self) -> int | None:
        """An AUTOINCREMENT table's high-water mark: the largest id it ever held, which no new
        row gets again (SQLite's sqlite_sequence); None for another table or before any row."""
        reader = self._session.reading()
        entry = self._entry(reader)
        mark = reader.get(SYSTEM, sequence_key(entry["id"])) if entry.get("autoincrement") else None
        return int(mark) if mark is not None else None

    def raise_sequence(self, mark: int) -> None:
        """Make ``mark`` the high-water mark if it is above the present one (a copy of the
        table carries its source's, so ids deleted there are not handed out here)."""
        if isinstance(mark, bool) or not isinstance(mark, int):
            raise ProgrammingError(f"table {self.name}: a sequence mark is an integer, not {mark!r}")
        with self._session.writing() as txn:
            entry = self._entry(txn)
            if not entry.get("autoincrement"):
                raise ProgrammingError(f"table {self.name} has no AUTOINCREMENT sequence")
            self._used_rowid(txn, entry, mark)

    def count(self) -> int:
        reader = self._session.reading()
        entry = self._entry(reader)
        return sum(len(keys) for keys, _ in reader.scan_batches(entry["id"]))

    def add_column(self, name: str, spec: str, checks: Any = None, foreign_keys: Any = None) -> None:
        """A new last column; rows already stored read it as its default (or NULL). As in
        SQLite, it cannot be UNIQUE or a primary key, nor NOT NULL without a default; its
        ``checks`` (and ``foreign_keys``, in ``create_table``'s forms) join the table's, and
        the rows already there must pass the checks."""
        with self._session.writing() as txn:
            entry = self._entry(txn)
            if any(c.lower() == str(name).lower() for c in entry["columns"]):
                raise ProgrammingError(f"table {self.name}: duplicate column name: {name}")
            column = parse_column(self.name, name, spec)
            if column.unique:
                raise ProgrammingError(f"table {self.name}: cannot add a UNIQUE column")
            if isinstance(column.default, TimeDefault):
                raise ProgrammingError(f"table {self.name}: cannot add a column with non-constant default")
            if column.not_null and (not column.has_default or column.default is None):
                raise ProgrammingError(f"table {self.name}: cannot add a NOT NULL column "
                                       "with default value NULL")
            changed = edited(entry)
            changed["columns"][name] = spec
            names = [*entry["columns"], name]
            if checks:
                changed["checks"] = [*entry.get("checks", ()), *normalized_checks(self.name, names, checks)]
            if foreign_keys:
                changed["foreign_keys"] = [*entry.get("foreign_keys", ()),
                                           *normalized_foreign_keys(self.name, names, foreign_keys)]
            update_entry(txn, changed)
            if checks:
                rules, wider = self.rules_of(changed), self.schema_of(changed)
                for _, raw in txn.scan(entry["id"]):
                    rules.check_row(self.name, names, self._decode(wider, raw))

    def rename_column(self, name: str, new_name: str, checks: list[dict] | None = None) -> None:
        """Call a column another name, in the table's indexes and foreign keys and in those
        of tables referencing it; ``checks``: the table's CHECKs with the column renamed (the
        query layer rewrites their SQL)."""
        with self._session.writing() as txn:
            entry = self._entry(txn)
            column = self.schema_of(entry).column(name).name
            if any(c.lower() == str(new_name).lower() for c in entry["columns"]) and \
                    column.lower() != str(new_name).lower():
                raise ProgrammingError(f"table {self.name}: duplicate column name: {new_name}")
            check_name(new_name, "column")

            def renamed(names: list[str]) -> list[str]:
                return [new_name if n.lower() == column.lower() else n for n in names]
            changed = edited(entry)
            changed["columns"] = {new_name if c == column else c: spec
                                  for c, spec in entry["columns"].items()}
            changed["primary_key"] = renamed(entry["primary_key"])
            for index in changed["indexes"].values():
                index["fields"] = [[renamed([f])[0], order] for f, order in index["fields"]]
            for key in changed.get("foreign_keys", ()):
                key["columns"] = renamed(key["columns"])
                if key["parent"].lower() == self.name.lower():
                    key["parent_columns"] = renamed(key["parent_columns"])
            if checks is not None:
                changed["checks"] = checks
            update_entry(txn, changed)
            for child, _ in txn.catalog.referencing(self.name):
                if child.lower() == self.name.lower():
                    continue
                other = edited(txn.catalog.require(child, "table"))
                for key in other["foreign_keys"]:
                    if key["parent"].lower() == self.name.lower():
                        key["parent_columns"] = renamed(key["parent_columns"])
                update_entry(txn, other)

    def drop_column(self, name: str, reads: Any = None) -> None:
        """Remove a column and its values from every row. Refused, as SQLite refuses it, for
        a primary key or UNIQUE column, one an index or a foreign key holds, one a CHECK
        reads (``reads(sql, column)`` says whether it does; the query layer gives it), or
        the table's only column."""
        with self._session.writing() as txn:
            entry = self._entry(txn)
            schema = self.schema_of(entry)
            column = schema.column(name)
            problem = _undroppable(entry, schema, column.name, reads)
            if problem:
                raise ProgrammingError(f"cannot drop column \"{column.name}\" of {self.name}: {problem}")
            position = [c.name for c in schema.columns].index(column.name)
            changed = edited(entry)
            del changed["columns"][column.name]
            rows = [(key, self._decode(schema, raw)) for key, raw in txn.scan(entry["id"])]
            update_entry(txn, changed)
            narrower = self.schema_of(changed)
            for key, row in rows:
                txn.put(entry["id"], key, self._encode(narrower, row[:position] + row[position + 1:]))

    # ----- indexes --------------------------------------------------------------------

    def create_index(self, columns: Any, unique: bool = False, name: str | None = None) -> str:
        names = [columns] if isinstance(columns, str) else list(columns or ())
        with self._session.writing() as txn:
            entry = self._entry(txn)
            schema = self.schema_of(entry)
            if not names or len(set(names)) != len(names):
                raise ProgrammingError(f"table {self.name}: an index takes distinct columns, got {columns!r}")
            for column in names:
                schema.column(column)
            name = check_name(name or "_".join(names) + ("_unique" if unique else "_idx"), "index")
            entry = add_index(txn, entry, name, [[c, 1] for c in names], unique)
            only = {**entry, "indexes": {name: entry["indexes"][name]}}
            for key, raw in txn.scan(entry["id"]):
                write_indexes(txn, only, key, None, self._decode(schema, raw), self._values_of(schema),
                              lambda values: any(v is None for vs in values for v in vs))
        return name

    def drop_index(self, name: str) -> None:
        with self._session.writing() as txn:
            remove_index(txn, self._entry(txn), name)

    def indexes(self) -> list[dict]:
        entry = self._entry(self._session.reading())
        return [{"name": n, "columns": index_fields(ix), "unique": ix["unique"]}
                for n, ix in entry["indexes"].items()]


_SCHEMAS: dict[int, tuple[dict, TableSchema]] = {}  # id(catalog entry) -> (that entry, its schema)


def _undroppable(entry: dict, schema: TableSchema, column: str, reads: Any) -> str | None:
    """Why ``column`` cannot be dropped, or None (a column a foreign key refers to is the
    parent's primary key or UNIQUE, refused as such)."""
    folded = column.lower()
    if folded in (k.lower() for k in schema.primary_key):
        return "it is the PRIMARY KEY"
    if schema.column(column).unique:
        return "it is UNIQUE"
    if len(schema.columns) == 1:
        return "no other columns exist"
    for name, index in entry["indexes"].items():
        if folded in (f.lower() for f in index_fields(index)):
            return f"index {name} is on it"
    for key in entry.get("foreign_keys", ()):
        if folded in (c.lower() for c in key["columns"]):
            return f"it is in a foreign key to {key['parent']}"
    for check in entry.get("checks", ()):
        if reads is not None and reads(check["sql"], column):
            return f"CHECK ({check['sql']}) reads it"
    return None


def _default(column: Any) -> Any:
    """What a column holds when nothing is given: its default (a time default taken now), or NULL."""
    if not column.has_default:
        return None
    return column.default() if isinstance(column.default, TimeDefault) else column.default


def _label(foreign_key: dict) -> str:
    return f" ({foreign_key['name']})" if foreign_key.get("name") else ""


def _parsed_schema(name: str, entry: dict) -> TableSchema:
    """The schema of a catalog entry, parsed once: entries never change (a change makes a
    new entry), and every ``conn.table(name)`` would otherwise parse it again."""
    hit = _SCHEMAS.get(id(entry))
    if hit is not None and hit[0] is entry:
        return hit[1]
    schema = TableSchema.define(name, entry["columns"], entry["primary_key"])
    if len(_SCHEMAS) >= 1024:
        _SCHEMAS.pop(next(iter(_SCHEMAS)))
    _SCHEMAS[id(entry)] = (entry, schema)  # holding the entry keeps its id from being reused
    return schema


def _plain_rows(positions: list[int], rows: list[tuple]) -> bool:
    """Do the ``positions`` (JSON columns) of every row hold only scalars?"""
    return not any(isinstance(row[i], (dict, list)) for i in positions for row in rows)


def _leads(fields: list[str], where: dict) -> bool:
    """Does ``where`` constrain exactly a leading run of ``fields`` -- equalities (or IN
    lists), then at most one range, which the index's key ranges then hold exactly?"""
    if not where or len(where) > len(fields):
        return False
    for i, field in enumerate(fields[:len(where)]):
        condition = where.get(field, where)
        if condition is where:
            return False
        if isinstance(condition, dict) and "$in" in condition and len(condition) > 1:
            return False  # an IN list and a bound: the index reads the list's values, not the bound
        ranged = isinstance(condition, dict) and "$in" not in condition
        if ranged and (i != len(where) - 1 or not set(condition) <= {"$gt", "$gte", "$lt", "$lte"}
                       or {"$gt", "$gte"} <= set(condition) or {"$lt", "$lte"} <= set(condition)):
            return False  # two bounds on one side: the index range keeps only one of them
    return True


def _whole_key_equalities(where: dict, primary_key: tuple[str, ...]) -> bool:
    """Does ``where`` fix every primary-key column to one value or a list ($eq / $in)?"""
    for column in primary_key:
        condition = where.get(column)
        if isinstance(condition, dict):
            if set(condition) - {"$eq", "$in"}:
                return False
        elif column not in where:
            return False
    return bool(primary_key)


def _order_spec(table: str, schema: TableSchema, order_by: Any) -> list[tuple[int, bool]]:
    """``"a"``, ``"-a"``, ``"a DESC"`` or a list of them -> [(column position, descending)]."""
    if order_by is None:
        return []
    items = [order_by] if isinstance(order_by, str) else list(order_by)
    names = [c.name for c in schema.columns]
    spec = []
    for item in items:
        if not isinstance(item, str):
            raise ProgrammingError(f"table {table}: order_by takes column names, not {item!r}")
        words = item.split()
        descending = item.startswith("-") or (len(words) == 2 and words[1].upper() == "DESC")
        column = words[0].lstrip("-") if words else ""
        bad_direction = len(words) == 2 and words[1].upper() not in ("ASC", "DESC")
        if column not in names or len(words) > 2 or bad_direction:
            raise ProgrammingError(f"table {table}: cannot order by {item!r}")
        if schema.column(column).type == "JSON":
            raise ProgrammingError(f"table {table}: JSON column {column!r} has no order to sort by")
        spec.append((names.index(column), descending))
    return spec
