"""Deterministic damage tests for the LSM engine: truncate, flip, swap and misplace its files.

Each test builds a small engine directory in ``tmp_path`` (4 KiB memtables and
256-byte blocks, so there are several tables of many blocks each, and a write-
ahead log with unflushed writes in it), damages it the way a crash, a bad disk
or a careless operator would, and checks exactly what the engine does:

* a damaged data block is found when it is read (blocks are read lazily, so the
  open works): ``CorruptionError`` naming the table and the block's offset, for
  every key in that block, and never a wrong value; the other blocks still serve;
* a damaged footer, meta, index or bloom block is refused at open (the table is
  read then) with ``CorruptionError`` or ``FormatError`` naming the table;
* a damaged or missing manifest, or one naming a missing table, is ``CorruptionError``;
* a torn tail of the newest log is cut and the intact prefix served (a batch is
  dropped whole); damage in the middle of a log is ``CorruptionError`` with file and offset;
* crash leftovers (``*.tmp``, tables the manifest does not name) go on open;
* foreign files, other engines and newer formats are ``FormatError``;
* an open that refuses the directory writes, renames and deletes nothing.

The tests read the files with their own parsers of the formats documented in
``storage/lsm/sstable.py``, ``storage/lsm/manifest.py`` and ``storage/record.py``,
so they can aim at a given block, field or record. Background compaction is
kept out of the way (fanout 64) except where a test asks for it.
"""

from __future__ import annotations

import os
import shutil
import struct
import time
import zlib
from pathlib import Path
from typing import NamedTuple

import pytest

import storage
from storage import CorruptionError, FormatError
from storage.lsm.manifest import Manifest
from storage.record import CONTINUED, encode
from tests.storage import damage
from tests.storage.damage import flip, read_back

OPTIONS = {"engine": "lsm", "sync": "full", "memtable_bytes": 4096, "block_bytes": 256,
           "fanout": 64, "max_tables": 64}  # no automatic compactions: each test says when
FOOTER = struct.Struct("<QIQIQI8sI")  # meta, index, bloom (offset u64, size u32), magic, version
FOOTER_SIZE = FOOTER.size + 4  # + crc32
MANIFEST_HEAD = struct.Struct("<8sIQQQI")
REC_HEADER = struct.Struct("<IIQBII")  # crc, header crc, seq, flags, klen, vlen
U32 = struct.Struct("<I")


# ----- helpers ---------------------------------------------------------------------------


def open_db(path: Path, **overrides) -> storage.Engine:
    return storage.open(path, **{**OPTIONS, **overrides})


def key(i: int) -> bytes:
    return b"k-%04d" % i


def val(i: int, gen: int = 1) -> bytes:
    return (b"v%d-%04d-" % (gen, i)).ljust(100, b".")


def files(path: Path, skip: tuple[str, ...] = ("LOCK",)) -> dict[str, bytes | None]:
    return damage.files(path, skip)


def contents(path: Path, **overrides) -> dict[bytes, bytes]:
    """Reopen and read everything back (see damage.read_back)."""
    with open_db(path, **overrides) as db:
        return read_back(db)


def tables(path: Path) -> list[Path]:
    """The live tables, newest first, as the manifest lists them."""
    return [path / f"{n:06d}.sst" for n, _ in Manifest.load(str(path)).tables]


def logs(path: Path) -> list[Path]:
    return sorted(path.glob("*.log"))


class Block(NamedTuple):
    offset: int
    size: int
    keys: list[bytes]


class Layout(NamedTuple):
    meta: tuple[int, int]
    index: tuple[int, int]
    bloom: tuple[int, int]
    blocks: list[Block]
    footer: int  # offset of the footer


