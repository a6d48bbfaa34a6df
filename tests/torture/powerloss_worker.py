"""The writer of the power-loss test (``test_power_loss.py``), under ``faultfs``.

Run as ``python powerloss_worker.py DB SHADOW ACKS ENGINE SYNC CRASH_AT SEED COUNT``
(``CRASH_AT`` 0: no crash). It carries on from the transactions already in DB and
commits COUNT more, appending ``i`` to ACKS as soon as transaction i's ``commit()``
returned. Transaction i is a pure function of i, so the test can say what the
database must hold after the first k transactions (``expected``):

* ``led`` gets row i; ``t`` (indexed on v) and collection ``c`` (indexed on v) get
  id i; when ``i % 5 == 0`` both lose id ``i - 3``; ``tot`` counts and sums;
* when ``i % 17 == 0`` the index ``t_s`` is created or dropped (in turn);
* when ``i % 23 == 0`` table ``x<i>`` is created with one row and ``x<i-23>`` dropped.

Every 40th transaction is followed by ``conn.compact()``; the small ``checkpoint_bytes``
makes a checkpoint every few commits, so power fails inside checkpoints too.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.torture.faultfs import FaultFS  # noqa: E402

OPTIONS = {
    "checkpoint_bytes": 6_000,
    "storage_options": {
        "lsm": {"memtable_bytes": 2048, "fanout": 2, "block_bytes": 512},
        "hash": {"segment_bytes": 16384, "merge_min_bytes": 4096},
    },
}


def value(i: int) -> int:
    return (i * 7919) % 1000


def expected(k: int) -> dict:
    """What the database holds after transactions 0..k-1."""
    ids = set(range(k)) - {i - 3 for i in range(k) if i % 5 == 0 and i >= 3}
    toggles = sum(1 for i in range(k) if i % 17 == 0)
    last_x = max((i for i in range(k) if i % 23 == 0), default=None)
    return {
        "ids": ids,
        "index": toggles % 2 == 1,
        "tables": {f"x{last_x}"} if last_x is not None else set(),
        "tot": (k, sum(range(k))),
    }


def tables(conn) -> set[str]:
    return {row[1] for row in conn.execute("PRAGMA table_list")}


def transaction(conn, i: int) -> None:
    if i == 0:
        conn.execute("CREATE TABLE led (id INTEGER PRIMARY KEY)")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER, s TEXT)")
        conn.execute("CREATE INDEX t_v ON t (v)")
        conn.execute("CREATE TABLE tot (k INTEGER PRIMARY KEY, n INTEGER, s INTEGER)")
        conn.execute("INSERT INTO tot VALUES (0, 0, 0)")
        conn.collection("c").create_index("v")
    conn.execute("INSERT INTO led VALUES (?)", (i,))
    conn.execute("INSERT INTO t VALUES (?, ?, ?)", (i, value(i), "s" * (i % 40)))
    conn.collection("c").insert_one({"_id": i, "v": value(i), "pad": "p" * (i % 60)})
    if i % 5 == 0 and i >= 3:
        conn.execute("DELETE FROM t WHERE id = ?", (i - 3,))
        conn.collection("c").delete_one({"_id": i - 3})
    conn.execute("UPDATE tot SET n = n + 1, s = s + ? WHERE k = 0", (i,))
    if i % 17 == 0:
        if (i // 17) % 2 == 0:
            conn.execute("CREATE INDEX t_s ON t (s)")
        else:
            conn.execute("DROP INDEX t_s")
    if i % 23 == 0:
        conn.execute(f"CREATE TABLE x{i} (a INTEGER)")
        conn.execute(f"INSERT INTO x{i} VALUES ({i})")
        if i >= 23:
            conn.execute(f"DROP TABLE x{i - 23}")
    conn.commit()


def main() -> None:
    db, shadow, acks, engine, sync, crash_at, seed, count = sys.argv[1:]
    del seed  # the workload is deterministic; CRASH_AT is the random part
    fs = FaultFS(db, shadow, crash_at=int(crash_at) or None).install()
    import docdb

    conn = docdb.connect(db, engine=engine, sync=sync, **OPTIONS)
    start = 0
    if "led" in tables(conn):
        start = conn.execute("SELECT count(*) FROM led").fetchone()[0]
    with open(acks, "a", buffering=1) as ack:
        for i in range(start, start + int(count)):
            transaction(conn, i)
            ack.write(f"{i}\n")
            if i % 40 == 39:
                conn.compact()
    conn.close()
    print("EVENTS", fs.events, flush=True)


if __name__ == "__main__":
    main()
