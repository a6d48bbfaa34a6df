"""Deterministic damage tests for the hash engine: truncate, flip, swap and misplace its files.

Each test builds a small engine directory in ``tmp_path`` (4 KiB segments, so
there are several), damages it the way a crash, a bad disk or a careless
operator would, and checks exactly what the engine does: a torn tail of the
newest segment is cut off and the intact prefix served; damage anywhere else is
``CorruptionError`` naming the file and offset (and the files are left as they
were, for inspection); hint files that do not match their segment are ignored,
and so is a saved keydir; one that matches is trusted at open, and damage behind
it is then refused at the first read of the record and reported by ``verify``;
foreign files are refused with ``FormatError`` before anything is written.
Never wrong data.

The tests read segment files with their own parser of the record format that
``storage.record`` documents, so they can aim at a given record and field.
"""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from pathlib import Path
from typing import NamedTuple

import pytest

import storage
from storage import CorruptionError, FormatError
from storage.record import CONTINUED, encode
from tests.storage.damage import files, flip, read_back

SEGMENT_BYTES = 4096
OPTIONS = {"engine": "hash", "sync": "full", "segment_bytes": SEGMENT_BYTES,
           "merge_min_bytes": 1 << 40}  # no automatic merges: each test says when to compact
SEG_HEADER = 24  # magic 8, version u32, uid u64, crc u32
REC_HEADER = struct.Struct("<IIQBII")  # crc, header crc, seq, flags, klen, vlen


# ----- helpers ---------------------------------------------------------------------------


def open_db(path: Path, **overrides) -> storage.Engine:
    return storage.open(path, **{**OPTIONS, **overrides})


def key(i: int) -> bytes:
    return b"k-%03d" % i


def val(i: int, gen: int = 1) -> bytes:
    return (b"v%d-%03d-" % (gen, i)).ljust(100, b".")


class Rec(NamedTuple):
    offset: int
    size: int
    seq: int
    flags: int
    key: bytes
    value: bytes


def records(path: Path) -> list[Rec]:
    """Every whole record of a segment file, parsed by the documented format."""
    data = path.read_bytes()
    out, pos = [], SEG_HEADER
    while pos + REC_HEADER.size <= len(data):
        _, _, seq, flags, klen, vlen = REC_HEADER.unpack_from(data, pos)
        size = REC_HEADER.size + klen + vlen
        if pos + size > len(data):
            break
        body = data[pos + REC_HEADER.size:pos + size]
        out.append(Rec(pos, size, seq, flags, body[:klen], body[klen:]))
        pos += size
    return out


def segments(path: Path) -> list[Path]:
    return sorted(path.glob("*.seg"))


def hints(path: Path) -> list[Path]:
    return sorted(path.glob("*.hint"))


def newest(path: Path) -> Path:
    return segments(path)[-1]


def contents(path: Path, **overrides) -> dict[bytes, bytes]:
    """Reopen and read everything back (see damage.read_back)."""
    with open_db(path, **overrides) as db:
        return read_back(db)


def build(path: Path, n: int = 100) -> dict[bytes, bytes]:
    """Puts, overwrites and deletes over several 4 KiB segments; returns the expected contents."""
    model: dict[bytes, bytes] = {}
    with open_db(path) as db:
        for i in range(n):
            db.put(key(i), val(i))
            model[key(i)] = val(i)
        for i in range(0, n, 7):
            db.put(key(i), val(i, 2))
            model[key(i)] = val(i, 2)
        for i in range(3, n, 11):
            db.delete(key(i))
            del model[key(i)]
    assert len(segments(path)) >= 3, "the test needs several segments"
    forget_saved_keydir(path)
    return model


def forget_saved_keydir(path: Path) -> None:
    """Remove the keydir a clean close saves (storage.hash.saved), so the next open
    rebuilds it from the segments: the open-time checks these tests aim at. What a
    saved keydir does with damage has tests of its own below."""
    (path / "KEYDIR").unlink(missing_ok=True)


