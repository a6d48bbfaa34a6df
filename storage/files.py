"""File helpers every engine shares: crash-safe replacement, the directory lock, the identity file.

* ``atomic_write`` is the one way any file is replaced: write a temp file, fsync
  it, rename it over the target, fsync the directory. After a crash the target
  holds either the old bytes or the new ones, never a mix.
* ``DirLock`` makes one process the owner of an engine directory. It uses
  ``flock`` on ``LOCK``, which the kernel releases when the process dies, so a
  crashed writer never leaves a stale lock; the holder's pid is written into the
  file so the error can name it.
* The identity file ``DOCDB`` says which engine and format version own the
  directory, so a hash directory is never opened as an LSM one (or vice versa),
  and a directory of unrelated files is refused before anything is written.
  Its format is one ASCII line: ``docdb-storage <engine> <version>\\n``.

May import: the standard library and ``storage.errors``.
"""

from __future__ import annotations

import errno
import fcntl
import os
import zlib

from storage.errors import CorruptionError, FormatError, LockedError

IDENTITY_NAME = "DOCDB"
LOCK_NAME = "LOCK"
DURABLE_NAME = "DURABLE"
TEMP_SUFFIX = ".tmp"
_IDENTITY_MAGIC = "docdb-storage"


def fsync_dir(directory: str) -> None:
    """Make renames and unlinks inside ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    """``os.write`` until every byte is written: a write may be cut short (a signal, a
    nearly full disk) without failing."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def preallocate(fd: int, size: int) -> None:
    """Make the file ``size`` bytes long with its blocks reserved (``posix_fallocate``; a
    plain ``ftruncate`` where the file system has no fallocate), so that writes through a
    memory map never find the disk full (which would be a ``SIGBUS``, not an error)."""
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as error:
        if error.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
            raise
        os.ftruncate(fd, size)


def make_directories(path: str) -> None:
    """``os.makedirs``, durably: each directory made is fsynced into its parent, so a power
    loss never drops a directory whose files were fsynced."""
    path = os.path.abspath(path)
    if os.path.isdir(path):
        return
    make_directories(os.path.dirname(path))
    try:
        os.mkdir(path)
    except FileExistsError:  # another process made it meanwhile
        if not os.path.isdir(path):
            raise
        return
    fsync_dir(os.path.dirname(path))


def atomic_write(path: str, data: bytes | list[bytes]) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves old or new, never torn."""
    tmp = path + TEMP_SUFFIX
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        chunks = [data] if isinstance(data, (bytes, bytearray, memoryview)) else data
        for chunk in chunks:
            write_all(fd, chunk)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(os.path.dirname(os.path.abspath(path)))


def write_checked(path: str, chunks: list[bytes]) -> None:
    """``atomic_write`` of ``chunks`` followed by the crc32 (u32, little-endian) of them all:
    the framing of the engines' small index files (hint files, the saved keydir)."""
    crc = 0
    for chunk in chunks:
        crc = zlib.crc32(chunk, crc)
    atomic_write(path, [*chunks, crc.to_bytes(4, "little")])


