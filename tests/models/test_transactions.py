"""Transactions across collections, a table and their indexes, against a model.

A hypothesis state machine runs random inserts, updates and deletes on two
collections (``a``: a unique index on ``u`` and a multikey index on ``tags``;
``b``: none, on the other engine) and a table (``t``: a UNIQUE column and a
secondary index), with commits, rollbacks, reopens and checkpoints, against a
model of the committed state and the pending one. Tiny engine thresholds and a
tiny ``checkpoint_bytes`` make flushes, compactions, rollovers and checkpoints
happen in every run. After each step: the connection reads the pending model,
a second connection reads the committed model, and every index query returns
what a scan of the model says. Unit tests below cover what the machine cannot
reach: statement atomicity inside a transaction, DDL rollback on disk, drops,
replay of a half-applied commit, and readers in other threads.
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile

import hypothesis.strategies as st
import pytest
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import docdb

TINY = {"lsm": {"memtable_bytes": 4096, "fanout": 2},
        "hash": {"segment_bytes": 16384, "merge_min_bytes": 4096}}
OTHER = {"lsm": "hash", "hash": "lsm"}
ENGINES = ("lsm", "hash")

ids = st.integers(0, 7)
us = st.integers(0, 5)
tag_lists = st.lists(st.integers(0, 4), max_size=3)
texts = st.sampled_from(["x", "y", "z", None])
groups = st.integers(0, 3)
FILLER = 100  # _id of the first of b's 20 filler documents, rewritten big by some commits


def connect(path: str, engine: str = "lsm", **extra) -> docdb.Connection:
    return docdb.connect(path, engine=engine, checkpoint_bytes=2048, storage_options=TINY, **extra)


def setup_objects(conn: docdb.Connection, engine: str) -> None:
    conn.create_collection("a", engine=engine)
    conn.collection("a").create_index("u", unique=True)
    conn.collection("a").create_index("tags")
    conn.create_collection("b", engine=OTHER[engine])
    table = conn.create_table("t", {"id": "INTEGER", "u": "TEXT UNIQUE", "g": "INTEGER", "j": "JSON"},
                              primary_key="id")
    table.create_index("g")
    conn.commit()


def read_all(conn: docdb.Connection) -> dict:
    """Every object's contents as the model holds them."""
    return {"a": {d["_id"]: d for d in conn.collection("a").find()},
            "b": {d["_id"]: d for d in conn.collection("b").find()},
            "t": {r["id"]: r for r in conn.table("t").rows()}}


def check_indexes(conn: docdb.Connection, state: dict) -> None:
    """Each index query (it must use the index) returns what a scan of ``state`` does."""
    a, t = conn.collection("a"), conn.table("t")
    for u in range(6):
        assert a.find({"u": u}).explain()["index"] == "u_1"
        assert sorted(d["_id"] for d in a.find({"u": u})) == sorted(
            i for i, d in state["a"].items() if d["u"] == u)
    for tag in range(5):
        assert a.find({"tags": tag}).explain()["index"] == "tags_1"
        assert sorted(d["_id"] for d in a.find({"tags": tag})) == sorted(
            i for i, d in state["a"].items() if tag in d["tags"])
    for g in range(4):
        assert t.explain({"g": g})["index"] == "g_idx"
        assert sorted(r["id"] for r in t.rows({"g": g})) == sorted(
            i for i, r in state["t"].items() if r["g"] == g)
    for u in ("x", "y", "z"):
        assert t.explain({"u": u})["index"] == "u_unique"
        assert [r["id"] for r in t.rows({"u": u})] == [i for i, r in state["t"].items() if r["u"] == u]


