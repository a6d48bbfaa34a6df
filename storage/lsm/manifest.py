"""The manifest: which SSTables are live, in recency order, and which logs are still needed.

It is rewritten whole, atomically (``storage.files.atomic_write``), after every
flush and compaction, so the set of live files changes in one step. Format
(version 1), little-endian::

    magic       8 bytes  b"\\x89DocDBmf"
    version     u32      1
    next_file   u64      the next unused file number
    log_number  u64      logs numbered below this are obsolete
    last_seq    u64      highest sequence number in the live tables
    count       u32      tables, newest first
    tables      count x (file_no u64, size u64)
    crc32       u32      of everything before it

May import: the standard library and ``storage``'s own modules.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass, field

from storage.errors import CorruptionError, FormatError
from storage.files import atomic_write

NAME = "MANIFEST"
MAGIC = b"\x89DocDBmf"
VERSION = 1
_HEAD = struct.Struct("<8sIQQQI")
_TABLE = struct.Struct("<QQ")


@dataclass
class Manifest:
    next_file: int = 1
    log_number: int = 0
    last_seq: int = 0
    tables: list[tuple[int, int]] = field(default_factory=list)  # (file_no, size), newest first

    def encode(self) -> bytes:
        body = _HEAD.pack(MAGIC, VERSION, self.next_file, self.log_number, self.last_seq,
                          len(self.tables))
        body += b"".join(_TABLE.pack(*t) for t in self.tables)
        return body + struct.pack("<I", zlib.crc32(body))

    def save(self, directory: str) -> int:
        data = self.encode()
        atomic_write(os.path.join(directory, NAME), data)
        return len(data)

    @classmethod
    def load(cls, directory: str) -> Manifest:
        path = os.path.join(directory, NAME)
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            raise CorruptionError("the manifest is missing: which tables are live is unknown",
                                  path) from None
        if len(raw) < _HEAD.size + 4 or zlib.crc32(raw[:-4]) != int.from_bytes(raw[-4:], "little"):
            raise CorruptionError("manifest checksum mismatch", path, 0)
        magic, version, next_file, log_number, last_seq, count = _HEAD.unpack_from(raw)
        if magic != MAGIC:
            raise FormatError(f"{path!r} is not a docdb manifest")
        if version > VERSION:
            raise FormatError(f"{path!r} has manifest format {version}; this docdb reads up to {VERSION}")
        if len(raw) != _HEAD.size + count * _TABLE.size + 4:
            raise CorruptionError("manifest length does not match its table count", path, 0)
        tables = [_TABLE.unpack_from(raw, _HEAD.size + i * _TABLE.size) for i in range(count)]
        return cls(next_file, log_number, last_seq, tables)