def layout(path: Path) -> Layout:
    """Where everything is in a table, by the format in sstable.py's docstring."""
    raw = path.read_bytes()
    footer = len(raw) - FOOTER_SIZE
    mo, ms, io, isz, bo, bs, magic, version = FOOTER.unpack_from(raw, footer)
    assert magic == b"\x89DocDBst" and version == 2
    index = raw[io:io + isz - 4]
    (count,) = U32.unpack_from(index)
    klens = struct.unpack_from(f"<{count}I", index, 4)
    offsets = struct.unpack_from(f"<{count}Q", index, 4 + 4 * count)
    sizes = struct.unpack_from(f"<{count}I", index, 4 + 12 * count)
    blocks = []
    for off, size in zip(offsets, sizes):
        payload = raw[off:off + size - 4]
        assert zlib.crc32(payload) == U32.unpack_from(raw, off + size - 4)[0]
        (n,) = U32.unpack_from(payload)
        lens = struct.unpack_from(f"<{n}I", payload, 4)
        pos, keys = 4 + 8 * n, []
        for length in lens:
            keys.append(payload[pos:pos + length])
            pos += length
        blocks.append(Block(off, size, keys))
    assert sum(klens) == sum(len(b.keys[0]) for b in blocks)
    return Layout((mo, ms), (io, isz), (bo, bs), blocks, footer)


def build(path: Path) -> dict[bytes, bytes]:
    """Keys 0-199 written once, in order: each table holds a contiguous range that no other
    table touches. Then overwrites and deletes of keys 200-259 (newer tables that shadow
    older ones), and a last few writes left in the log. Returns the expected contents."""
    model: dict[bytes, bytes] = {}
    with open_db(path) as db:
        for i in range(260):
            db.put(key(i), val(i))
            model[key(i)] = val(i)
        for i in range(200, 260, 3):
            db.put(key(i), val(i, 2))
            model[key(i)] = val(i, 2)
        for i in range(201, 260, 5):
            db.delete(key(i))
            del model[key(i)]
        with db.batch() as b:
            for i in range(300, 305):
                b.put(key(i), val(i))
                model[key(i)] = val(i)
    assert len(tables(path)) >= 6, "the test needs several tables"
    assert logs(path) and logs(path)[-1].stat().st_size > 0, "the test needs writes in the log"
    return model


