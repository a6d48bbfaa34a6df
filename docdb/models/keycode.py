"""Order-preserving key encoding: typed values and tuples to bytes that sort as the values do.

The storage engines order keys by their bytes; tables, collections and indexes
need them ordered by value. ``encode_tuple(a) < encode_tuple(b)`` exactly when
``a < b`` in the order below, and ``decode_tuple`` gives the values back (the
manner of FoundationDB's tuple layer, with numbers unified).

Order across types: None < False < True < numbers < text < bytes < lists.
Within a type:

* numbers compare numerically whatever their type, at any size: ``-inf`` < any
  negative < 0 < any positive < ``inf``, and ``2**200 > 1e60 > 3 > 2.5``. An int
  and a float of the same value sort int first (so both round-trip, and a unique
  index can still tell ``1`` from ``1.0`` apart if it wants to). NaN is refused
  (it has no place in an order); ``-0.0`` comes back as ``0.0``;
* text by code point (its UTF-8 bytes), bytes lexicographically;
* lists (tuples) element by element, a prefix first.

A tuple's encoding is its elements' encodings concatenated, so all tuples that
start with ``t`` are the keys from ``encode_tuple(t)`` to ``prefix_end`` of it.

Format, one type byte then:

  ``0x05`` None; ``0x10`` False; ``0x11`` True;
  ``0x1F`` -inf; ``0x23`` +inf; ``0x21`` zero + tag;
  ``0x22`` positive: exponent, mantissa, tag; ``0x20`` negative: exponent and
  mantissa inverted, then the tag plus ``0xFE`` (above any inverted mantissa
  byte, so a shorter mantissa, a smaller magnitude, sorts last). A nonzero
  number is ``(1.m) * 2**e``: ``e`` as a signed compact int (``0x80`` is 0,
  ``0x80+n`` then n bytes big-endian for e > 0, ``0x80-n`` then n bytes of
  one's complement for e < 0); ``m``'s bits, trailing zeros dropped, 7 per
  byte with the high bit set; tag ``0x00`` int or ``0x01`` float (a tag sorts
  below any mantissa byte, so a shorter mantissa is a smaller number);
  ``0x30`` text and ``0x40`` bytes: the bytes with ``0x00`` written ``0x00 0xFF``,
  then ``0x00``; ``0x50`` list: its elements, then ``0x00``.

May import: the standard library only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

NULL, FALSE, TRUE = 0x05, 0x10, 0x11
NEG_INF, NEG, ZERO, POS, POS_INF = 0x1F, 0x20, 0x21, 0x22, 0x23
TEXT, BYTES, LIST = 0x30, 0x40, 0x50
_INT_TAG, _FLOAT_TAG = 0x00, 0x01
_NEG_TAG_BASE = 0xFE  # a negative's tag: above any inverted mantissa byte (<= 0x7F)

__all__ = ["encode", "decode", "encode_tuple", "decode_tuple", "prefix_end", "KeyEncodingError"]


class KeyEncodingError(ValueError):
    """A value that cannot be part of a key (NaN, or a type keys do not hold)."""


def encode(value: Any) -> bytes:
    """One value, self-delimiting (so encodings can be concatenated)."""
    out = bytearray()
    _encode(value, out)
    return bytes(out)


def encode_tuple(values: Iterable[Any]) -> bytes:
    out = bytearray()
    for value in values:
        _encode(value, out)
    return bytes(out)


def decode(data: bytes) -> Any:
    value, end = _decode(data, 0)
    if end != len(data):
        raise KeyEncodingError("bytes left over after one encoded value")
    return value


def decode_tuple(data: bytes) -> tuple:
    values, pos = [], 0
    while pos < len(data):
        value, pos = _decode(data, pos)
        values.append(value)
    return tuple(values)


def prefix_end(prefix: bytes) -> bytes | None:
    """The smallest key above every key that starts with ``prefix`` (None: no such key)."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])


# ----- encoding ----------------------------------------------------------------------


def _encode(value: Any, out: bytearray) -> None:
    if value is None:
        out.append(NULL)
    elif value is True or value is False:
        out.append(TRUE if value else FALSE)
    elif isinstance(value, (int, float)):
        _encode_number(value, out)
    elif isinstance(value, str):
        out.append(TEXT)
        _escaped(value.encode("utf-8"), out)
    elif isinstance(value, (bytes, bytearray, memoryview)):
        out.append(BYTES)
        _escaped(bytes(value), out)
    elif isinstance(value, (list, tuple)):
        out.append(LIST)
        for item in value:
            _encode(item, out)
        out.append(0x00)
    else:
        raise KeyEncodingError(f"a key cannot hold a {type(value).__name__}: {value!r}")


def _escaped(raw: bytes, out: bytearray) -> None:
    out += raw.replace(b"\x00", b"\x00\xff")
    out.append(0x00)