def machine_for(engine: str):
    class TransactionsMatchModel(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.dir = tempfile.mkdtemp(prefix="docdb-txn-")
            self.path = os.path.join(self.dir, "db")
            self.conn = connect(self.path, engine)
            setup_objects(self.conn, engine)
            filler = [{"_id": i, "p": ""} for i in range(FILLER, FILLER + 20)]
            self.conn.collection("b").insert_many(copy.deepcopy(filler))
            self.conn.commit()
            self.committed: dict = {"a": {}, "b": {d["_id"]: d for d in filler}, "t": {}}
            self.pending = copy.deepcopy(self.committed)

        def expect(self, error: type[Exception] | None, write, change) -> None:
            """Run ``write``; it must raise ``error`` (and change nothing) or succeed and ``change``."""
            if error is None:
                write()
                change()
            else:
                with pytest.raises(error):
                    write()

        # ----- collection a: unique u, multikey tags -------------------------------------

        def _u_taken(self, u: int, but: int | None = None) -> bool:
            return any(d["u"] == u for i, d in self.pending["a"].items() if i != but)

        @rule(i=ids, u=us, tags=tag_lists)
        def insert_a(self, i, u, tags):
            doc = {"_id": i, "u": u, "tags": list(tags), "n": 0}
            clash = i in self.pending["a"] or self._u_taken(u)
            self.expect(docdb.IntegrityError if clash else None,
                        lambda: self.conn.collection("a").insert_one(dict(doc)),
                        lambda: self.pending["a"].__setitem__(i, doc))

        @rule(i=ids, u=us)
        def set_u(self, i, u):
            def change():
                if i in self.pending["a"]:
                    self.pending["a"][i]["u"] = u
            self.expect(docdb.IntegrityError if i in self.pending["a"] and self._u_taken(u, i) else None,
                        lambda: self.conn.collection("a").update_one({"_id": i}, {"$set": {"u": u}}),
                        change)

        @rule(tag=st.integers(0, 4), extra=st.integers(0, 4))
        def push_tag_many(self, tag, extra):
            """update_many through the multikey index: every doc holding ``tag`` gets ``extra``."""
            def change():
                for d in self.pending["a"].values():
                    if tag in d["tags"]:
                        d["tags"].append(extra)
                        d["n"] += 1
            self.conn.collection("a").update_many({"tags": tag}, {"$push": {"tags": extra}, "$inc": {"n": 1}})
            change()

        @rule(i=ids)
        def delete_a(self, i):
            self.conn.collection("a").delete_one({"_id": i})
            self.pending["a"].pop(i, None)

        @rule(docs=st.lists(st.tuples(ids, us), min_size=1, max_size=4))
        def insert_many_a(self, docs):
            """All of them or, at the first clash, none."""
            trial = copy.deepcopy(self.pending["a"])
            clash = False
            for i, u in docs:
                if i in trial or any(d["u"] == u for d in trial.values()):
                    clash = True
                    break
                trial[i] = {"_id": i, "u": u, "tags": [u % 5], "n": 0}
            self.expect(docdb.IntegrityError if clash else None,
                        lambda: self.conn.collection("a").insert_many(
                            [{"_id": i, "u": u, "tags": [u % 5], "n": 0} for i, u in docs]),
                        lambda: self.pending.__setitem__("a", trial))

        # ----- collection b: no index, the other engine --------------------------------------

        @rule(i=ids, v=st.integers(-3, 3))
        def upsert_b(self, i, v):
            self.conn.collection("b").update_one({"_id": i}, {"$set": {"v": v}}, upsert=True)
            self.pending["b"].setdefault(i, {"_id": i})["v"] = v

        @rule(name=st.sampled_from("ab"), size=st.integers(0, 3000))
        def pad(self, name, size):
            """Big writes at commit: memtables rotate, tables flush and compact, segments roll."""
            self.conn.collection(name).update_many({}, {"$set": {"p": "x" * size}})
            for d in self.pending[name].values():
                d["p"] = "x" * size

        @rule(i=ids)
        def delete_b(self, i):
            self.conn.collection("b").delete_many({"_id": i})
            self.pending["b"].pop(i, None)

        # ----- table t: UNIQUE u, index on g --------------------------------------------------

        def _text_taken(self, u, but=None) -> bool:
            return u is not None and any(r["u"] == u for i, r in self.pending["t"].items() if i != but)

        @rule(i=ids, u=texts, g=groups, bad=st.booleans())
        def insert_t(self, i, u, g, bad):
            row = {"id": i, "u": u, "g": g, "j": {"i": [i]}}
            if bad:
                error = docdb.DataError
                row["g"] = "not an integer"
            else:
                error = docdb.IntegrityError if i in self.pending["t"] or self._text_taken(u) else None
            self.expect(error, lambda: self.conn.table("t").insert(dict(row)),
                        lambda: self.pending["t"].__setitem__(i, row))

        @rule(i=ids, new_id=ids, u=texts, g=groups)
        def update_t(self, i, new_id, u, g):
            rows = self.pending["t"]
            clash = i in rows and ((new_id != i and new_id in rows) or self._text_taken(u, i))

            def change():
                if i in rows:
                    rows[new_id] = {**rows.pop(i), "id": new_id, "u": u, "g": g}
            self.expect(docdb.IntegrityError if clash else None,
                        lambda: self.conn.table("t").update(i, {"id": new_id, "u": u, "g": g}), change)

        @rule(i=ids)
        def delete_t(self, i):
            assert self.conn.table("t").delete(i) == (i in self.pending["t"])
            self.pending["t"].pop(i, None)

        # ----- transactions, reopen, checkpoint ---------------------------------------------------

        @rule(pad=st.sampled_from([0, 500, 4000]))
        def commit(self, pad=0):
            if pad:  # big writes at commit: memtables rotate and flush, segments roll and merge
                self.conn.collection("b").update_many({"_id": {"$gte": FILLER}}, {"$set": {"p": "x" * pad}})
                for i in range(FILLER, FILLER + 20):
                    self.pending["b"][i]["p"] = "x" * pad
            self.conn.commit()
            self.committed = copy.deepcopy(self.pending)

        @rule()
        def rollback(self):
            self.conn.rollback()
            self.pending = copy.deepcopy(self.committed)

        @rule(commit_first=st.booleans())
        def reopen(self, commit_first):
            if commit_first:
                self.commit()
            self.conn.close()
            self.pending = copy.deepcopy(self.committed)
            self.conn = connect(self.path, engine)

        @rule()
        def checkpoint(self):
            self.conn._db.checkpoint()

        @precondition(lambda self: len(self.pending["a"]) >= 2)
        @rule(data=st.data())
        def failed_statement_keeps_the_others(self, data):
            """A unique violation in the middle of a transaction undoes only its own statement."""
            victim = data.draw(st.sampled_from(sorted(self.pending["a"])))
            taken = self.pending["a"][victim]["u"]
            with pytest.raises(docdb.IntegrityError, match="u_1"):
                self.conn.collection("a").update_many({}, {"$set": {"u": taken}, "$inc": {"n": 1}})

        # ----- what must always hold ----------------------------------------------------------------

        @invariant()
        def reads_see_pending(self):
            assert read_all(self.conn) == self.pending

        @invariant()
        def others_see_committed(self):
            other = connect(self.path, engine)
            try:
                assert read_all(other) == self.committed
                check_indexes(other, self.committed)
            finally:
                other.close()

        @invariant()
        def indexes_agree_with_data(self):
            check_indexes(self.conn, self.pending)

        def teardown(self):
            self.conn.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    TransactionsMatchModel.__name__ = f"{engine.title()}TransactionsMatchModel"
    return TransactionsMatchModel


for _engine in ENGINES:
    _machine = machine_for(_engine)
    _machine.TestCase.settings = settings(max_examples=25, stateful_step_count=30, deadline=None)
    globals()[f"Test{_machine.__name__}"] = _machine.TestCase


# ----- unit tests ----------------------------------------------------------------------------------


@pytest.fixture(params=ENGINES)
def engine(request):
    return request.param


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "db")