def build_compacted(path: Path, prefix: bytes = b"k") -> dict[bytes, bytes]:
    """Data written, overwritten, deleted, compacted (so hints exist), then a few more writes."""
    model: dict[bytes, bytes] = {}
    with open_db(path) as db:
        for gen in (1, 2):
            for i in range(0, 120, gen):
                k = prefix + key(i)[1:]
                db.put(k, val(i, gen))
                model[k] = val(i, gen)
        for i in range(5, 120, 9):
            k = prefix + key(i)[1:]
            db.delete(k)
            del model[k]
        # A batch whose final record is then overwritten: the merge copies records that
        # were written with CONTINUED set, which must not read as an unfinished batch.
        with db.batch() as b:
            for i in range(195, 189, -1):
                b.put(prefix + key(i)[1:], val(i, 4))
                model[prefix + key(i)[1:]] = val(i, 4)
        db.put(prefix + key(190)[1:], val(190, 5))
        model[prefix + key(190)[1:]] = val(190, 5)
        db.compact()
        for i in range(200, 205):
            k = prefix + key(i)[1:]
            db.put(k, val(i))
            model[k] = val(i)
    assert hints(path), "compact() wrote no hint files"
    return model


def assert_writable(path: Path, model: dict[bytes, bytes]) -> None:
    """New writes after a recovery land and survive another reopen (and a compaction)."""
    with open_db(path) as db:
        for i in range(500, 540):
            db.put(key(i), val(i, 7))
            model[key(i)] = val(i, 7)
    assert contents(path) == model
    with open_db(path) as db:
        db.compact()
    assert contents(path) == model


def assert_corruption_at(excinfo, path: Path, offset: int) -> None:
    error = excinfo.value
    assert error.path == str(path), f"error names {error.path!r}, damage is in {path}"
    assert error.offset == offset
    assert str(path) in str(error) and str(offset) in str(error)


# ----- torn tail of the newest segment ---------------------------------------------------------


def test_smallest_torn_tail(tmp_path):
    """Minimal case: one record, its last byte never written."""
    db_path = tmp_path / "db"
    with open_db(db_path) as db:
        db.put(b"a", b"1")
        db.put(b"b", b"2")
    seg = newest(db_path)
    os.truncate(seg, seg.stat().st_size - 1)
    assert contents(db_path) == {b"a": b"1"}
    assert seg.stat().st_size == SEG_HEADER + REC_HEADER.size + 2


@pytest.mark.parametrize("kept", [1, 4, 20, 21, 22, -1], ids=lambda k: f"kept{k}")
@pytest.mark.parametrize("last", ["new-key", "overwrite"])
def test_torn_last_record_is_cut_and_prefix_kept(tmp_path, kept, last):
    db_path = tmp_path / "db"
    model = build(db_path)
    target = key(900) if last == "new-key" else key(14)
    with open_db(db_path) as db:
        db.put(target, val(900, 9))
    seg = newest(db_path)
    rec = records(seg)[-1]
    assert rec.key == target
    keep = kept if kept > 0 else rec.size + kept
    os.truncate(seg, rec.offset + keep)

    assert contents(db_path) == model  # an overwrite falls back to the value before it
    assert seg.stat().st_size == rec.offset, "the torn record was not cut off the file"
    assert_writable(db_path, model)


@pytest.mark.parametrize("cut", ["inside-last-record", "before-last-record", "after-first-record",
                                 "inside-first-record"])
def test_torn_batch_is_dropped_whole(tmp_path, cut):
    db_path = tmp_path / "db"
    model = build(db_path)
    with open_db(db_path) as db, db.batch() as b:
        b.put(key(901), val(901, 5))
        b.put(key(14), val(14, 5))  # overwrite
        b.delete(key(20))  # delete of a live key
        b.put(key(902), val(902, 5))
    seg = newest(db_path)
    batch = records(seg)[-4:]
    assert [r.key for r in batch] == [key(901), key(14), key(20), key(902)]
    assert [bool(r.flags & CONTINUED) for r in batch] == [True, True, True, False]
    end = {
        "inside-last-record": batch[3].offset + batch[3].size - 1,
        "before-last-record": batch[3].offset,
        "after-first-record": batch[1].offset,
        "inside-first-record": batch[0].offset + 30,
    }[cut]
    os.truncate(seg, end)

    found = contents(db_path)
    assert found == model, "part of a torn batch is visible"
    assert seg.stat().st_size == batch[0].offset, "the torn batch was not cut off the file"
    assert_writable(db_path, model)


