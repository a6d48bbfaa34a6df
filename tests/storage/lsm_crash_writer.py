"""Child process of the LSM crash tests: writes a seeded stream of operations.

Run as ``python lsm_crash_writer.py DIR SEED MODE SYNC MEMTABLE_BYTES [DIE_AT]``.
It opens the LSM engine in ``DIR`` with tiny thresholds (``memtable_bytes``,
256-byte blocks, fanout 2) so that memtable rotations, flushes and compactions
happen every few operations, prints ``OPEN`` and then, for the i-th operation
of ``operations(SEED)``, applies it and prints ``ACK i`` only *after* the call
returned (one ``os.write`` per line, so a line is never half there). It runs
until it is SIGKILLed. Any exception is printed as ``ERR ...`` and ends the
process with status 3, so the parent can tell a bug from a kill.

``MODE`` is ``plain`` (background flushes and compactions only) or ``compact``
(a second thread also calls ``compact()`` in a loop, so kills land in the
middle of full merges).

``DIE_AT`` (``EVENT:N``) makes the child SIGKILL *itself* at the N-th time an
engine thread reaches ``EVENT``, one step of a flush or a compaction (the
engine's calls to ``os.replace``/``os.unlink``/``os.fsync`` are wrapped, in
this process only, to count them). Before it dies it prints ``DIE EVENT``.
Events (see ``EVENTS``):

* ``sst-fsync``      a table's ``.sst.tmp`` is written, about to be fsynced
* ``sst-rename``     the fsynced ``.sst.tmp`` is about to be renamed to ``.sst``
* ``sst-renamed``    the ``.sst`` is in place, the manifest does not name it yet
* ``manifest-rename`` ``MANIFEST.tmp`` is written, about to replace ``MANIFEST``
* ``manifest-renamed`` the new ``MANIFEST`` is in place, obsolete files not yet deleted
* ``log-unlink``     an obsolete log is about to be deleted
* ``sst-unlink``     a table (a compaction input, or an orphan) is about to be deleted
* ``log-grow``       the mapped log is about to be extended (``posix_fallocate``)
* ``log-unpublished`` a write's records are copied into the mapped log but its first
                     4 bytes, which publish it, are not: the moment a kill inside the
                     ``memcpy`` leaves (the copy is made with zeros there, then the
                     child dies)

The parent imports ``operations``, ``apply`` and ``KEYS`` from this module to
regenerate exactly the operations the child performed.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

try:
    from tests.storage import crash_ops
except ImportError:  # run as a script: this folder is on sys.path
    import crash_ops  # type: ignore[no-redef]

KEYS = [b"key-%04d" % i for i in range(160)]
MAX_OPS = crash_ops.MAX_OPS
PROFILE = crash_ops.Profile(
    keys=KEYS,
    big=(0.03, 5_000, 20_000),  # larger than a memtable: a rotation on its own
    medium=(0.2, 300, 1_500),  # larger than a block
    small_max=120,
    delete_below=0.72,
    batch_max=9,
    batch_delete=0.25,
)
apply = crash_ops.apply
_say = crash_ops.say


def operations(seed: int):
    return crash_ops.operations(seed, PROFILE)
BLOCK_BYTES = 256
FANOUT = 2
EVENTS = ("sst-fsync", "sst-rename", "sst-renamed", "manifest-rename", "manifest-renamed",
          "log-unlink", "sst-unlink", "log-grow", "log-unpublished")

def options(sync: str, memtable_bytes: int) -> dict:
    """The engine options the child (and the parent, to read back) opens with."""
    return {"engine": "lsm", "sync": sync, "memtable_bytes": memtable_bytes,
            "block_bytes": BLOCK_BYTES, "fanout": FANOUT, "sync_interval": 0.05}


def _fd_name(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


def install_die_at(spec: str) -> None:
    """Wrap os.replace/os.unlink/os.fsync so the process kills itself at the N-th ``EVENT``."""
    event, _, count = spec.partition(":")
    if event not in EVENTS:
        raise SystemExit(f"unknown event {event!r}; choose one of {EVENTS}")
    target, seen = int(count), [0]
    lock = threading.Lock()

    def reached(name: str) -> None:
        if name != event:
            return
        with lock:
            seen[0] += 1
            if seen[0] == target:
                _say("DIE " + event)
                os.kill(os.getpid(), signal.SIGKILL)
                time.sleep(10)  # never returns

    real_replace, real_unlink, real_fsync = os.replace, os.unlink, os.fsync

    def replace(src, dst, *args, **kwargs):
        name = os.path.basename(os.fspath(dst))
        kind = "sst" if name.endswith(".sst") else "manifest" if name == "MANIFEST" else None
        if kind:
            reached(kind + "-rename")
        real_replace(src, dst, *args, **kwargs)
        if kind:
            reached(kind + "-renamed")

    def unlink(path, *args, **kwargs):
        name = os.fspath(path)
        if name.endswith(".log"):
            reached("log-unlink")
        elif name.endswith(".sst"):
            reached("sst-unlink")
        real_unlink(path, *args, **kwargs)

    def fsync(fd):
        if isinstance(fd, int) and _fd_name(fd).endswith(".sst.tmp"):
            reached("sst-fsync")
        real_fsync(fd)

    real_fallocate = os.posix_fallocate

    def fallocate(fd, offset, length):
        if _fd_name(fd).endswith(".log"):
            reached("log-grow")
        real_fallocate(fd, offset, length)

    os.replace, os.unlink, os.fsync, os.posix_fallocate = replace, unlink, fsync, fallocate
    if event == "log-unpublished":
        from storage.lsm.wal import MappedLog

        real_append = MappedLog.append_parts

        def append_parts(self, head, body):
            with lock:
                due = seen[0] + 1 == target
            if due:  # everything but the publishing bytes reaches the page cache
                real_append(self, b"\0" * len(head), body)
            reached("log-unpublished")
            real_append(self, head, body)

        MappedLog.append_parts = append_parts


def main(argv: list[str]) -> None:
    directory, seed, mode, sync, memtable_bytes = argv[0], int(argv[1]), argv[2], argv[3], int(argv[4])
    if len(argv) > 5:
        install_die_at(argv[5])
    import storage

    crash_ops.run(lambda: storage.open(directory, **options(sync, memtable_bytes)),
                  seed, PROFILE, mode, pause=0.001)


if __name__ == "__main__":
    main(sys.argv[1:])