def stores_on_disk(path: str) -> list[str]:
    return sorted(os.listdir(os.path.join(path, "objects")))


def test_transaction_spanning_objects_and_engines_commits_atomically(path, engine):
    conn = connect(path, engine)
    setup_objects(conn, engine)
    other = connect(path, engine)
    conn.collection("a").insert_many([{"_id": i, "u": i, "tags": [i % 3], "n": 0} for i in range(30)])
    conn.collection("b").insert_one({"_id": 1, "v": 30})
    conn.table("t").insert_many([{"id": i, "u": None, "g": i % 4, "j": [i]} for i in range(30)])
    expected = read_all(conn)
    assert read_all(other) == {"a": {}, "b": {}, "t": {}}
    conn.commit()
    assert read_all(other) == expected
    check_indexes(other, expected)
    conn.close()
    other.close()
    conn = connect(path, engine)
    assert read_all(conn) == expected
    check_indexes(conn, expected)
    conn.close()


def test_failed_statements_undo_only_themselves(path, engine):
    conn = connect(path, engine)
    setup_objects(conn, engine)
    a, t = conn.collection("a"), conn.table("t")
    a.insert_one({"_id": 1, "u": 1, "tags": [1], "n": 0})
    t.insert({"id": 1, "u": "x", "g": 1})
    with pytest.raises(docdb.IntegrityError, match="u_1"):
        a.insert_many([{"_id": 2, "u": 2, "tags": [2], "n": 0}, {"_id": 3, "u": 1, "tags": [3], "n": 0}])
    with pytest.raises(docdb.IntegrityError, match="u_unique"):
        t.insert_many([{"id": 2, "u": "y", "g": 2}, {"id": 3, "u": "x", "g": 3}])
    with pytest.raises(docdb.DataError):
        t.update(1, {"g": "two"})
    with pytest.raises(docdb.DataError):  # the first statement on a new collection creates it
        conn.collection("new").insert_many([{"_id": 1}, {"_id": 2, "bad": {1, 2}}])
    a.update_one({"_id": 1}, {"$push": {"tags": 4}})
    conn.commit()
    expected = {"a": {1: {"_id": 1, "u": 1, "tags": [1, 4], "n": 0}}, "b": {},
                "t": {1: {"id": 1, "u": "x", "g": 1, "j": None}}}
    conn.close()
    conn = connect(path, engine)
    assert read_all(conn) == expected and conn.collections() == ["a", "b"]
    check_indexes(conn, expected)
    conn.close()