def without_last_delete(model: dict[bytes, bytes], rec: Rec) -> dict[bytes, bytes]:
    """``build``'s model with its final write, a delete, undone: the key's value is back."""
    assert rec.flags & 1, "build() is expected to end with a delete"
    i = int(rec.key[2:])
    return {**model, rec.key: val(i, 2) if i % 7 == 0 else val(i)}


@pytest.mark.parametrize("torn", [False, True], ids=["whole-records", "torn-record"])
def test_zero_filled_tail_is_cut(tmp_path, torn):
    """A power loss can leave the file longer than its data, the rest zeros."""
    db_path = tmp_path / "db"
    model = build(db_path)
    seg = newest(db_path)
    good_end = seg.stat().st_size
    if torn:  # the last record's last bytes never reached the disk
        rec = records(seg)[-1]
        good_end = rec.offset
        with open(seg, "r+b") as f:
            f.seek(rec.offset + rec.size - 10)
            f.write(b"\0" * 10)
        model = without_last_delete(model, rec)
    else:
        with open(seg, "ab") as f:
            f.write(b"\0" * 4096)

    assert contents(db_path) == model
    assert seg.stat().st_size == good_end
    assert_writable(db_path, model)


# ----- interrupted rollover ----------------------------------------------------------------------


@pytest.mark.parametrize("header_bytes", [0, 12])
def test_interrupted_rollover_leaves_headerless_newest_segment(tmp_path, header_bytes):
    """A kill between creating the next segment and writing its header (Segment.create)
    leaves an empty (or, after a power loss, short) newest segment. That is a torn
    tail with no records in it: reopen must recover, not refuse the directory."""
    db_path = tmp_path / "db"
    model = build(db_path)
    last = newest(db_path)
    seg_id = int(last.name.split("-")[0]) + 1
    header = last.read_bytes()[:header_bytes]  # a prefix of a real header
    (db_path / f"{seg_id:010d}-0000.seg").write_bytes(header)

    assert contents(db_path) == model
    assert_writable(db_path, model)


# ----- bit flips in the middle of a segment ---------------------------------------------------

# (byte offset inside the record, bit) for each header field and the payload.
FIELDS = {
    "crc": (0, 3),
    "header-crc": (4, 1),
    "seq": (8, 0),
    "flags-tombstone": (16, 0),
    "flags-continued": (16, 1),
    "flags-unknown": (16, 7),
    "klen-low": (17, 0),
    "vlen-low": (21, 0),
    "key": (25, 2),
    "value": (25 + 5 + 40, 5),
}