def read_checked(path: str) -> bytes | None:
    """What ``write_checked`` wrote at ``path``, its crc32 still on the end (the layouts
    count lengths from the file's start), or None if the file is missing or the checksum
    fails."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return None
    if len(raw) < 4 or zlib.crc32(memoryview(raw)[:-4]) != int.from_bytes(raw[-4:], "little"):
        return None
    return raw


class DurableMark:
    """The ``DURABLE`` file of an engine directory: which file the engine appends to, and
    how long it was when ``flush`` last made it durable. A torn tail is the mark of a
    crash only past that length: an open that finds the file shorter, or torn before
    it, has found damage, and says so instead of serving the older values the lost
    records had replaced (``durable_length`` reads it back)."""

    def __init__(self, directory: str):
        self.directory = directory
        self._last: tuple[str, int] | None = None  # what this object last recorded

    def record(self, path: str, length: int) -> None:
        """After an fsync of ``path``: its first ``length`` bytes are durable."""
        if length and (path, length) != self._last:
            body = f"{os.path.basename(path)} {length}".encode()
            atomic_write(os.path.join(self.directory, DURABLE_NAME),
                         body + f" {zlib.crc32(body):08x}\n".encode())
            self._last = (path, length)


def durable_length(directory: str, file_name: str) -> int:
    """The length ``DurableMark`` last recorded for ``file_name`` (0: none, or another file)."""
    path = os.path.join(directory, DURABLE_NAME)
    try:
        with open(path, "rb") as f:
            raw = f.read(512)
    except FileNotFoundError:
        return 0
    parts = raw.split()
    if len(parts) != 3 or not parts[1].isdigit() or \
            f"{zlib.crc32(parts[0] + b' ' + parts[1]):08x}".encode() != parts[2]:
        raise CorruptionError("the durable mark is damaged", path, 0)
    return int(parts[1]) if parts[0].decode("utf-8", "replace") == file_name else 0


def directory_bytes(directory: str) -> int:
    """Bytes of the files in ``directory``: what the engine costs on disk.

    Background work may rename or delete a file while this runs; it is skipped.
    """
    total = 0
    for entry in os.scandir(directory):
        try:
            if entry.is_file():
                total += entry.stat().st_size
        except FileNotFoundError:
            pass
    return total


def remove_temp_files(directory: str) -> None:
    """Delete leftovers of writes that a crash interrupted before their rename."""
    for name in os.listdir(directory):
        if name.endswith(TEMP_SUFFIX):
            os.unlink(os.path.join(directory, name))


def write_pid(fd: int) -> None:
    """This process's pid into a lock file it holds, so another's error can name it: a fixed
    width, overwriting the last holder's without truncating. Best effort: on a full disk
    the lock is held all the same."""
    try:
        os.pwrite(fd, f"{os.getpid():<12}\n".encode(), 0)
    except OSError:
        pass


class DirLock:
    """An exclusive, process-owned lock on an engine directory."""

    def __init__(self, directory: str):
        self.path = os.path.join(directory, LOCK_NAME)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise LockedError(
                f"engine directory {directory!r} is locked by process {holder}; "
                "only one process may open it at a time"
            ) from None
        write_pid(fd)
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def prepare_directory(path: str, engine: str, version: int, owned_files) -> bool:
    """Check that ``path`` may hold ``engine``; create it if new. Returns True if new.

    ``owned_files(name) -> bool`` says whether a file name belongs to the engine;
    a directory with files nobody owns, another engine's identity, or a newer
    format version is refused with ``FormatError`` and left untouched.
    """
    if os.path.exists(path) and not os.path.isdir(path):
        raise FormatError(f"{path!r} is a file, not a docdb engine directory")
    if not os.path.exists(path):
        make_directories(path)
    identity = os.path.join(path, IDENTITY_NAME)
    # LOCK, and an identity file whose creation a crash interrupted, are ours.
    names = [n for n in os.listdir(path) if n not in (LOCK_NAME, IDENTITY_NAME + TEMP_SUFFIX)]
    if not os.path.exists(identity):
        if names:
            raise FormatError(
                f"{path!r} is not a docdb {engine} engine directory "
                f"(it holds {sorted(names)[:3]!r} and no {IDENTITY_NAME} file)"
            )
        return True
    _check_identity(path, engine, version)
    ours = (IDENTITY_NAME, DURABLE_NAME, DURABLE_NAME + TEMP_SUFFIX)
    strangers = [n for n in names if n not in ours and not owned_files(n)]
    if strangers:
        raise FormatError(f"{path!r} holds files that are not the {engine} engine's: {strangers[:3]!r}")
    return False


def claim_directory(path: str, engine: str, version: int, owned_files) -> tuple[DirLock, bool]:
    """Check, lock and (if new) stamp an engine directory.

    Returns the held lock and whether the directory is new. Every refusal
    happens before anything is written. Engines remove temp leftovers
    (``remove_temp_files``) only once they have checked what they found, so a
    refused open leaves the directory as the crash left it.
    """
    new = prepare_directory(path, engine, version, owned_files)
    lock = DirLock(path)
    try:
        if new:
            write_identity(path, engine, version)
    except BaseException:
        lock.release()
        raise
    return lock, new


def check_readable(path: str, engine: str, version: int) -> None:
    """For a read-only open: ``path`` must already be a directory of ``engine`` in a format
    this code reads. Nothing is created, locked or written."""
    if not os.path.isdir(path) or not os.path.exists(os.path.join(path, IDENTITY_NAME)):
        raise FormatError(f"{path!r} is not a docdb {engine} engine directory (a read-only open "
                          "creates nothing)")
    _check_identity(path, engine, version)


def _check_identity(path: str, engine: str, version: int) -> None:
    """The identity file of ``path`` names ``engine``, in a version this code reads."""
    found_engine, found_version = read_identity(os.path.join(path, IDENTITY_NAME))
    if found_engine != engine:
        raise FormatError(f"{path!r} holds a docdb {found_engine!r} engine, not {engine!r}")
    if found_version > version:
        raise FormatError(f"{path!r} uses {engine} format version {found_version}; "
                          f"this docdb reads versions up to {version}")


def write_identity(path: str, engine: str, version: int) -> None:
    atomic_write(os.path.join(path, IDENTITY_NAME), f"{_IDENTITY_MAGIC} {engine} {version}\n".encode())


def read_identity(identity_path: str) -> tuple[str, int]:
    with open(identity_path, "rb") as f:
        raw = f.read(256)
    parts = raw.decode("ascii", "replace").split()
    if len(parts) != 3 or parts[0] != _IDENTITY_MAGIC or not parts[2].isdigit():
        raise FormatError(f"{identity_path!r} is not a docdb identity file")
    return parts[1], int(parts[2])