@pytest.mark.parametrize("autocommit", [False, True])
def test_failed_first_write_to_a_new_collection_leaves_nothing(path, autocommit):
    """The statement created the collection's store and wrote to it; undoing it must not leave
    a write to the removed store behind (commit used to fail with a KeyError)."""
    conn = connect(path, autocommit=autocommit)
    before = stores_on_disk(path)
    with pytest.raises(docdb.DataError, match="set"):
        conn.collection("new").insert_many([{"_id": 1}, {"_id": 2, "bad": {1, 2}}])
    assert not conn.in_transaction or not autocommit
    conn.commit()
    assert conn.collections() == [] and stores_on_disk(path) == before
    conn.collection("new").insert_one({"_id": 1})
    conn.commit()
    assert conn.collection("new").find_one() == {"_id": 1}
    conn.close()


def test_ddl_rolls_back_and_leaves_no_directories(path, engine):
    conn = connect(path, engine)
    conn.collection("keep").insert_many([{"_id": i, "k": i} for i in range(10)])
    conn.collection("keep").create_index("k")
    conn.commit()
    conn.compact()
    before = stores_on_disk(path)
    table = conn.create_table("t", {"id": "INTEGER", "u": "TEXT UNIQUE"}, primary_key="id")
    table.insert({"id": 1, "u": "x"})
    table.create_index("u", name="u_again")
    conn.collection("keep").create_index("k", unique=True, name="k_unique")
    conn.collection("fresh").create_index("z")
    conn.drop("keep")
    # a transaction's stores live in the log: a checkpoint after its commit writes them
    assert stores_on_disk(path) == before
    conn.rollback()
    assert stores_on_disk(path) == before
    assert conn.tables() == [] and conn.collections() == ["keep"]
    assert [ix["name"] for ix in conn.collection("keep").list_indexes()] == ["_id_", "k_1"]
    assert conn.collection("keep").count_documents({"k": {"$gte": 5}}) == 5
    conn.close()
    conn = connect(path, engine)
    assert stores_on_disk(path) == before and conn.collections() == ["keep"]
    conn.close()


def test_drop_removes_directories_only_at_commit(path, engine):
    conn = connect(path, engine)
    conn.collection("c").insert_many([{"_id": i, "k": [i, -i]} for i in range(10)])
    conn.collection("c").create_index("k")
    conn.create_table("t", {"id": "INTEGER", "u": "INTEGER UNIQUE"})
    conn.collection("short").insert_one({"_id": 1})
    conn.drop("short")  # created and dropped in one transaction
    conn.commit()
    with_objects = stores_on_disk(path)
    conn.compact()  # a checkpoint: every store written so far gets its directory
    with_objects = stores_on_disk(path)
    entry = conn._db.catalog.get("c")
    gone = {f"{entry['id']}-{engine}", *(f"{index['id']}-lsm" for index in entry["indexes"].values()),
            f"{conn._db.catalog.get('t')['indexes']['u_unique']['id']}-lsm"}
    assert gone <= set(with_objects)
    conn.drop("c")
    conn.table("t").drop_index("u_unique")
    assert stores_on_disk(path) == with_objects  # a rollback would still need them
    conn.commit()
    assert stores_on_disk(path) == with_objects  # readers of older snapshots may too
    conn.compact()  # the next checkpoint removes them
    assert sorted(stores_on_disk(path)) == sorted(set(with_objects) - gone)  # c, its index, u_unique
    conn.collection("c").insert_one({"_id": "again"})  # a new collection under the old name
    conn.commit()
    conn.close()
    conn = connect(path, engine)
    assert [d["_id"] for d in conn.collection("c").find({"k": 3})] == []
    assert list(conn.collection("c").find()) == [{"_id": "again"}]
    assert not gone & set(stores_on_disk(path))
    conn.close()


def _current_log(path):
    """The newest generation's log file (docdb.models.txlog): the one being written."""
    names = [n for n in os.listdir(path) if n.split(".")[0] == "txlog"]
    return os.path.join(path, max(names, key=lambda n: int(n.split(".")[1]) if "." in n else 0))


def test_checkpoint_empties_the_log_and_keeps_the_data(path, engine):
    conn = connect(path, engine)
    for i in range(40):
        conn.collection("c").insert_one({"_id": i, "p": "x" * 200})
        conn.commit()
        assert os.path.getsize(_current_log(path)) <= 2048 + 400  # checkpoint_bytes is 2048
        assert len([n for n in os.listdir(path) if n.startswith("txlog")]) == 1  # old ones go
    conn.close()
    assert os.path.getsize(_current_log(path)) == 0
    conn = connect(path, engine)
    assert conn.collection("c").count_documents({}) == 40
    conn.close()

