"""The units of an index, one per vector: a whole passage, one sentence of it, or one clause of a
sentence. They are held as columns: search reads the passage and kind of every unit (arrays), while
an answer shows the text of a few units and a rebuild reuses their keys (rows, which a loaded index
parses only when one is read: see index.store).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

UnitKind = Literal["passage", "sentence", "clause"]
UNIT_KINDS: tuple[UnitKind, ...] = ("passage", "sentence", "clause")  # in arrays, a kind is its position here


@dataclass(frozen=True)
class Unit:
    """One vector of the index: a whole passage, one sentence of it, or one clause of a sentence."""

    passage: int
    text: str
    key: str  # sha256 of the model identity and the exact text embedded: the embedding cache key
    kind: UnitKind = "passage"


class Units(Sequence[Unit]):
    """The units of an index in vector order, as columns; `units[row]` is the `Unit` of one row."""

    def __init__(self, passage: np.ndarray, kind: np.ndarray, rows: Sequence[Mapping[str, str]]) -> None:
        if not len(passage) == len(kind) == len(rows):
            raise ValueError(f"unit columns of {len(passage)}, {len(kind)} and {len(rows)} rows")
        if len(kind) and kind.max() >= len(UNIT_KINDS):
            raise ValueError("a unit of an unknown kind")
        self.passage = passage  # per unit, the number of its passage
        self.kind = kind  # per unit, its kind as a position in UNIT_KINDS
        self.rows = rows  # per unit, {"text", "key"}

    @classmethod
    def of(cls, units: Iterable[Unit]) -> Units:
        """The columns of `units`."""
        units = list(units)
        return cls(
            passage=np.array([unit.passage for unit in units], dtype=np.int64),
            kind=np.array([UNIT_KINDS.index(unit.kind) for unit in units], dtype=np.uint8),
            rows=[{"text": unit.text, "key": unit.key} for unit in units],
        )

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, row: int) -> Unit:  # type: ignore[override]  # rows, not slices
        row = range(len(self))[row]  # IndexError out of range; negative rows count from the end
        text_and_key = self.rows[row]
        return Unit(
            passage=int(self.passage[row]),
            text=text_and_key["text"],
            key=text_and_key["key"],
            kind=UNIT_KINDS[self.kind[row]],
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Units):
            return NotImplemented
        return (
            np.array_equal(self.passage, other.passage)
            and np.array_equal(self.kind, other.kind)
            and len(self) == len(other)
            and all(a == b for a, b in zip(self.rows, other.rows, strict=True))
        )

    __hash__ = None  # type: ignore[assignment]  # mutable arrays inside

    def __repr__(self) -> str:
        return f"Units({len(self)} units)"