def sole_owner_block(path: Path) -> tuple[Path, Block]:
    """A middle block of an old table whose keys are in no other table (keys < 200)."""
    table = tables(path)[-2]
    blocks = layout(table).blocks
    assert len(blocks) >= 5
    block = blocks[len(blocks) // 2]
    assert all(k < key(200) for k in block.keys) and len(block.keys) >= 1
    return table, block


def assert_names(error: Exception, path: Path, offset: int | None = None) -> None:
    assert str(path) in str(error), f"{error!r} does not name {path}"
    if isinstance(error, CorruptionError):
        assert error.path == str(path)
        if offset is not None:
            assert error.offset == offset, f"{error!r}: expected offset {offset}"


def assert_refused_untouched(path: Path, errors, names: Path, offset: int | None = None) -> None:
    """Opening ``path`` raises one of ``errors`` naming ``names`` and changes no file; twice
    (so the refused open released the directory lock)."""
    before = files(path)
    for _ in range(2):
        with pytest.raises(errors) as excinfo:
            open_db(path)
        assert_names(excinfo.value, names, offset)
        assert files(path) == before, "a refused open changed the directory"


# ----- data blocks: found on read -------------------------------------------------------------------


DATA_DAMAGE = ["flip-count", "flip-klen", "flip-key", "flip-value", "flip-crc", "zero-tail"]


def damage_block(table: Path, block: Block, how: str) -> None:
    if how == "zero-tail":  # a torn page: the block's second half never reached the disk
        half = block.size // 2
        with open(table, "r+b") as f:
            f.seek(block.offset + half)
            f.write(bytes(block.size - half))
        return
    if how == "swap-with-neighbour":  # a whole, checksum-valid block where another belongs
        blocks = layout(table).blocks
        other = blocks[blocks.index(block) + 1]
        raw = table.read_bytes()
        size = min(block.size, other.size)
        with open(table, "r+b") as f:
            f.seek(block.offset)
            f.write(raw[other.offset:other.offset + size])
        return
    n = len(block.keys)
    at = {"flip-count": 0, "flip-klen": 4, "flip-key": 4 + 8 * n + 1, "flip-value": block.size - 6,
          "flip-crc": block.size - 2}[how]
    flip(table, block.offset + at, 3)


@pytest.mark.parametrize("how", DATA_DAMAGE)
def test_damaged_data_block_is_corruption_on_read(tmp_path, how):
    db_path = tmp_path / "db"
    model = build(db_path)
    table, block = sole_owner_block(db_path)
    damage_block(table, block, how)
    victims = set(block.keys)

    with open_db(db_path) as db:  # blocks are read lazily: the open works
        for k in sorted(victims):
            for call in (db.get, db.__contains__, db.__getitem__):
                with pytest.raises(CorruptionError) as excinfo:
                    call(k)
                assert_names(excinfo.value, table, block.offset)
        for k, v in model.items():  # every other key is still served, right
            if k not in victims:
                assert db.get(k) == v

        first, last = min(victims), max(victims)
        for reverse in (False, True):
            seen = []
            with pytest.raises(CorruptionError) as excinfo:
                for k, v in db.scan(reverse=reverse):
                    assert k not in victims and v == model[k], f"scan served {k!r} wrongly"
                    seen.append(k)
            assert_names(excinfo.value, table, block.offset)
            expected = [k for k in sorted(model, reverse=reverse)
                        if (k < first if not reverse else k > last)]
            assert seen[:len(expected)] == expected[:len(seen)]
        with pytest.raises(CorruptionError):
            list(db.scan(first, last + b"\x00"))
        assert dict(db.scan(stop=key(1))) == {key(0): model[key(0)]}
        assert dict(db.scan(start=key(200))) == {k: v for k, v in model.items() if k >= key(200)}
        with pytest.raises(CorruptionError):
            len(db)
        with pytest.raises(CorruptionError):  # and again: nothing bad was cached
            db.get(first)
        db.put(b"new", b"write")  # the engine still takes writes
        assert db.get(b"new") == b"write"


def test_block_overwritten_by_its_neighbour_is_corruption(tmp_path):
    """A whole, checksum-valid data block where another belongs (a misdirected write; here
    the next block of the same table, of the same size) is corruption: the index holds
    each block's first key, and the reader checks it (as the hash engine checks that a
    record holds the key its index says)."""
    db_path = tmp_path / "db"
    model = build(db_path)
    table, block = sole_owner_block(db_path)
    blocks = layout(table).blocks
    neighbour = blocks[blocks.index(block) + 1]
    assert neighbour.size == block.size, "the test needs two blocks of one size"
    damage_block(table, block, "swap-with-neighbour")
    with open_db(db_path) as db:
        for k in block.keys:
            with pytest.raises(CorruptionError) as excinfo:
                db.get(k)
            assert excinfo.value.path == str(table)
        with pytest.raises(CorruptionError):
            list(db.scan())
        assert db.get(neighbour.keys[0]) == model[neighbour.keys[0]]


def test_compact_over_damaged_block_fails_without_harm(tmp_path):
    db_path = tmp_path / "db"
    model = build(db_path)
    table, block = sole_owner_block(db_path)
    damage_block(table, block, "flip-value")
    with open_db(db_path) as db:
        live = tables(db_path)
        with pytest.raises(CorruptionError) as excinfo:
            db.compact()
        assert_names(excinfo.value, table, block.offset)
        assert not list(db_path.glob("*.tmp")), "the failed compaction left temp files"
        assert all(t.exists() for t in live), "the failed compaction deleted its inputs"
        for k, v in model.items():
            if k not in block.keys:
                assert db.get(k) == v
    with open_db(db_path) as db:  # the same after a reopen: nothing was dropped
        for k, v in model.items():
            if k not in block.keys:
                assert db.get(k) == v
        with pytest.raises(CorruptionError):
            db.get(block.keys[0])


def test_background_compaction_over_damaged_block_is_reported(tmp_path):
    """A compaction the engine starts itself fails loudly: the next write raises, nothing is lost."""
    db_path = tmp_path / "db"
    model = build(db_path)
    table, block = sole_owner_block(db_path)
    damage_block(table, block, "flip-key")
    db = open_db(db_path, fanout=2)  # on open, the worker compacts every run of two tables
    try:
        for _ in range(500):
            if db.background_error is not None:
                break
            time.sleep(0.01)
        assert isinstance(db.background_error, CorruptionError)
        with pytest.raises(storage.StorageError):
            db.put(b"new", b"write")
    finally:
        db.close()
    assert table.exists()
    with open_db(db_path) as db:
        for k, v in model.items():
            if k not in block.keys:
                assert db.get(k) == v


# ----- table metadata: found on open ----------------------------------------------------------------


def _table_damage(table: Path, what: str) -> None:
    """Flip a bit in, or cut the table short at, the place ``what`` names."""
    lay = layout(table)
    size = table.stat().st_size
    places = {
        "meta-block": lay.meta[0] + 3, "meta-crc": lay.meta[0] + lay.meta[1] - 1,
        "index-count": lay.index[0], "index-key": lay.index[0] + lay.index[1] - 6,
        "index-offset": lay.index[0] + 4 + 4 * len(lay.blocks) + 1,
        "bloom-head": lay.bloom[0], "bloom-bitmap": lay.bloom[0] + lay.bloom[1] // 2,
        "footer-meta-offset": lay.footer, "footer-index-size": lay.footer + 20,
        "footer-bloom-offset": lay.footer + 24, "footer-magic": lay.footer + 36,
        "footer-version": lay.footer + 44, "footer-crc": size - 1,
    }
    if what in places:
        flip(table, places[what], 2)
        return
    cut = {"cut-in-data": lay.blocks[2].offset + 5, "cut-in-index": lay.index[0] + 7,
           "cut-in-bloom": lay.bloom[0] + 3, "cut-in-footer": size - 9, "cut-one-byte": size - 1,
           "empty": 0}[what]
    os.truncate(table, cut)


TABLE_DAMAGE = ["meta-block", "meta-crc", "index-count", "index-key", "index-offset", "bloom-head",
                "bloom-bitmap", "footer-meta-offset", "footer-index-size", "footer-bloom-offset",
                "footer-magic", "footer-version", "footer-crc", "cut-in-data", "cut-in-index",
                "cut-in-bloom", "cut-in-footer", "cut-one-byte", "empty"]


@pytest.mark.parametrize("which", ["newest", "oldest"])
@pytest.mark.parametrize("what", TABLE_DAMAGE)
def test_damaged_table_metadata_is_refused_at_open(tmp_path, what, which):
    db_path = tmp_path / "db"
    build(db_path)
    table = tables(db_path)[0 if which == "newest" else -1]
    _table_damage(table, what)
    assert_refused_untouched(db_path, (CorruptionError, FormatError), table)


def _rewrite_footer(table: Path, **changes) -> None:
    raw = bytearray(table.read_bytes())
    at = len(raw) - FOOTER_SIZE
    fields = list(FOOTER.unpack_from(raw, at))
    names = ["meta_off", "meta_size", "index_off", "index_size", "bloom_off", "bloom_size",
             "magic", "version"]
    for name, value in changes.items():
        fields[names.index(name)] = value
    footer = FOOTER.pack(*fields)
    raw[at:] = footer + U32.pack(zlib.crc32(footer))
    table.write_bytes(bytes(raw))


def test_table_of_a_newer_format_is_format_error(tmp_path):
    db_path = tmp_path / "db"
    build(db_path)
    table = tables(db_path)[1]
    _rewrite_footer(table, version=3)
    assert_refused_untouched(db_path, FormatError, table)


@pytest.mark.parametrize("field", ["index_size", "bloom_off", "meta_off"])
def test_footer_pointing_past_the_end_is_corruption(tmp_path, field):
    """A footer with a valid checksum whose places are wrong (a bug, or a bad write)."""
    db_path = tmp_path / "db"
    build(db_path)
    table = tables(db_path)[1]
    _rewrite_footer(table, **{field: 1 << 40 if field.endswith("off") else 1 << 30})
    assert_refused_untouched(db_path, CorruptionError, table)


def test_tables_swapped_are_not_served_in_the_wrong_order(tmp_path):
    """Two valid tables swapped (a careless restore, a file copied over another) must not be
    served in the wrong recency order, which would bring overwritten values back. The
    manifest records every table's size, and here the sizes differ, so the engine can tell:
    it must refuse the directory with CorruptionError naming a swapped table (serving the
    right data anyway would also do)."""
    db_path = tmp_path / "db"
    model: dict[bytes, bytes] = {}
    with open_db(db_path) as db:
        for i in range(120):
            db.put(key(i), val(i))
            model[key(i)] = val(i)
        db.compact()  # one big table of generation 1
        for i in range(40):  # newer, smaller tables that overwrite part of it
            db.put(key(i), val(i, 2))
            model[key(i)] = val(i, 2)
    live = tables(db_path)
    newer, older = live[0], live[-1]
    sizes = dict(Manifest.load(str(db_path)).tables)
    assert sizes[int(newer.stem)] != sizes[int(older.stem)]
    tmp = db_path / "swap"
    newer.rename(tmp)
    older.rename(newer)
    tmp.rename(older)
    try:
        found = contents(db_path)
    except CorruptionError as error:
        assert str(newer) in str(error) or str(older) in str(error)
        return
    wrong = sorted(k for k in model.keys() | found.keys() if model.get(k) != found.get(k))
    assert not wrong, (
        f"with {newer.name} and {older.name} swapped the engine opened and served wrong data "
        f"for {len(wrong)} keys (e.g. {wrong[0]!r}: {found.get(wrong[0])!r:.12} instead of "
        f"{model.get(wrong[0])!r:.12}), though their sizes do not match the manifest's"
    )


# ----- the manifest ------------------------------------------------------------------------------------


MANIFEST_FIELDS = {"version": 8, "next-file": 12, "log-number": 20, "last-seq": 28,
                   "count": 36, "table-number": 40, "table-size": 48, "crc": -1}


@pytest.mark.parametrize("field", list(MANIFEST_FIELDS))
def test_bitflip_in_manifest_is_corruption(tmp_path, field):
    db_path = tmp_path / "db"
    build(db_path)
    manifest = db_path / "MANIFEST"
    at = MANIFEST_FIELDS[field]
    flip(manifest, at if at >= 0 else manifest.stat().st_size + at, 1)
    assert_refused_untouched(db_path, CorruptionError, manifest)


def test_bitflip_in_manifest_magic_is_corruption(tmp_path):
    """One flipped bit in MANIFEST's magic (its first 8 bytes) is CorruptionError, not
    FormatError ("is not a docdb manifest"): the file's checksum fails and the identity file
    says the directory is an lsm engine's, so this is damage to the engine's own file, as a
    flip in any other byte of the manifest is."""
    db_path = tmp_path / "db"
    build(db_path)
    manifest = db_path / "MANIFEST"
    flip(manifest, 3, 1)
    assert_refused_untouched(db_path, CorruptionError, manifest)


@pytest.mark.parametrize("keep", [0, 7, 8, 20, 43, -4, -1])
def test_truncated_manifest_is_corruption(tmp_path, keep):
    db_path = tmp_path / "db"
    build(db_path)
    manifest = db_path / "MANIFEST"
    os.truncate(manifest, keep if keep >= 0 else manifest.stat().st_size + keep)
    assert_refused_untouched(db_path, CorruptionError, manifest)


def test_manifest_with_a_newer_version_is_format_error(tmp_path):
    db_path = tmp_path / "db"
    build(db_path)
    manifest = db_path / "MANIFEST"
    raw = bytearray(manifest.read_bytes()[:-4])
    raw[8:12] = U32.pack(2)
    manifest.write_bytes(bytes(raw) + U32.pack(zlib.crc32(raw)))
    assert_refused_untouched(db_path, FormatError, manifest)


def test_manifest_naming_a_missing_table_is_corruption(tmp_path):
    db_path = tmp_path / "db"
    build(db_path)
    gone = tables(db_path)[2]
    gone.unlink()
    assert_refused_untouched(db_path, CorruptionError, db_path / "MANIFEST")
    with pytest.raises(CorruptionError) as excinfo:
        open_db(db_path)
    assert str(int(gone.stem)) in str(excinfo.value)


def test_missing_manifest_is_corruption(tmp_path):
    """A directory with tables and logs but no MANIFEST (deleted by an operator, lost by the
    disk) is refused, untouched, with CorruptionError naming MANIFEST, not a bare
    FileNotFoundError: OSError must be translated at the storage boundary, and this is damage
    to the engine's files."""
    db_path = tmp_path / "db"
    build(db_path)
    (db_path / "MANIFEST").unlink()
    before = files(db_path)
    with pytest.raises(CorruptionError) as excinfo:
        open_db(db_path)
    assert "MANIFEST" in str(excinfo.value)
    assert files(db_path) == before


# ----- the write-ahead log -----------------------------------------------------------------------------


class Rec(NamedTuple):
    offset: int
    size: int
    flags: int
    key: bytes


def records(path: Path) -> list[Rec]:
    """Every whole record of a log, parsed by the format in storage/record.py."""
    data = path.read_bytes()
    out, pos = [], 0
    while pos + REC_HEADER.size <= len(data):
        _, _, _, flags, klen, vlen = REC_HEADER.unpack_from(data, pos)
        size = REC_HEADER.size + klen + vlen
        if pos + size > len(data):
            break
        out.append(Rec(pos, size, flags, data[pos + REC_HEADER.size:pos + REC_HEADER.size + klen]))
        pos += size
    return out


def build_log(path: Path) -> tuple[dict[bytes, bytes], Path, list[Rec]]:
    """``build``, reopened (which flushes the old log), then a known tail of writes left in the
    newest log: puts, an overwrite, a delete and, last, a batch of four. Returns the model
    *before* that tail, the log, and its records."""
    model = build(path)
    tail = [("put", key(400), val(400, 5)), ("put", key(10), val(10, 5)),
            ("delete", key(11), None), ("put", key(401), val(401, 5))]
    with open_db(path) as db:
        for kind, k, v in tail:
            if kind == "put":
                db.put(k, v)
            else:
                db.delete(k)
        with db.batch() as b:
            b.put(key(402), val(402, 6))
            b.put(key(12), val(12, 6))
            b.delete(key(13))
            b.put(key(403), val(403, 6))
    log = logs(path)[-1]
    recs = records(log)
    assert [r.key for r in recs] == [key(i) for i in (400, 10, 11, 401, 402, 12, 13, 403)]
    return model, log, recs


def _applied(model: dict[bytes, bytes], upto: int) -> dict[bytes, bytes]:
    """``model`` plus the first ``upto`` writes of ``build_log``'s tail (the batch counts as one)."""
    out = dict(model)
    steps = [{key(400): val(400, 5)}, {key(10): val(10, 5)}, {key(11): None},
             {key(401): val(401, 5)},
             {key(402): val(402, 6), key(12): val(12, 6), key(13): None, key(403): val(403, 6)}]
    for step in steps[:upto]:
        for k, v in step.items():
            if v is None:
                out.pop(k, None)
            else:
                out[k] = v
    return out


@pytest.mark.parametrize("cut", ["last-record-one-byte", "inside-batch-last", "before-batch-last",
                                 "after-batch-first", "inside-batch-first", "inside-header",
                                 "before-batch", "whole-log"])
def test_torn_log_tail_is_cut_and_prefix_kept(tmp_path, cut):
    db_path = tmp_path / "db"
    model, log, recs = build_log(db_path)
    batch = recs[4:]
    assert [bool(r.flags & CONTINUED) for r in batch] == [True, True, True, False]
    end, writes = {
        "last-record-one-byte": (batch[3].offset + batch[3].size - 1, 4),
        "inside-batch-last": (batch[3].offset + 30, 4),
        "before-batch-last": (batch[3].offset, 4),
        "after-batch-first": (batch[1].offset, 4),
        "inside-batch-first": (batch[0].offset + 9, 4),
        "inside-header": (recs[3].offset + 10, 3),
        "before-batch": (batch[0].offset, 4),
        "whole-log": (0, 0),
    }[cut]
    os.truncate(log, end)
    expected = _applied(model, writes)
    assert contents(db_path) == expected, "part of a torn write is visible, or the prefix is lost"
    assert contents(db_path) == expected  # and after a second recovery
    with open_db(db_path) as db:
        db.put(b"after", b"recovery")
    assert contents(db_path) == {**expected, b"after": b"recovery"}


def test_zero_filled_log_tail_is_cut(tmp_path):
    """A power loss can leave the log longer than its data, the rest zeros."""
    db_path = tmp_path / "db"
    model, log, _ = build_log(db_path)
    with open(log, "ab") as f:
        f.write(bytes(4096))
    assert contents(db_path) == _applied(model, 5)


WAL_FIELDS = {"crc": (0, 3), "header-crc": (4, 1), "seq": (8, 0), "flags-continued": (16, 1),
              "flags-unknown": (16, 7), "klen-high": (19, 7), "vlen-high": (23, 4), "key": (26, 2),
              "value": (25 + 6 + 40, 5)}


@pytest.mark.parametrize("field", list(WAL_FIELDS))
def test_bitflip_in_middle_of_log_is_corruption(tmp_path, field):
    db_path = tmp_path / "db"
    _, log, recs = build_log(db_path)
    victim = recs[2] if field != "value" else recs[1]  # a delete has no value to flip
    at, bit = WAL_FIELDS[field]
    flip(log, victim.offset + at, bit)
    assert_refused_untouched(db_path, CorruptionError, log, victim.offset)


def test_torn_tail_of_an_older_log_is_corruption(tmp_path):
    """Only the newest log can be torn by a crash (a rotation syncs the old log before the
    new one is used); an older log cut short is damage and must not be silently cut."""
    db_path = tmp_path / "db"
    model, log, recs = build_log(db_path)
    newer = db_path / f"{int(log.stem) + 50:06d}.log"
    newer.write_bytes(encode(10**9, b"k-newer-log", b"in the newer log"))
    # Both logs are whole: both are replayed, in order.
    shutil.copytree(db_path, tmp_path / "whole")
    assert contents(tmp_path / "whole") == {**_applied(model, 5), b"k-newer-log": b"in the newer log"}

    os.truncate(log, recs[-1].offset + 10)
    assert_refused_untouched(db_path, CorruptionError, log, recs[-1].offset)


def test_garbage_named_like_a_log_is_corruption(tmp_path):
    db_path = tmp_path / "db"
    build(db_path)
    older = logs(db_path)[-1]
    bogus = db_path / f"{int(older.stem) + 1:06d}.log"
    bogus.write_bytes(b"\x01" * 300)
    with open(older, "ab"):
        pass
    assert_refused_untouched(db_path, CorruptionError, bogus, 0)


# ----- crash leftovers -----------------------------------------------------------------------------------


def test_leftover_files_are_removed_and_data_intact(tmp_path):
    db_path = tmp_path / "db"
    model = build(db_path)
    manifest = Manifest.load(str(db_path))
    live = tables(db_path)
    nxt = manifest.next_file
    shutil.copyfile(live[0], db_path / f"{nxt + 3:06d}.sst")  # a whole, valid table nobody named
    (db_path / f"{nxt + 4:06d}.sst").write_bytes(os.urandom(500))  # half a table
    (db_path / f"{nxt + 5:06d}.sst.tmp").write_bytes(live[1].read_bytes()[:700])
    (db_path / "MANIFEST.tmp").write_bytes(b"\x89DocDBmf half a manifest")
    (db_path / "DOCDB.tmp").write_bytes(b"docdb-sto")
    (db_path / f"{manifest.log_number - 1:06d}.log").write_bytes(b"obsolete log " * 10)
    assert contents(db_path) == model
    names = set(os.listdir(db_path))
    assert not [n for n in names if n.endswith(".tmp")]
    assert {n for n in names if n.endswith(".sst")} == {t.name for t in tables(db_path)}
    assert f"{manifest.log_number - 1:06d}.log" not in names
    with open_db(db_path) as db:  # new files get numbers past the leftovers': no clash
        for i in range(100):
            db.put(key(1000 + i), val(i, 8))
            model[key(1000 + i)] = val(i, 8)
        db.compact()
    assert contents(db_path) == model


def test_refused_open_leaves_crash_leftovers_untouched(tmp_path):
    """An open that refuses the directory (here: a damaged table footer) must leave it
    unchanged, including ``*.tmp`` files and tables the manifest does not name: validation
    comes before any cleanup, so that the files an operator inspects are exactly those the
    crash left."""
    db_path = tmp_path / "db"
    build(db_path)
    nxt = Manifest.load(str(db_path)).next_file
    shutil.copyfile(tables(db_path)[0], db_path / f"{nxt + 1:06d}.sst")
    (db_path / f"{nxt + 2:06d}.sst.tmp").write_bytes(b"half a table")
    victim = tables(db_path)[-1]
    flip(victim, victim.stat().st_size - 1, 0)  # footer crc
    assert_refused_untouched(db_path, CorruptionError, victim)


# ----- foreign files, other engines, newer formats ------------------------------------------------------


def test_garbage_named_like_a_live_table_is_refused(tmp_path):
    db_path = tmp_path / "db"
    model = build(db_path)
    victim = tables(db_path)[1]
    good = victim.read_bytes()
    victim.write_bytes(os.urandom(len(good)))
    assert_refused_untouched(db_path, (CorruptionError, FormatError), victim)
    victim.write_bytes(good)
    assert contents(db_path) == model  # and the refused opens released the lock


# ----- interrupted creation ---------------------------------------------------------------------------


def test_interrupted_creation_leftover_identity_tmp(tmp_path):
    """Killed after DOCDB.tmp was written but before its rename: only the engine's own temp file."""
    db_path = tmp_path / "db"
    db_path.mkdir()
    (db_path / "DOCDB.tmp").write_bytes(b"docdb-storage lsm 1\n"[:9])
    with open_db(db_path) as db:
        db.put(b"a", b"1")
    assert contents(db_path) == {b"a": b"1"}
    assert not list(db_path.glob("*.tmp"))


@pytest.mark.parametrize("leftover", ["nothing", "manifest-tmp"])
def test_interrupted_creation_identity_without_manifest(tmp_path, leftover):
    """A directory killed after DOCDB was renamed into place but before the first MANIFEST
    was (``LSMEngine.__init__`` writes them one after the other) must open as a new, empty
    engine: nothing was ever acknowledged, so this is an interrupted creation, not damage,
    and ``Manifest.load`` must not fail with a bare FileNotFoundError. (The same, end to end,
    with a real kill: ``test_lsm_crash.py::test_kill_while_creating_a_new_directory``.)"""
    db_path = tmp_path / "db"
    db_path.mkdir()
    (db_path / "DOCDB").write_bytes(b"docdb-storage lsm 1\n")
    if leftover == "manifest-tmp":
        (db_path / "MANIFEST.tmp").write_bytes(b"\x89DocDBmf\x01\x00")
    with open_db(db_path) as db:
        db.put(b"a", b"1")
    assert contents(db_path) == {b"a": b"1"}
