"""Child process of the foreign-key crash test: cascading changes, one committed transaction
after another, until it is killed.

Run as ``python fk_crash_writer.py DIR``. Transaction n inserts parent n with three
children, deletes parent n - 2 (ON DELETE CASCADE takes its children), moves parent
n - 1's key to n + 1_000_000 (ON UPDATE CASCADE moves its children's key), and sets the
counter row to n; then it prints ``ACK n``.
"""

from __future__ import annotations

import os
import sys

try:
    import docdb
except ImportError:  # run as a script from a checkout
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    import docdb

SCHEMA = """
    CREATE TABLE IF NOT EXISTS parent (id INTEGER PRIMARY KEY);
    CREATE TABLE IF NOT EXISTS child (id INTEGER PRIMARY KEY,
        pid INTEGER REFERENCES parent (id) ON DELETE CASCADE ON UPDATE CASCADE, n INTEGER CHECK (n >= 0));
    CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY, done INTEGER);
"""


def main(directory: str) -> None:
    conn = docdb.connect(directory, sync="full")
    conn.executescript(SCHEMA)
    conn.commit()
    start = (conn.execute("SELECT done FROM counter WHERE id = 0").fetchone() or (0,))[0] + 1
    print("OPEN", flush=True)
    n = start
    while True:
        conn.execute("INSERT INTO parent VALUES (?)", (n,))
        conn.executemany("INSERT INTO child VALUES (?, ?, ?)", [(n * 10 + k, n, k) for k in range(3)])
        conn.execute("DELETE FROM parent WHERE id = ?", (n - 2,))
        conn.execute("UPDATE parent SET id = ? WHERE id = ?", (n - 1 + 1_000_000, n - 1))
        conn.execute("INSERT INTO counter VALUES (0, ?) ON CONFLICT (id) DO UPDATE SET done = excluded.done",
                     (n,))
        conn.commit()
        print(f"ACK {n}", flush=True)
        n += 1


if __name__ == "__main__":
    main(sys.argv[1])
