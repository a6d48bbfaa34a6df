"""Child process of the hash engine crash tests: writes a seeded stream of operations.

Run as ``python crash_writer.py DIR SEED MODE SEGMENT_BYTES [SYNC]``. It opens the
hash engine in ``DIR`` with ``sync=SYNC`` (default ``"full"``), prints ``OPEN`` and then, for the i-th
operation of ``operations(SEED)``, applies it and prints ``ACK i`` only *after*
the call returned (one ``os.write`` per line, so a line is never half there).
It runs until the parent SIGKILLs it. ``MODE`` is ``plain`` or ``compact``; in
``compact`` mode a second thread calls ``compact()`` in a loop so that kills
land in the middle of merges. Any exception is printed as ``ERR ...`` and ends
the process with status 3, so the parent can tell a bug from a kill.

The parent imports ``operations`` from this module to regenerate exactly the
operations the child performed.
"""

from __future__ import annotations

import sys

try:
    from tests.storage import crash_ops
except ImportError:  # run as a script: this folder is on sys.path
    import crash_ops  # type: ignore[no-redef]

KEYS = [b"key-%03d" % i for i in range(48)]
MAX_OPS = crash_ops.MAX_OPS
PROFILE = crash_ops.Profile(
    keys=KEYS,
    big=(0.03, 40_000, 90_000),  # near or above segment_bytes: a rollover
    medium=(0.25, 2_000, 12_000),
    small_max=400,
    delete_below=0.75,
    batch_max=7,
    batch_delete=0.2,
)
apply = crash_ops.apply


def operations(seed: int):
    return crash_ops.operations(seed, PROFILE)


def main(argv: list[str]) -> None:
    directory, seed, mode, segment_bytes = argv[0], int(argv[1]), argv[2], int(argv[3])
    sync = argv[4] if len(argv) > 4 else "full"
    import storage

    crash_ops.run(lambda: storage.open(directory, engine="hash", sync=sync, segment_bytes=segment_bytes,
                                       merge_min_bytes=segment_bytes // 2),
                  seed, PROFILE, mode, pause=0.002)


if __name__ == "__main__":
    main(sys.argv[1:])
