"""An immutable table of distinct strings (a segment's document ids, or the terms it introduced) with batch lookup.

In memory it is a list and a dict. On disk it is four files that open in O(1), memory-mapped: the strings'
UTF-8 bytes one after the other (``<name>.bin``), where each starts (``<name>_offsets.npy``), and a hash index:
the 64-bit keys of the strings sorted (``<name>_keys.npy``) and the position of each (``<name>_order.npy``).
A lookup hashes the strings asked for, finds their keys with one ``np.searchsorted`` and compares the stored
bytes of each hit, so a hash collision costs a comparison, never a wrong answer.

>>> table = StringTable.from_strings(["paris", "rome"])
>>> table.find(["rome", "oslo"]).tolist()
[1, -1]
>>> table[0]
'paris'
"""

from __future__ import annotations

import mmap
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from docqa.document_stores.durable import sync

FILE_SUFFIXES = (".bin", "_offsets.npy", "_keys.npy", "_order.npy")


def string_key(data: bytes) -> int:
    """A stable 64-bit key of a string's UTF-8 bytes (Python's ``hash`` changes between processes)."""
    return (zlib.crc32(data) << 32) | zlib.adler32(data)


def _keys(encoded: Iterable[bytes], count: int) -> np.ndarray:
    return np.fromiter(map(string_key, encoded), dtype=np.uint64, count=count)


class StringTable:
    """Distinct strings by position; :meth:`find` gives positions (-1 for an absent string)."""

    def __init__(self, strings: list[str] | None = None, disk: _DiskStrings | None = None) -> None:
        self._strings = strings
        self._positions: dict[str, int] | None = None
        self._disk = disk

    @classmethod
    def from_strings(cls, strings: list[str]) -> StringTable:
        return cls(strings=strings)

    @classmethod
    def open(cls, folder: Path, name: str) -> StringTable:
        """Memory-map the table ``name`` written into ``folder`` by :meth:`write`."""
        return cls(disk=_DiskStrings(folder, name))

    def __len__(self) -> int:
        if self._strings is not None:
            return len(self._strings)
        assert self._disk is not None
        return self._disk.size

    def __getitem__(self, position: int) -> str:
        if self._strings is not None:
            return self._strings[position]
        assert self._disk is not None
        return self._disk.item(position).decode("utf-8")

    def items(self, positions: Iterable[int]) -> list[str]:
        return [self[int(position)] for position in positions]

    def encoded(self, positions: Iterable[int]) -> Iterable[bytes]:
        """The UTF-8 bytes of the strings at ``positions`` (no decoding for a table on disk)."""
        if self._disk is not None:
            return map(self._disk.item, positions)
        strings = self._strings
        assert strings is not None
        return (strings[int(position)].encode("utf-8") for position in positions)

    def find(self, strings: Sequence[str]) -> np.ndarray:
        """The position of each of ``strings`` in the table (int64; -1 where absent)."""
        if self._strings is not None:
            if self._positions is None:
                self._positions = {text: position for position, text in enumerate(self._strings)}
            get = self._positions.get
            return np.fromiter((get(text, -1) for text in strings), dtype=np.int64, count=len(strings))
        assert self._disk is not None
        return self._disk.find(strings)

    def write(self, folder: Path, name: str) -> None:
        """Write the table as ``folder/name*`` (fsynced; the caller fsyncs the folder)."""
        write_strings(folder, name, self.encoded(range(len(self))), len(self))


def write_strings(folder: Path, name: str, encoded: Iterable[bytes], count: int) -> None:
    """Write ``count`` distinct strings, given as UTF-8 bytes, as the table ``folder/name*``."""
    offsets = np.zeros(count + 1, dtype=np.int64)
    keys = np.zeros(count, dtype=np.uint64)
    with open(folder / f"{name}.bin", "wb") as handle:
        position = 0
        for index, data in enumerate(encoded):
            handle.write(data)
            position += len(data)
            offsets[index + 1] = position
            keys[index] = string_key(data)
        sync(handle)
    order = np.argsort(keys, kind="stable")
    for suffix, array in (("_offsets", offsets), ("_keys", keys[order]), ("_order", order.astype(np.int64))):
        with open(folder / f"{name}{suffix}.npy", "wb") as handle:
            np.save(handle, array, allow_pickle=False)
            sync(handle)


class _DiskStrings:
    """The memory-mapped files of a table on disk."""

    def __init__(self, folder: Path, name: str) -> None:
        self.offsets, self.keys, self.order = (
            np.asarray(np.load(folder / f"{name}{suffix}.npy", mmap_mode="r", allow_pickle=False))
            for suffix in ("_offsets", "_keys", "_order")
        )
        self.size = len(self.offsets) - 1
        if self.size < 0 or len(self.keys) != self.size or len(self.order) != self.size:
            raise ValueError(f"{name}: offsets, keys and order disagree")
        self.blob = map_file(folder / f"{name}.bin")
        if int(self.offsets[-1]) != len(self.blob):
            raise ValueError(f"{name}.bin does not match {name}_offsets.npy")

    def item(self, position: int) -> bytes:
        return bytes(self.blob[int(self.offsets[position]) : int(self.offsets[position + 1])])

    def find(self, strings: Sequence[str]) -> np.ndarray:
        found = np.full(len(strings), -1, dtype=np.int64)
        if not self.size or not len(strings):
            return found
        encoded = [text.encode("utf-8") for text in strings]
        wanted = _keys(encoded, len(encoded))
        starts = np.searchsorted(self.keys, wanted)
        hits = np.flatnonzero(starts < self.size)
        hits = hits[np.asarray(self.keys[starts[hits]]) == wanted[hits]]
        for index in hits.tolist():
            found[index] = self._confirm(encoded[index], int(wanted[index]), int(starts[index]))
        return found

    def _confirm(self, data: bytes, key: int, start: int) -> int:
        """The position of ``data`` among the entries with its key, from ``start`` on (-1: a collision only)."""
        while start < self.size and int(self.keys[start]) == key:
            position = int(self.order[start])
            if self.item(position) == data:
                return position
            start += 1
        return -1


def map_file(file: Path) -> bytes | mmap.mmap:
    """The file's bytes, memory-mapped (an empty file cannot be mapped: empty bytes then)."""
    with open(file, "rb") as handle:
        if not handle.seek(0, 2):
            return b""
        return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
