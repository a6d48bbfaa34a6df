"""A process of the many-processes torture test (``test_processes.py``): a bank.

Run as ``python bank_worker.py DIR ENGINE ROLE SEED``. The database holds a table
``acct`` (id, bal, with an index on bal) and a collection ``ledger`` (one document per
transfer, indexed by the paying account). ROLE:

* ``writer`` -- transfers forever: each moves an amount between two accounts (two
  UPDATEs) and records it in the ledger, in one transaction; prints ``ACK <id>`` once
  ``commit()`` returned. A busy writer lock or a stale snapshot is retried.
* ``reader`` -- checks forever, each time in one snapshot (BEGIN ... ROLLBACK): the total
  never changes, each balance is what the ledger says, and the bal index and the
  ledger's index agree with the data. Prints ``OK <n>`` now and then, or ``BAD ...``
  and exits 1.
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import docdb  # noqa: E402
from tests.children import check_forever  # noqa: E402

ACCOUNTS = 12
START = 1000
OPTIONS = {"checkpoint_bytes": 24_000,
           "storage_options": {"lsm": {"memtable_bytes": 4096, "fanout": 2, "block_bytes": 512},
                               "hash": {"segment_bytes": 32768, "merge_min_bytes": 8192}}}


def connect(directory: str, engine: str) -> docdb.Connection:
    return docdb.connect(directory, engine=engine, timeout=10, sync="normal", **OPTIONS)


def create(conn: docdb.Connection) -> None:
    conn.execute("CREATE TABLE acct (id INTEGER PRIMARY KEY, bal INTEGER NOT NULL)")
    conn.execute("CREATE INDEX acct_bal ON acct (bal)")
    conn.executemany("INSERT INTO acct VALUES (?, ?)", [(i, START) for i in range(ACCOUNTS)])
    conn.collection("ledger").create_index("frm")
    conn.commit()


def transfer(conn: docdb.Connection, rng: random.Random, tid: str) -> None:
    frm, to = rng.sample(range(ACCOUNTS), 2)
    amount = rng.randint(1, 50)
    conn.execute("UPDATE acct SET bal = bal - ? WHERE id = ?", (amount, frm))
    conn.execute("UPDATE acct SET bal = bal + ? WHERE id = ?", (amount, to))
    conn.collection("ledger").insert_one({"_id": tid, "frm": frm, "to": to, "amt": amount})
    conn.commit()


def check(conn: docdb.Connection) -> str | None:
    """Every invariant, in one snapshot; what is wrong, or None."""
    rows = dict(conn.execute("SELECT id, bal FROM acct").fetchall())
    if len(rows) != ACCOUNTS or sum(rows.values()) != ACCOUNTS * START:
        return f"total {sum(rows.values())} over {len(rows)} accounts"
    expected = dict.fromkeys(range(ACCOUNTS), START)
    ledger = list(conn.collection("ledger").find())
    for entry in ledger:
        expected[entry["frm"]] -= entry["amt"]
        expected[entry["to"]] += entry["amt"]
    if expected != rows:
        return f"balances {rows} but the ledger of {len(ledger)} says {expected}"
    by_index = conn.execute("SELECT id, bal FROM acct WHERE bal > -1000000000 ORDER BY bal, id").fetchall()
    if sorted(by_index, key=lambda r: (r[1], r[0])) != sorted(rows.items(), key=lambda r: (r[1], r[0])):
        return "the bal index disagrees with the table"
    for account in range(ACCOUNTS):
        paid = conn.collection("ledger").count_documents({"frm": account})
        if paid != sum(1 for e in ledger if e["frm"] == account):
            return f"the ledger's frm index disagrees for account {account}"
    return None


def main(argv: list[str]) -> int:
    directory, engine, role, seed = argv[0], argv[1], argv[2], int(argv[3])
    rng = random.Random(seed)
    conn = connect(directory, engine)
    if role == "writer":
        n = 0
        while True:
            tid = f"{os.getpid()}-{seed}-{n}"
            try:
                transfer(conn, rng, tid)
            except docdb.OperationalError:  # locked for too long, or a stale snapshot: again
                conn.rollback()
                continue
            print("ACK", tid, flush=True)
            n += 1
    return check_forever(conn, check)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
