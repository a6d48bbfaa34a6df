"""A process of the kill torture (``test_kill_torture.py``): a writer or a reader.

Run as ``python mixed_worker.py DIR ENGINE ROLE WRITER SEED``.

* ``writer`` -- writer number WRITER commits its transactions 0, 1, 2, ... (carrying on
  from what the database holds) and prints ``ACK <writer> <n>`` once transaction n's
  ``commit()`` returned. Transaction n adds ``led`` row (WRITER, n); adds row and document
  ``key(WRITER, n)`` to table ``t`` and collection ``c``; removes ``key(WRITER, n - 2)``
  from both when ``n % 4 == 3``; and counts in ``tot``. Now and then, by chance, it
  also creates or drops an index of ``t`` or ``c``, or its own scratch table, and after a
  commit compacts the database. A busy lock or a stale snapshot is retried.
* ``reader`` -- checks forever, each time in one snapshot (BEGIN ... ROLLBACK), that the
  database holds for each writer whole transactions 0..k-1 (``problems``); prints
  ``OK <n>`` now and then, or ``BAD ...`` and exits 1.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import docdb  # noqa: E402
from tests.children import check_forever  # noqa: E402

OPTIONS = {
    "checkpoint_bytes": 16_000,
    "storage_options": {
        "lsm": {"memtable_bytes": 4096, "fanout": 2, "block_bytes": 512},
        "hash": {"segment_bytes": 32768, "merge_min_bytes": 8192},
    },
}


def key(writer: int, n: int) -> int:
    return writer * 1_000_000 + n


def connect(directory: str, engine: str) -> docdb.Connection:
    return docdb.connect(directory, engine=engine, timeout=10, **OPTIONS)


def create(conn: docdb.Connection) -> None:
    conn.execute("CREATE TABLE led (id INTEGER PRIMARY KEY, w INTEGER, n INTEGER)")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, w INTEGER, n INTEGER, v INTEGER, s TEXT)")
    conn.execute("CREATE INDEX t_v ON t (v)")
    conn.execute("CREATE TABLE tot (w INTEGER PRIMARY KEY, n INTEGER, s INTEGER)")
    conn.collection("c").create_index("w")
    conn.commit()


def transaction(conn: docdb.Connection, rng: random.Random, writer: int, n: int) -> None:
    k = key(writer, n)
    conn.execute("INSERT INTO led VALUES (?, ?, ?)", (k, writer, n))
    conn.execute("INSERT INTO t VALUES (?, ?, ?, ?, ?)", (k, writer, n, (n * 7919) % 100, "s" * (n % 30)))
    conn.collection("c").insert_one({"_id": k, "w": writer, "n": n, "tags": [n % 3, n % 5]})
    if n % 4 == 3:
        conn.execute("DELETE FROM t WHERE id = ?", (key(writer, n - 2),))
        conn.collection("c").delete_one({"_id": key(writer, n - 2)})
    if n == 0:
        conn.execute("INSERT INTO tot VALUES (?, 1, 0)", (writer,))
    else:
        conn.execute("UPDATE tot SET n = n + 1, s = s + ? WHERE w = ?", (n, writer))
    chance = rng.random()
    if chance < 0.03:
        conn.execute("CREATE INDEX IF NOT EXISTS t_s ON t (s)")
    elif chance < 0.06:
        conn.execute("DROP INDEX IF EXISTS t_s")
    elif chance < 0.08:
        conn.collection("c").create_index("tags")
    elif chance < 0.10:
        if "tags_1" in conn.collection("c").index_information():
            conn.collection("c").drop_index("tags_1")
    elif chance < 0.13:
        conn.execute(f"CREATE TABLE IF NOT EXISTS scratch{writer} (a INTEGER, b TEXT)")
        conn.executemany(f"INSERT INTO scratch{writer} VALUES (?, ?)", [(i, "b" * i) for i in range(20)])
    elif chance < 0.15:
        conn.execute(f"DROP TABLE IF EXISTS scratch{writer}")
    conn.commit()


def held_by(conn: docdb.Connection) -> dict[int, int]:
    """For each writer, how many of its transactions the database holds."""
    return {w: n for w, n, _s in conn.execute("SELECT w, n, s FROM tot")}


def problems(conn: docdb.Connection) -> str | None:
    """What is not whole in the current snapshot, or None."""
    led: dict[int, list[int]] = {}
    for w, n in conn.execute("SELECT w, n FROM led ORDER BY w, n"):
        led.setdefault(w, []).append(n)
    tot = {w: (n, s) for w, n, s in conn.execute("SELECT w, n, s FROM tot")}
    if set(led) != set(tot):
        return f"writers in led {sorted(led)} and tot {sorted(tot)} differ"
    rows = {r[0] for r in conn.execute("SELECT id FROM t")}
    docs = {d["_id"] for d in conn.collection("c").find({}, {"_id": 1})}
    if rows != docs:
        return f"t and c differ: {sorted(rows ^ docs)[:5]}"
    expected_rows = set()
    for w, ns in led.items():
        k = len(ns)
        if ns != list(range(k)):
            return f"writer {w}'s transactions are not 0..{k - 1}: {ns[:10]}"
        if tot[w] != (k, sum(range(k))):
            return f"writer {w}: tot {tot[w]} after {k} transactions"
        expected_rows |= {key(w, n) for n in range(k)} - {key(w, n - 2) for n in range(k) if n % 4 == 3}
    if rows != expected_rows:
        return f"t holds {sorted(rows ^ expected_rows)[:5]} wrongly"
    by_index = {r[0] for r in conn.execute("SELECT id FROM t WHERE v >= 0")}
    if by_index != rows:
        return "the index t_v disagrees with t"
    return None


def main(argv: list[str]) -> int:
    directory, engine, role, writer, seed = argv[0], argv[1], argv[2], int(argv[3]), int(argv[4])
    rng = random.Random(seed)
    conn = connect(directory, engine)
    if role == "writer":
        n = held_by(conn).get(writer, 0)
        conn.rollback()
        while True:
            try:
                transaction(conn, rng, writer, n)
            except docdb.OperationalError:  # locked for too long, or a stale snapshot: again
                conn.rollback()
                continue
            print("ACK", writer, n, flush=True)
            n += 1
            if rng.random() < 0.02:
                try:
                    conn.compact()
                except docdb.OperationalError:  # another writer held the lock too long
                    pass
    return check_forever(conn, problems)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
