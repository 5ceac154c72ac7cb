"""Digest values and hashing readers.

A digest string is validated against the OCI grammar before it is used anywhere, in
particular before it becomes part of a path (CVE-2024-3727).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from explorer.core.errors import FormatError

_ALGO_HEX_LEN = {"sha256": 64, "sha512": 128}
_GENERIC = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")


@dataclass(frozen=True, order=True, slots=True)
class Digest:
    """A validated ``algorithm:encoded`` content digest."""

    algorithm: str
    encoded: str

    @classmethod
    def parse(cls, text: object, *, what: str = "digest") -> Digest:
        if not isinstance(text, str) or not _GENERIC.match(text):
            raise FormatError(f"Invalid {what} {text!r}: not of the form algorithm:hex.")
        algorithm, encoded = text.split(":", 1)
        want = _ALGO_HEX_LEN.get(algorithm)
        if want is None:
            raise FormatError(f"Unsupported {what} algorithm {algorithm!r} in {text!r}.")
        if len(encoded) != want or not re.fullmatch(r"[a-f0-9]+", encoded):
            raise FormatError(
                f"Invalid {what} {text!r}: {algorithm} needs {want} lowercase hex digits."
            )
        return cls(algorithm, encoded)

    @classmethod
    def of_bytes(cls, data: bytes) -> Digest:
        return cls("sha256", hashlib.sha256(data).hexdigest())

    @classmethod
    def from_hasher(cls, hasher: hashlib._Hash) -> Digest:
        return cls(hasher.name, hasher.hexdigest())

    def new_hasher(self) -> hashlib._Hash:
        return hashlib.new(self.algorithm)

    @property
    def short(self) -> str:
        """The first 12 hex digits, as docker prints image ids."""
        return self.encoded[:12]

    @property
    def blob_path(self) -> str:
        """Where an OCI layout stores this blob."""
        return f"blobs/{self.algorithm}/{self.encoded}"

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.encoded}"


def chain_ids(diff_ids: list[Digest]) -> list[Digest]:
    """OCI chain ids: ChainID(L0) = DiffID(L0);
    ChainID(L0..n) = sha256(ChainID(L0..n-1) + " " + DiffID(n))."""
    out: list[Digest] = []
    for diff_id in diff_ids:
        if not out:
            out.append(diff_id)
        else:
            out.append(Digest.of_bytes(f"{out[-1]} {diff_id}".encode()))
    return out
