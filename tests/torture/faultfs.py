"""A file layer for tests that simulates power loss and injects I/O faults.

docdb and its engines call ``os`` directly, so this layer replaces the ``os`` functions
that write (``open`` with a write flag, ``write``, ``pwrite``, ``ftruncate``,
``posix_fallocate``, ``fsync``, ``fdatasync``, ``rename``, ``replace``, ``unlink``,
``mkdir``, ``rmdir``) for one process, and looks only at files under ``root``.

**Power loss**, in the manner of LevelDB's ``fault_injection_test``: the layer keeps, in a
*shadow* directory outside ``root``, what a disk would still hold if the power failed
now -- for each file, its bytes as of its last ``fsync``/``fdatasync`` (empty if it was
never synced since it was made); for each directory, its names as of its last ``fsync``
(so a create, rename or unlink not followed by an fsync of the directory is undone).
Memory-mapped writes are seen too: a file's bytes are read back through the kernel
when it is synced. ``crash_at=n`` ends the process (``os._exit``) just before the n-th
write-like call under ``root``, as a power cut would; the shadow is updated before an
fsync returns, so whatever the process was told is durable is in it. ``rebuild``
then writes the surviving state to a new directory, for the test to open.

**Faults**: ``fail_at=n`` makes the n-th call of an operation in ``fail_ops`` raise
``OSError(errno)`` (and every later one, if ``sticky`` -- a full disk stays full), or,
with ``short=True``, makes that ``write`` write only half its bytes.

Only tests import this module.
"""

from __future__ import annotations

import errno as errno_codes
import json
import os
import stat
import sys
import threading

_REAL = {
    name: getattr(os, name)
    for name in (
        "open",
        "write",
        "pwrite",
        "ftruncate",
        "posix_fallocate",
        "fsync",
        "fdatasync",
        "rename",
        "replace",
        "unlink",
        "mkdir",
        "rmdir",
    )
}
CRASH_EXIT = 77  # the exit status of a process that "lost power"
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


