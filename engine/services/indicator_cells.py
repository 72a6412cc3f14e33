"""Small counts, hidden: how a figure that could point at a person is shown as « < 5 » to
someone outside the structure it concerns, and how the figures around it are hidden too so
that no total lets one work it back out.

A `Cell` is one count with the structures it concerns. It is *outside* for a viewer who is not
on the team of every one of those structures (a network admin reading a structure's row, or a
network total). Two passes hide cells:

- **primary**: an outside count from 1 to 4 is hidden (0 is shown: it names nobody);
- **complementary**: every `Group` says « total = sum of parts » (a table's rows and its total
  row, a structure's row of exit categories and its total column). A group in which exactly
  one cell is hidden would give that cell away by subtraction, so one more outside cell is
  hidden: the smallest non-zero part, else the total. Groups are revisited until none has
  exactly one hidden cell (each pass hides a cell, so it ends).

Cells the viewer may see exactly are never hidden: hiding them would protect nothing, since
the viewer reads them on their own structure's page. The pass is the usual heuristic of
statistical offices (it leaves every row and column with none or at least two hidden cells),
not an optimal cell-suppression solver."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

THRESHOLD = 5
"""Counts below this (and above zero) are hidden outside their structure."""
HIDDEN = "< 5"
"""What a small count shows, in pages and exports alike."""
MASKED = "masqué"
"""What a count hidden only to protect a small one shows (it may be 0 or 5 and more): saying
« < 5 » there would be false."""


@dataclass(eq=False)
class Cell:
    """One count while it is being decided whether to show it."""

    value: int
    structures: frozenset[int] = field(default_factory=frozenset)
    outside: bool = False
    hidden: bool = False

    def shown(self) -> Count:
        if not self.hidden:
            return Count(self.value)
        return Count(None, small=0 < self.value < THRESHOLD)


@dataclass(frozen=True)
class Count:
    """A count as shown: its value, or None when it is hidden: « < 5 » for a small count,
    « masqué » for one hidden to protect a small one."""

    value: int | None
    small: bool = False

    @property
    def hidden(self) -> bool:
        return self.value is None

    def __str__(self) -> str:
        if self.value is None:
            return HIDDEN if self.small else MASKED
        return f"{self.value}"

    def export(self) -> int | str:
        """A number, or the text shown instead (a spreadsheet keeps numbers as numbers)."""
        return self.value if self.value is not None else str(self)


@dataclass(frozen=True)
class Group:
    """`total` is the sum of `parts`: a relation one could use to recover a hidden cell."""

    total: Cell
    parts: Sequence[Cell]


def decide(cells: Iterable[Cell], groups: Sequence[Group], exact: frozenset[int] | None) -> None:
    """Mark which cells are hidden for a viewer on the team of the `exact` structures (None:
    a viewer who sees every figure exactly, a structure's director on their own structure)."""
    cells = list(cells)
    for cell in cells:
        cell.outside = exact is not None and not cell.structures <= exact
        cell.hidden = cell.outside and 0 < cell.value < THRESHOLD
    if exact is None:
        return
    changed = True
    while changed:
        changed = False
        for group in groups:
            members = [group.total, *group.parts]
            if sum(c.hidden for c in members) != 1:
                continue
            candidates = [c for c in group.parts if c.outside and not c.hidden]
            candidates.sort(key=lambda c: (c.value == 0, c.value))
            if candidates:
                candidates[0].hidden = True
            elif group.total.outside and not group.total.hidden:
                group.total.hidden = True
            else:
                continue
            changed = True


def hidden_unless(*counts: Count) -> bool:
    """Whether a figure derived from `counts` (a rate, a share) must be hidden with them."""
    return any(c.hidden for c in counts)