def middle_record(seg: Path) -> Rec:
    """A put (with its full 100-byte value) with at least two records on each side."""
    recs = records(seg)
    assert len(recs) >= 5, "the segment needs records before and after the damaged one"
    middle = [r for r in recs[2:-2] if len(r.value) == 100]
    return middle[len(middle) // 2]


def pick_segment(db_path: Path, where: str) -> Path:
    segs = segments(db_path)
    return segs[-1] if where == "active" else segs[1]


@pytest.mark.parametrize("where", ["sealed", "active"])
@pytest.mark.parametrize("field", list(FIELDS))
def test_bitflip_in_middle_record_is_corruption(tmp_path, field, where):
    db_path = tmp_path / "db"
    build(db_path)
    seg = pick_segment(db_path, where)
    rec = middle_record(seg)
    offset, bit = FIELDS[field]
    flip(seg, rec.offset + offset, bit)
    before = files(db_path, skip=("LOCK",))

    with pytest.raises(CorruptionError) as excinfo:
        open_db(db_path)
    assert_corruption_at(excinfo, seg, rec.offset)
    assert files(db_path, skip=("LOCK",)) == before, "a failed open changed the files"
    with pytest.raises(CorruptionError):  # the failed open released the directory
        open_db(db_path)


@pytest.mark.parametrize("where", ["sealed", "active"])
@pytest.mark.parametrize("field", [(17 + 1, 7), (21 + 2, 4)], ids=["klen+32768", "vlen+1MiB"])
def test_length_bitflip_mid_segment_is_corruption_not_torn_tail(tmp_path, field, where):
    """A flipped high bit in klen/vlen makes a middle record claim to run past the end
    of the file. In the newest segment that must not be taken for a torn tail: cutting
    the file there would destroy every acknowledged record after it."""
    db_path = tmp_path / "db"
    model = build(db_path)
    seg = pick_segment(db_path, where)
    rec = middle_record(seg)
    flip(seg, rec.offset + field[0], field[1])
    size = seg.stat().st_size
    before = files(db_path, skip=("LOCK",))

    try:
        found = contents(db_path)
    except CorruptionError as error:
        assert error.path == str(seg) and error.offset == rec.offset
        assert files(db_path, skip=("LOCK",)) == before, "a failed open changed the files"
        return
    wrong = sorted(k for k in model.keys() | found.keys() if model.get(k) != found.get(k))
    pytest.fail(
        f"a bit flip in the record at offset {rec.offset} of {seg.name} was taken for a torn "
        f"tail: the file was cut from {size} to {seg.stat().st_size} bytes, silently undoing "
        f"the acknowledged writes after it ({len(wrong)} keys now vanished, reverted or "
        f"resurrected, e.g. {wrong[:3]})"
    )


def test_truncated_sealed_segment_is_corruption(tmp_path):
    """Only the newest segment can have a torn tail; a cut sealed one is damage."""
    db_path = tmp_path / "db"
    build(db_path)
    seg = segments(db_path)[1]
    rec = records(seg)[-1]
    os.truncate(seg, rec.offset + rec.size - 7)
    before = files(db_path, skip=("LOCK",))

    with pytest.raises(CorruptionError) as excinfo:
        open_db(db_path)
    assert_corruption_at(excinfo, seg, rec.offset)
    assert files(db_path, skip=("LOCK",)) == before


# ----- damage after the engine is open ------------------------------------------------------------


def damage_value_of(db_path: Path, k: bytes) -> tuple[Path, Rec]:
    """Flip a bit in the newest record of ``k`` through a separate file descriptor."""
    for seg in reversed(segments(db_path)):
        for rec in reversed(records(seg)):
            if rec.key == k:
                fd = os.open(seg, os.O_RDWR)
                try:
                    at = rec.offset + rec.size - 3
                    os.pwrite(fd, bytes([os.pread(fd, 1, at)[0] ^ 0x10]), at)
                finally:
                    os.close(fd)
                return seg, rec
    raise AssertionError(f"no record of {k!r}")


@pytest.mark.parametrize("where", ["sealed", "active"])
def test_value_damaged_while_open_is_never_served(tmp_path, where):
    db_path = tmp_path / "db"
    model = build(db_path)
    victim = key(40) if where == "sealed" else key(99)
    with open_db(db_path) as db:
        seg, rec = damage_value_of(db_path, victim)
        assert (seg == segments(db_path)[1]) == (where == "sealed")

        with pytest.raises(CorruptionError) as excinfo:
            db.get(victim)
        assert_corruption_at(excinfo, seg, rec.offset)
        with pytest.raises(CorruptionError):
            db[victim]
        assert victim in db  # membership needs no read
        for k, v in model.items():
            if k != victim:
                assert db.get(k) == v

        seen = []
        with pytest.raises(CorruptionError):
            for k, v in db.scan():
                seen.append(k)
                assert v == model[k]
        assert seen == sorted(k for k in model if k < victim)
        with pytest.raises(CorruptionError):
            list(db.scan(reverse=True))
        after = dict(db.scan(start=victim + b"\0"))
        assert after == {k: v for k, v in model.items() if k > victim}


def test_record_swapped_for_another_keys_record_is_corruption(tmp_path):
    """A whole, checksum-valid record of key B where key A's should be: still not A's value."""
    db_path = tmp_path / "db"
    model = build(db_path)
    seg = segments(db_path)[1]
    live = [r for r in records(seg) if model.get(r.key) == r.value]  # the records get() reads
    a, b = live[len(live) // 2], live[0]
    assert a.size == b.size and a.key != b.key
    with open_db(db_path) as db:
        fd = os.open(seg, os.O_RDWR)
        try:
            os.pwrite(fd, os.pread(fd, b.size, b.offset), a.offset)
        finally:
            os.close(fd)
        assert db.get(b.key) == model[b.key]
        with pytest.raises(CorruptionError) as excinfo:
            db.get(a.key)
        assert_corruption_at(excinfo, seg, a.offset)
        with pytest.raises(CorruptionError):
            list(db.scan())


def test_compact_over_damaged_record_fails_without_harm(tmp_path):
    db_path = tmp_path / "db"
    model = build(db_path)
    with open_db(db_path) as db:
        damage_value_of(db_path, key(40))
        with pytest.raises(CorruptionError):
            db.compact()
        assert not list(db_path.glob("*.tmp")), "the failed merge left temp files"
        assert db.stats()["merges"] == 0
        for k, v in model.items():
            if k != key(40):
                assert db.get(k) == v


# ----- hint files ----------------------------------------------------------------------------


def test_missing_hints_are_rebuilt_from_segments(tmp_path):
    db_path = tmp_path / "db"
    model = build_compacted(db_path)
    assert contents(db_path) == model
    for hint in hints(db_path):
        hint.unlink()
    assert contents(db_path) == model
    assert contents(db_path) == model  # and again, whatever the first reopen wrote


def _sibling_timelines(tmp_path: Path) -> tuple[Path, dict, Path]:
    """Two copies of one history that each compact differently: same file names, other uids."""
    ours = tmp_path / "ours"
    model = build(ours)
    theirs = tmp_path / "theirs"
    shutil.copytree(ours, theirs)
    with open_db(theirs) as db:
        for i in range(0, 100, 2):
            db.delete(key(i))
        db.compact()
    with open_db(ours) as db:
        for i in range(1, 100, 2):
            db.delete(key(i))
            model.pop(key(i), None)
        db.compact()
    return ours, model, theirs


def test_hint_of_another_incarnation_is_ignored(tmp_path):
    ours, model, theirs = _sibling_timelines(tmp_path)
    replaced = 0
    for hint in hints(theirs):
        if (ours / hint.name).exists():
            shutil.copyfile(hint, ours / hint.name)
            replaced += 1
    assert replaced, "the two timelines share no hint file name: nothing was tested"
    assert contents(ours) == model


def test_hint_from_another_directory_is_ignored(tmp_path):
    ours = tmp_path / "ours"
    model = build_compacted(ours, prefix=b"k")
    other = tmp_path / "other"
    build_compacted(other, prefix=b"q")  # same shape, other keys
    replaced = 0
    for hint in hints(other):
        if (ours / hint.name).exists():
            shutil.copyfile(hint, ours / hint.name)
            replaced += 1
    assert replaced
    assert contents(ours) == model


def test_segment_that_grew_after_its_hint(tmp_path):
    """The hint covers a prefix; the records after it must be read from the segment."""
    db_path = tmp_path / "db"
    model = build_compacted(db_path)
    hinted = hints(db_path)[0].with_suffix(".seg")
    survivor = next(r.key for r in records(hinted) if r.key in model)
    with open(hinted, "ab") as f:
        f.write(encode(10**12, survivor, b"appended-overwrite"))
        f.write(encode(10**12 + 1, b"k-appended", b"appended-new"))
    model[survivor] = b"appended-overwrite"
    model[b"k-appended"] = b"appended-new"
    assert contents(db_path) == model


def test_a_segment_shorter_than_its_hint_says_is_refused(tmp_path):
    """Cut at a record boundary, a merged segment's records all check out -- but its intact
    hint says how long it was: records are gone, and older values they replaced must not
    be served in their place."""
    db_path = tmp_path / "db"
    build_compacted(db_path)
    hinted = hints(db_path)[0].with_suffix(".seg")
    recs = records(hinted)
    cut = recs[len(recs) // 2:]
    os.truncate(hinted, cut[0].offset)  # at a record boundary: an intact prefix
    with pytest.raises(CorruptionError, match="its hint file says") as excinfo:
        contents(db_path)
    assert hinted.name in str(excinfo.value)


@pytest.mark.parametrize("at", [0, 8, 12, 20, 28, 32, 44, -12, -1, "truncate", "empty"])
def test_damaged_hint_is_ignored(tmp_path, at):
    db_path = tmp_path / "db"
    model = build_compacted(db_path)
    for hint in hints(db_path):
        if at == "truncate":
            os.truncate(hint, hint.stat().st_size - 5)
        elif at == "empty":
            hint.write_bytes(b"")
        else:
            flip(hint, at if at >= 0 else hint.stat().st_size + at, 1)
    assert contents(db_path) == model


# ----- foreign files and paths ------------------------------------------------------------------


def test_garbage_named_like_a_segment_is_refused(tmp_path):
    db_path = tmp_path / "db"
    model = build(db_path)
    (db_path / "0000000099-0000.seg").write_bytes(os.urandom(300))
    before = files(db_path, skip=("LOCK",))
    with pytest.raises((FormatError, CorruptionError)):
        open_db(db_path)
    assert files(db_path, skip=("LOCK",)) == before
    (db_path / "0000000099-0000.seg").unlink()
    assert contents(db_path) == model  # and the failed open released the lock


# ----- damaged segment headers ---------------------------------------------------------------------


def _rewrite_header(seg: Path, version: int) -> None:
    raw = seg.read_bytes()
    magic, _, uid = struct.unpack_from("<8sIQ", raw)
    head = struct.pack("<8sIQ", magic, version, uid)
    with open(seg, "r+b") as f:
        f.write(head + struct.pack("<I", zlib.crc32(head)))


# A short newest segment is no error: its creation was cut short (see the rollover test).
HEADER_DAMAGE = [(d, w) for d in ["magic", "version-bit", "newer-version", "uid", "crc", "short"]
                 for w in ["sealed", "active"] if (d, w) != ("short", "active")]


@pytest.mark.parametrize("damage, where", HEADER_DAMAGE)
def test_damaged_segment_header_is_an_error(tmp_path, damage, where):
    db_path = tmp_path / "db"
    build(db_path)
    seg = pick_segment(db_path, where)
    if damage == "newer-version":
        _rewrite_header(seg, 2)
    elif damage == "short":
        os.truncate(seg, 17)
    else:
        flip(seg, {"magic": 3, "version-bit": 8, "uid": 15, "crc": 21}[damage], 2)
    before = files(db_path, skip=("LOCK",))

    with pytest.raises((CorruptionError, FormatError)) as excinfo:
        open_db(db_path)
    assert seg.name in str(excinfo.value)
    assert files(db_path, skip=("LOCK",)) == before


# ----- interrupted merges ---------------------------------------------------------------------------


def test_leftover_temp_files_are_removed_and_data_intact(tmp_path):
    """Outputs of a merge that was killed before its rename are ``*.tmp`` files."""
    db_path = tmp_path / "db"
    model = build(db_path)
    merged = tmp_path / "merged"
    shutil.copytree(db_path, merged)
    with open_db(merged) as db:
        db.compact()
    outputs = [p for p in segments(merged) if not (db_path / p.name).exists()]
    outputs = [p for p in outputs if not p.name.endswith("-0000.seg")]  # not the new active
    assert outputs
    for n, out in enumerate(outputs):
        data = out.read_bytes()
        (db_path / (out.name + ".tmp")).write_bytes(data if n == 0 else data[: len(data) // 2])
    (db_path / (outputs[0].with_suffix(".hint").name + ".tmp")).write_bytes(b"half a hint")

    assert contents(db_path) == model
    assert not list(db_path.glob("*.tmp"))
    assert_writable(db_path, model)


def test_interrupted_creation_leftover_identity_tmp(tmp_path):
    """Killed while creating a new directory, after DOCDB.tmp was written but before its
    rename: the directory holds only the engine's own temp file and must still open."""
    db_path = tmp_path / "db"
    db_path.mkdir()
    (db_path / "DOCDB.tmp").write_bytes(b"docdb-storage hash 1\n"[:9])
    with open_db(db_path) as db:
        db.put(b"a", b"1")
    assert contents(db_path) == {b"a": b"1"}
    assert not list(db_path.glob("*.tmp"))


def _merge_history(tmp_path: Path) -> tuple[Path, Path, dict]:
    """A directory before and after compact(); inputs include an earlier merge's outputs
    (with hints), and keys deleted by tombstones in later inputs than their puts."""
    before = tmp_path / "before"
    model = build_compacted(before)
    with open_db(before) as db:
        for i in range(0, 120, 4):  # deletes whose puts are in the earlier merge's outputs
            db.delete(b"k" + key(i)[1:])
            model.pop(b"k" + key(i)[1:], None)
        for i in range(1, 120, 6):
            db.put(b"k" + key(i)[1:], val(i, 3))
            model[b"k" + key(i)[1:]] = val(i, 3)
    after = tmp_path / "after"
    shutil.copytree(before, after)
    with open_db(after) as db:
        db.compact()
    assert contents(before) == model and contents(after) == model
    return before, after, model


def _crash_state(tmp_path: Path, name: str, after: Path) -> Path:
    state = tmp_path / name
    shutil.copytree(after, state)
    return state


def _check_state(state: Path, model: dict) -> None:
    assert contents(state) == model, f"{state.name}: wrong data"
    assert contents(state) == model, f"{state.name}: wrong data on the second reopen"
    with open_db(state) as db:  # a later merge over the recovered state keeps it right
        db.put(b"k-new", b"after")
        db.compact()
    assert contents(state) == {**model, b"k-new": b"after"}, f"{state.name}: wrong after a merge"


def test_crash_while_deleting_merge_inputs(tmp_path):
    """The merge deletes its inputs oldest first; a crash leaves any suffix of them."""
    before, after, model = _merge_history(tmp_path)
    inputs = [p for p in segments(before) if not (after / p.name).exists()]
    assert len(inputs) >= 3 and any(p.with_suffix(".hint").exists() for p in inputs)
    for i in range(len(inputs)):
        state = _crash_state(tmp_path, f"deleted-{i}", after)
        for seg in inputs[i:]:
            shutil.copyfile(seg, state / seg.name)
            if seg.with_suffix(".hint").exists():
                shutil.copyfile(seg.with_suffix(".hint"), state / seg.with_suffix(".hint").name)
        if i:  # crashed between unlinking input i-1 and its hint
            prev_hint = inputs[i - 1].with_suffix(".hint")
            if prev_hint.exists():
                shutil.copyfile(prev_hint, state / prev_hint.name)
        _check_state(state, model)
        if i:
            assert not (state / prev_hint.name).exists(), "a hint without its segment was kept"


@pytest.mark.parametrize("stage", ["outputs-renamed-no-hints", "first-output-renamed",
                                   "outputs-and-hints"])
def test_crash_before_merge_inputs_are_deleted(tmp_path, stage):
    before, after, model = _merge_history(tmp_path)
    inputs = [p for p in segments(before) if not (after / p.name).exists()]
    outputs = [p for p in segments(after) if not (before / p.name).exists()
               and not p.name.endswith("-0000.seg")]
    assert outputs
    state = _crash_state(tmp_path, stage, after)
    for seg in inputs:
        for p in (seg, seg.with_suffix(".hint")):
            if p.exists():
                shutil.copyfile(p, state / p.name)
    if stage != "outputs-and-hints":
        for out in outputs:
            (state / out.with_suffix(".hint").name).unlink(missing_ok=True)
    if stage == "first-output-renamed":
        for out in outputs[1:]:
            (state / out.name).rename(state / (out.name + ".tmp"))
    _check_state(state, model)


# ----- the saved keydir ----------------------------------------------------------------------


def build_saved(path: Path) -> dict[bytes, bytes]:
    """``build``, then a compaction and more writes (so file numbers and replay ranks
    differ), closed cleanly: the directory holds a saved keydir."""
    model = build(path)
    with open_db(path) as db:
        db.compact()
        for i in range(100, 140):
            db.put(key(i), val(i, 3))
            model[key(i)] = val(i, 3)
    assert (path / "KEYDIR").exists()
    return model


def test_a_saved_keydir_is_loaded_and_serves_what_the_segments_hold(tmp_path, monkeypatch):
    db_path = tmp_path / "db"
    model = build_saved(db_path)
    import storage.hash.engine as hash_engine

    def no_rebuild(*args, **kwargs):
        raise AssertionError("the keydir was rebuilt from the segments")

    monkeypatch.setattr(hash_engine, "index_segment", no_rebuild)
    with open_db(db_path) as db:
        assert dict(db.scan()) == model
        assert all(db.get(k) == v for k, v in model.items())
        db.verify()
        assert not (db_path / "KEYDIR").exists(), "a writable open removes it: a crash must not find it"


@pytest.mark.parametrize("change", ["appended", "compacted", "damaged-file", "segment-removed"])
def test_a_saved_keydir_that_no_longer_matches_is_ignored(tmp_path, change):
    db_path = tmp_path / "db"
    model = build_saved(db_path)
    saved = (db_path / "KEYDIR").read_bytes()
    if change == "damaged-file":
        flip(db_path / "KEYDIR", len(saved) // 2, 3)
    elif change == "segment-removed":  # the oldest segment's records are all overwritten
        with open_db(db_path) as db:
            db.compact()
        (db_path / "KEYDIR").write_bytes(saved)
    else:
        with open_db(db_path) as db:
            db.put(key(500), val(500))
            model[key(500)] = val(500)
            if change == "compacted":
                db.compact()
        (db_path / "KEYDIR").write_bytes(saved)  # the keydir of the files as they were
    assert contents(db_path) == model
    assert_writable(db_path, model)


def test_damage_behind_a_saved_keydir_is_never_served(tmp_path):
    db_path = tmp_path / "db"
    model = build_saved(db_path)
    victim = sorted(model)[len(model) // 2]
    with open_db(db_path) as db:
        place = db._keydir.get(victim)
        segment = db._files[place >> 32 >> 40]
        offset = (place >> 32) & ((1 << 40) - 1)
        seg_path = Path(segment.path)
    flip(seg_path, offset + REC_HEADER.size + len(victim) + 2, 0)  # a bit of the value
    with open_db(db_path) as db:
        with pytest.raises(CorruptionError):
            db.get(victim)
        assert all(db.get(k) == v for k, v in model.items() if k != victim)
        with pytest.raises(CorruptionError):
            list(db.scan())
        with pytest.raises(CorruptionError):
            db.verify()


@pytest.mark.parametrize("cut", ["after-head", "in-columns"])
def test_a_saved_keydir_whose_checksum_holds_over_wrong_lengths_is_ignored(tmp_path, cut):
    """Damage the checksum cannot see (a file cut short, its checksum made again) is
    refused by the lengths inside, and the keydir is rebuilt from the segments."""
    db_path = tmp_path / "db"
    model = build_saved(db_path)
    raw = (db_path / "KEYDIR").read_bytes()[:-4]
    raw = raw[:24] if cut == "after-head" else raw[: len(raw) // 2]
    (db_path / "KEYDIR").write_bytes(raw + struct.pack("<I", zlib.crc32(raw)))
    assert contents(db_path) == model