class FaultFS:
    def __init__(
        self,
        root: str,
        shadow: str | None = None,
        *,
        crash_at: int | None = None,
        fail_at: int | None = None,
        fail_ops: tuple[str, ...] = ("write",),
        errno: int = errno_codes.EIO,
        sticky: bool = False,
        short: bool = False,
    ):
        self.root = os.path.realpath(root)
        self.shadow = shadow
        self.crash_at = crash_at
        self.fail_at, self.fail_ops, self.errno = fail_at, fail_ops, errno
        self.sticky, self.short = sticky, short
        self.events = 0  # write-like calls under root so far
        self.failed = 0  # faults injected so far
        self._calls = 0  # calls of an operation in fail_ops under root
        self._idents: dict[tuple[int, int], int] = {}  # (dev, inode) -> identity
        self._next_ident = 1
        self._shadow_lock = threading.RLock()  # the shadow is recorded by one thread at a time
        self.installed = False
        self.trace = bool(os.environ.get("FAULTFS_TRACE"))  # every event to stderr

    # ----- installing -------------------------------------------------------------

    def install(self) -> FaultFS:
        if self.shadow is not None:
            _REAL["mkdir"](self.shadow) if not os.path.isdir(self.shadow) else None
            self._record_tree(self.root)  # what is on disk to begin with is durable
        for name in _REAL:
            setattr(os, name, getattr(self, "_" + name))
        self.installed = True
        return self

    def uninstall(self) -> None:
        for name, function in _REAL.items():
            setattr(os, name, function)
        self.installed = False

    def __enter__(self) -> FaultFS:
        return self.install()

    def __exit__(self, *exc) -> None:
        self.uninstall()

    # ----- deciding ---------------------------------------------------------------

    def _under_root(self, path) -> bool:
        if isinstance(path, int):
            path = _fd_path(path)
        if path is None:
            return False
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        full = os.path.abspath(path)
        if not full.startswith(self.root):
            full = os.path.realpath(full)
        return full == self.root or full.startswith(self.root + os.sep)

    def _event(self, op: str, target) -> bool:
        """Count a write-like call; crash or fail when its turn comes. True: ``short``."""
        if not self._under_root(target):
            return False
        self.events += 1
        if self.trace:
            print(
                f"faultfs {self.events} {op} {_fd_path(target) if isinstance(target, int) else target}",
                file=sys.stderr,
                flush=True,
            )
        if self.crash_at is not None and self.events >= self.crash_at:
            os._exit(CRASH_EXIT)
        if self.fail_at is None or op not in self.fail_ops:
            return False
        self._calls += 1
        if self._calls == self.fail_at or (self.sticky and self._calls > self.fail_at):
            self.failed += 1
            if self.short and op == "write":
                return True
            raise OSError(self.errno, f"{os.strerror(self.errno)} (injected)")
        return False

    # ----- the replaced functions -------------------------------------------------

    def _open(self, path, flags, mode=0o777, *, dir_fd=None):
        if flags & _WRITE_FLAGS and dir_fd is None:
            self._event("open", path)
            existed = os.path.exists(path)
            fd = _REAL["open"](path, flags, mode)
            if not existed and self.shadow is not None and self._under_root(path):
                self._new_ident(fd)
            return fd
        return _REAL["open"](path, flags, mode, dir_fd=dir_fd)

    def _write(self, fd, data):
        if self._event("write", fd):
            data = memoryview(data)[: max(1, len(data) // 2)]
        return _REAL["write"](fd, data)

    def _pwrite(self, fd, data, offset):
        if self._event("write", fd):
            data = memoryview(data)[: max(1, len(data) // 2)]
        return _REAL["pwrite"](fd, data, offset)

    def _ftruncate(self, fd, length):
        self._event("truncate", fd)
        return _REAL["ftruncate"](fd, length)

    def _posix_fallocate(self, fd, offset, length):
        self._event("allocate", fd)
        return _REAL["posix_fallocate"](fd, offset, length)

    def _fsync(self, fd):
        return self._sync("fsync", fd)

    def _fdatasync(self, fd):
        return self._sync("fsync", fd)

    def _sync(self, op, fd):
        self._event(op, fd)
        _REAL["fsync"](fd)
        if self.shadow is not None and self._under_root(fd):
            with self._shadow_lock:  # engines fsync from background threads too
                info = os.fstat(fd)
                if stat.S_ISDIR(info.st_mode):
                    self._record_directory(_fd_path(fd), info)
                else:
                    self._record_file(fd, info)

    def _rename(self, src, dst, *, src_dir_fd=None, dst_dir_fd=None):
        self._event("rename", src)
        return _REAL["rename"](src, dst, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd)

    def _replace(self, src, dst, *, src_dir_fd=None, dst_dir_fd=None):
        self._event("rename", src)
        return _REAL["replace"](src, dst, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd)

    def _unlink(self, path, *, dir_fd=None):
        self._event("unlink", path if dir_fd is None else dir_fd)
        return _REAL["unlink"](path, dir_fd=dir_fd)

    def _mkdir(self, path, mode=0o777, *, dir_fd=None):
        self._event("mkdir", path if dir_fd is None else dir_fd)
        _REAL["mkdir"](path, mode, dir_fd=dir_fd)
        if self.shadow is not None and dir_fd is None and self._under_root(path):
            self._new_ident(path)

    def _rmdir(self, path, *, dir_fd=None):
        self._event("unlink", path if dir_fd is None else dir_fd)
        return _REAL["rmdir"](path, dir_fd=dir_fd)

    # ----- the shadow: what survives a power loss ---------------------------------

    def _new_ident(self, fd_or_path) -> int:
        with self._shadow_lock:
            info = os.stat(fd_or_path)
            ident = self._idents[(info.st_dev, info.st_ino)] = self._next_ident
            self._next_ident += 1
            return ident

    def _ident(self, info: os.stat_result) -> int:
        key = (info.st_dev, info.st_ino)
        if key not in self._idents:
            self._idents[key] = self._next_ident
            self._next_ident += 1
        return self._idents[key]

    def _record_file(self, fd: int, info: os.stat_result) -> None:
        with open(f"/proc/self/fd/{fd}", "rb") as f:
            self._save(f"file-{self._ident(info)}", f.read())

    def _record_directory(self, path: str, info: os.stat_result) -> None:
        names = {}
        for entry in os.scandir(path):
            entry_info = entry.stat(follow_symlinks=False)
            names[entry.name] = [self._ident(entry_info), stat.S_ISDIR(entry_info.st_mode)]
        self._save(f"dir-{self._ident(info)}", json.dumps(names).encode())

    def _record_tree(self, path: str) -> None:
        info = os.stat(path)
        if path == self.root:
            self._save("root", str(self._ident(info)).encode())
        self._record_directory(path, info)
        for entry in os.scandir(path):
            if entry.is_dir(follow_symlinks=False):
                self._record_tree(entry.path)
            else:
                fd = _REAL["open"](entry.path, os.O_RDONLY)
                try:
                    self._record_file(fd, os.fstat(fd))
                finally:
                    os.close(fd)

    def _save(self, name: str, data: bytes) -> None:
        """Atomically, and with the real functions: a crash never tears the shadow."""
        path = os.path.join(self.shadow, name)
        fd = _REAL["open"](path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[_REAL["write"](fd, view) :]
        finally:
            os.close(fd)
        _REAL["replace"](path + ".tmp", path)


def rebuild(shadow: str, target: str) -> None:
    """Write to ``target`` (which must not exist) what the disk held when the power failed."""
    with open(os.path.join(shadow, "root"), "rb") as f:
        root = int(f.read())
    _rebuild_directory(shadow, root, target)


def _rebuild_directory(shadow: str, ident: int, target: str) -> None:
    os.mkdir(target)
    listing = os.path.join(shadow, f"dir-{ident}")
    if not os.path.exists(listing):
        return  # never synced since it was made: empty
    with open(listing, "rb") as f:
        names = json.loads(f.read())
    for name, (child, is_dir) in names.items():
        path = os.path.join(target, name)
        if is_dir:
            _rebuild_directory(shadow, child, path)
            continue
        content = os.path.join(shadow, f"file-{child}")
        data = b""
        if os.path.exists(content):
            with open(content, "rb") as f:
                data = f.read()
        with open(path, "wb") as f:
            f.write(data)


def _fd_path(fd: int) -> str | None:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None