def _encode_number(value: int | float, out: bytearray) -> None:
    tag = _INT_TAG if isinstance(value, int) else _FLOAT_TAG
    if tag == _FLOAT_TAG:
        if math.isnan(value):
            raise KeyEncodingError("NaN cannot be part of a key: it has no place in an order")
        if math.isinf(value):
            out.append(POS_INF if value > 0 else NEG_INF)
            return
    if value == 0:
        out += bytes((ZERO, tag))
        return
    numerator, denominator = abs(value).as_integer_ratio()  # denominator: a power of two
    shift = (numerator & -numerator).bit_length() - 1  # drop trailing zero bits
    numerator >>= shift
    exponent = numerator.bit_length() - 1 + shift - (denominator.bit_length() - 1)
    body = _compact_int(exponent) + _mantissa(numerator)
    if value > 0:
        out.append(POS)
        out += body
        out.append(tag)
    else:  # inverted, so a larger magnitude sorts first; the tag is not (int first still)
        out.append(NEG)
        out += bytes(b ^ 0xFF for b in body)
        out.append(_NEG_TAG_BASE | tag)


def _compact_int(n: int) -> bytes:
    if n == 0:
        return b"\x80"
    size = (abs(n).bit_length() + 7) // 8
    if size > 127:
        raise KeyEncodingError("number too large for a key")
    if n > 0:
        return bytes((0x80 + size,)) + n.to_bytes(size, "big")
    return bytes((0x80 - size,)) + ((1 << 8 * size) - 1 + n).to_bytes(size, "big")


def _mantissa(odd: int) -> bytes:
    """The bits after the leading 1 of ``odd``, 7 to a byte, high bit set, left-aligned."""
    bits = odd.bit_length() - 1
    if not bits:
        return b""
    groups = (bits + 6) // 7
    frac = (odd - (1 << bits)) << (groups * 7 - bits)
    return bytes(0x80 | (frac >> (7 * (groups - 1 - i))) & 0x7F for i in range(groups))


# ----- decoding ----------------------------------------------------------------------


def _decode(data: bytes, pos: int) -> tuple[Any, int]:
    try:
        code = data[pos]
    except IndexError:
        raise KeyEncodingError("encoded key ends too soon") from None
    simple = {NULL: None, FALSE: False, TRUE: True, NEG_INF: -math.inf, POS_INF: math.inf}
    if code in simple:
        return simple[code], pos + 1
    if code == ZERO:
        return (0 if data[pos + 1] == _INT_TAG else 0.0), pos + 2
    if code in (POS, NEG):
        return _decode_number(data, pos + 1, negative=code == NEG)
    if code in (TEXT, BYTES):
        raw, end = _unescaped(data, pos + 1)
        return (raw.decode("utf-8") if code == TEXT else raw), end
    if code == LIST:
        items, pos = [], pos + 1
        while data[pos] != 0x00:
            item, pos = _decode(data, pos)
            items.append(item)
        return items, pos + 1
    raise KeyEncodingError(f"unknown type byte 0x{code:02x} in an encoded key")


def _unescaped(data: bytes, pos: int) -> tuple[bytes, int]:
    out = bytearray()
    while True:
        end = data.index(b"\x00", pos)
        out += data[pos:end]
        if end + 1 < len(data) and data[end + 1] == 0xFF:
            out.append(0x00)
            pos = end + 2
        else:
            return bytes(out), end + 1


def _decode_number(data: bytes, pos: int, negative: bool) -> tuple[int | float, int]:
    flip = 0xFF if negative else 0x00
    head = data[pos] ^ flip
    size = abs(head - 0x80)
    raw = bytes(b ^ flip for b in data[pos + 1:pos + 1 + size])
    exponent = int.from_bytes(raw, "big")
    if head < 0x80:
        exponent -= (1 << 8 * size) - 1
    pos += 1 + size
    frac, bits = 0, 0
    while (data[pos] ^ flip) & 0x80:
        frac = (frac << 7) | ((data[pos] ^ flip) & 0x7F)
        bits += 7
        pos += 1
    tag = data[pos] - (_NEG_TAG_BASE if negative else 0)
    odd = (1 << bits) | frac
    odd >>= (odd & -odd).bit_length() - 1
    bits = odd.bit_length() - 1
    shift = exponent - bits  # value = odd * 2**shift
    if tag == _INT_TAG:
        value: int | float = odd << shift if shift >= 0 else odd >> -shift
    else:
        value = math.ldexp(odd, shift)
    return (-value if negative else value), pos + 1


def sort_key(value: Any) -> tuple:
    """The order ``encode`` preserves, as a Python sort key (for tests and docs)."""
    if value is None:
        return (0,)
    if value is True or value is False:
        return (1, value)
    if isinstance(value, (int, float)):
        return (2, value, isinstance(value, float))
    if isinstance(value, str):
        return (3, value.encode("utf-8"))
    if isinstance(value, (bytes, bytearray)):
        return (4, bytes(value))
    if isinstance(value, Sequence):
        return (5, [sort_key(v) for v in value])
    raise KeyEncodingError(f"a key cannot hold a {type(value).__name__}")
