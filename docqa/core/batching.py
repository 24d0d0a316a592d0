"""Grouping model inputs into batches by length: one rule for the reader's windows and FillMask's texts.

>>> list(length_batches([3, 9, 4, 9], batch_size=2))
[[1, 3], [2, 0]]
>>> list(length_batches([3, 9, 4, 9], batch_size=8, max_tokens=20))
[[1, 3], [2, 0]]
>>> list(length_batches([3, 9, 4, 3], batch_size=8, same_length=True))
[[1], [2], [0, 3]]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence


def length_batches(
    lengths: Sequence[int], batch_size: int | None, max_tokens: int | None = None, same_length: bool = False
) -> Iterator[list[int]]:
    """Positions of ``lengths`` in batches, longest first (stable among equal lengths), so that padding each
    batch to its first, longest, item wastes little.

    A batch closes when the next item would make it hold more than ``batch_size`` items (when given) or more
    than ``max_tokens`` padded tokens (when given: items x the longest; an item longer than that is a batch of
    its own), and with ``same_length`` when the next item is shorter (batches that need no padding at all).
    """
    batch: list[int] = []
    for position in sorted(range(len(lengths)), key=lambda i: lengths[i], reverse=True):
        longest = lengths[batch[0]] if batch else 0
        if batch and (
            len(batch) == batch_size
            or (max_tokens is not None and (len(batch) + 1) * longest > max_tokens)
            or (same_length and lengths[position] != longest)
        ):
            yield batch
            batch = []
        batch.append(position)
    if batch:
        yield batch
