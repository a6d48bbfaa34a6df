"""Write and space amplification of the overwrite-heavy run, for every system.

* write amplification = bytes the system wrote to its files / bytes the user
  wrote (keys + values of the N overwrites), over the run, and over the run
  plus the merge or compaction that follows it;
* space amplification = bytes of all files in the system's directory (apparent
  sizes, so preallocated space counts) / keys + values of the live data,
  after the run and again after the merge.

Bytes written come from each peer's ``bytes_written`` counter, whose method is
printed beside the numbers: docdb's engines count their own writes (``stats()``;
the hash engine writes through a memory map, which no system-call counter sees);
every other system is measured by ``wchar`` of /proc/self/io, i.e. bytes handed
to write-family system calls by any of the process's threads (LevelDB's
background compaction included). Neither counts what the device or file system
adds (journal, partial-page rewrites).

Reading the numbers: the run is one write phase, which for sqlite3 is one
transaction, so each page is written once however often its rows changed (its
write amp can be below 1); under sync="normal" those pages go to the WAL and
reach the database file at the checkpoint that the merge forces.
May import: the standard library and bench modules.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

from bench.report import markdown_table

__all__ = ["Amplification", "directory_bytes", "render"]


def directory_bytes(path: str) -> int:
    """Apparent size of every file under ``path``: what the store costs on disk now."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except FileNotFoundError:  # a background compaction removed it meanwhile
                pass
    return total


@dataclass(frozen=True)
class Amplification:
    """Raw byte counts of one system's overwrite run; the ratios are derived."""

    method: str  # how bytes written were counted: "stats()" or "wchar"
    user_bytes: int  # keys + values the user wrote during the run
    live_bytes: int  # keys + values live after it
    written_run: int  # bytes written to files during the run
    written_merge: int  # ... and during the merge after it
    disk_before_merge: int
    disk_after_merge: int

    def ratios(self) -> dict[str, float]:
        u, live = self.user_bytes, self.live_bytes
        return {"write_run": self.written_run / u,
                "write_with_merge": (self.written_run + self.written_merge) / u,
                "space_before_merge": self.disk_before_merge / live,
                "space_after_merge": self.disk_after_merge / live}

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), **self.ratios()}


COLUMNS = [("write amp: run", "write_run"),
           ("write amp: run + merge", "write_with_merge"),
           ("space amp: before merge", "space_before_merge"),
           ("space amp: after merge", "space_after_merge")]


def render(amps: dict[str, Amplification], sync: str) -> str:
    """The small table: one row per system, ratios then how writes were counted."""
    rows = [[system, *(f"{a.ratios()[key]:.2f}" for _, key in COLUMNS), a.method]
            for system, a in amps.items()]
    table = markdown_table(["system", *(h for h, _ in COLUMNS), "bytes written counted by"], rows)
    a = next(iter(amps.values()))
    return (f"### amplification, sync={sync}\n\n{table}\n\n"
            f"After the overwrite run: {a.user_bytes:,} bytes of keys + values written, "
            f"{a.live_bytes:,} live. Write amp = bytes written to files / bytes written by "
            f"the user; space amp = bytes of all files in the store's directory / live "
            f"bytes. stats() = the engine's own count; wchar = /proc/self/io, bytes passed "
            f"to write system calls.\n")
