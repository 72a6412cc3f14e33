"""W3C Bitstring Status List: one bit per credential, gzip-compressed and base64url-encoded, so
a verifier learns whether a credential is revoked without the issuer learning which one."""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterable

LIST_SIZE = 131_072
"""Bits per list: the spec's minimum (16 KiB), which hides which credential is checked."""


def locate(index: int) -> tuple[int, int]:
    """(list number, position in that list) of a credential's global status index."""
    return divmod(index, LIST_SIZE)


def encode(revoked_positions: Iterable[int]) -> str:
    bits = bytearray(LIST_SIZE // 8)
    for pos in revoked_positions:
        bits[pos // 8] |= 0x80 >> (pos % 8)  # the first index is the left-most bit
    return "u" + base64.urlsafe_b64encode(gzip.compress(bytes(bits), mtime=0)).decode().rstrip("=")


def is_set(encoded_list: str, position: int) -> bool:
    """Read one bit; raises ValueError on a list that is not a well-formed status list."""
    if not encoded_list.startswith("u"):
        raise ValueError("liste de statut : encodage multibase « u » attendu")
    raw = encoded_list[1:]
    data = gzip.decompress(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    if position < 0 or position >= len(data) * 8:
        raise ValueError("liste de statut : index hors de la liste")
    return bool(data[position // 8] & (0x80 >> (position % 8)))
