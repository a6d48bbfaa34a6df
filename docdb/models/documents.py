"""JSON documents: validation, encoding with orjson, and generated ``_id``\\s.

A collection stores top-level JSON objects. ``encode_document`` is the one gate
a document passes before it is written: it must be a dict with string keys
all the way down, hold only JSON values (no sets, bytes, NaN or infinities, no
objects orjson cannot encode), nest at most ``MAX_NESTING`` levels deep, and encode to
at most ``MAX_DOCUMENT_BYTES``;
otherwise ``DocumentError`` says what and where, and nothing is written.

Generated ids (``new_id``) are 26-character ULIDs: 48 bits of milliseconds
then 80 random bits in Crockford base32, so they sort by creation time (and
within one millisecond stay increasing: the random part is incremented), which
keeps recent inserts together in an ordered engine.
May import: the standard library, orjson and ``docdb.errors``.
"""

from __future__ import annotations

import base64
import math
import os
import threading
import time
from typing import Any

import orjson

from docdb.errors import DataError
from docdb.models.gcpause import without_collection

__all__ = ["DocumentError", "encode_document", "encode_json", "decode_document", "check_json", "new_id",
           "MAX_DOCUMENT_BYTES"]

MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
MAX_NESTING = 100  # levels of objects and arrays in one value, as MongoDB allows
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TO_CROCKFORD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _CROCKFORD.encode())


class DocumentError(DataError, ValueError):
    """A value that cannot be stored as a JSON document; nothing was written."""


def encode_document(document: Any) -> bytes:
    if not isinstance(document, dict):
        raise DocumentError(f"a document must be a JSON object (a dict), not {type(document).__name__}")
    data = encode_json(document)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DocumentError(f"the document is {len(data):,} bytes encoded; the limit is "
                            f"{MAX_DOCUMENT_BYTES:,}")
    return data


def encode_json(value: Any, where: str = "") -> bytes:
    """Any JSON value as orjson bytes, or ``DocumentError`` saying what cannot be stored."""
    check_json(value, where)
    try:
        return orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError) as error:
        raise DocumentError(f"{where or 'the document'} cannot be encoded as JSON: {error}") from None


def decode_document(data: bytes) -> dict:
    return orjson.loads(data)


DOCUMENT_ROWS = "documents as rows"  # the row cache's shape for document_rows


@without_collection
def document_rows(raws: list[bytes]) -> list[tuple[dict]]:
    """Stored documents as one-value rows ``(document,)``, decoded in one orjson call: what
    the row cache keeps of a collection."""
    return [(document,) for document in orjson.loads(b"[" + b",".join(raws) + b"]")]


def copied(document: dict) -> dict:
    """A copy of a cached document (JSON all the way down, as it was decoded): one orjson
    round trip, quicker than walking it in Python."""
    return orjson.loads(orjson.dumps(document))


def detached(value: Any) -> Any:
    """A copy of an object or array, all the way down (a list or dict subclass keeps its
    class); other values as they are -- what is handed out of a shared, cached document."""
    if type(value) is dict:
        return {k: detached(x) for k, x in value.items()}
    if isinstance(value, list):
        return type(value)(detached(x) for x in value)
    if isinstance(value, dict):
        return type(value)((k, detached(x)) for k, x in value.items())
    return value


def check_json(value: Any, where: str = "", depth: int = 0) -> None:
    """Refuse what JSON cannot hold, naming the path, before orjson sees it -- a value nested
    deeper than ``MAX_NESTING`` too (a dict that contains itself is infinitely deep)."""
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise DocumentError(f"{where or 'the document'} is {value!r}: JSON has no NaN or infinity")
        return
    if isinstance(value, (dict, list, tuple)) and depth >= MAX_NESTING:
        shown = where if len(where) <= 40 else where[:40] + "..."
        raise DocumentError(f"{shown or 'the document'} nests deeper than {MAX_NESTING} levels of objects "
                            "and arrays (or contains itself)")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise DocumentError(f"key {key!r} in {where or 'the document'} is not a string")
            check_json(item, f"{where}.{key}" if where else key, depth + 1)
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_json(item, f"{where}.{i}", depth + 1)
        return
    raise DocumentError(f"{where or 'the document'} is a {type(value).__name__} ({value!r:.60}), "
                        "which JSON cannot hold")


class _UlidClock:
    """Monotonic ULIDs: a later call never returns a smaller id, even in one millisecond."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = (0, 0)

    def next(self) -> str:
        with self._lock:
            millis = time.time_ns() // 1_000_000
            last_millis, last_random = self._last
            if millis <= last_millis:
                millis, rand = last_millis, last_random + 1
                if rand >> 80:  # 2**80 ids in one millisecond: borrow the next one
                    millis, rand = millis + 1, int.from_bytes(os.urandom(10), "big") >> 1
            else:
                rand = int.from_bytes(os.urandom(10), "big")
            self._last = (millis, rand)
        value = (millis << 80) | rand  # 128 bits, written as 26 base32 digits (130 bits)
        # base64's base32 encoder does the digit split in C: place the 130 bits at the top of
        # 160 (a whole number of 5-bit digits) and swap RFC 4648's alphabet for Crockford's.
        return base64.b32encode((value << 30).to_bytes(20, "big"))[:26].translate(_TO_CROCKFORD).decode()


new_id = _UlidClock().next
