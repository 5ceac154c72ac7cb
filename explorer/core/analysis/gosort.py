"""A faithful port of Go's ``sort.Sort`` (pdqsort, Go 1.19 and later).

dive 0.13.1 orders its "inefficient files" with ``sort.Sort`` by cumulative size
and prints the list from the end backwards. ``sort.Sort`` is not stable for more
than 12 elements, so files of equal size come out in an order that only Go's own
algorithm reproduces. This module copies that algorithm step for step, with the
same comparisons and swaps in the same order, so ties come out as dive shows them.

Ported from ``src/sort/sort.go`` (``Sort``, ``xorshift``, ``nextPowerOfTwo``) and
``src/sort/zsortinterface.go`` (the ``Interface`` variants), which are the same
from Go 1.19 through 1.23.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["go_sort", "go_sort_by_key"]

T = TypeVar("T")

_MASK64 = (1 << 64) - 1

# sortedHint
_UNKNOWN_HINT = 0
_INCREASING_HINT = 1
_DECREASING_HINT = 2


class _Data(Generic[T]):
    """The ``sort.Interface`` over a Python list: Less by ``less``, Swap of elements."""

    __slots__ = ("_items", "_less")

    def __init__(self, items: list[T], less: Callable[[T, T], bool]) -> None:
        self._items = items
        self._less = less

    def less(self, i: int, j: int) -> bool:
        items = self._items
        return bool(self._less(items[i], items[j]))

    def swap(self, i: int, j: int) -> None:
        items = self._items
        items[i], items[j] = items[j], items[i]

    def partition(self, a: int, b: int, pivot: int) -> tuple[int, bool]:
        return _partition(self, a, b, pivot)

    def partition_equal(self, a: int, b: int, pivot: int) -> int:
        return _partition_equal(self, a, b, pivot)


class _KeyData(_Data[tuple[int, T]]):
    """The ``sort.Interface`` over (key, element) pairs, Less comparing keys: what
    ``go_sort_by_key`` sorts.  The partitions, where nearly all the time goes, compare
    and swap in place of calling ``less`` and ``swap`` (the same steps, in the same order:
    the pivot, at ``a``, stays there until the end)."""

    __slots__ = ()

    def less(self, i: int, j: int) -> bool:
        items = self._items
        return items[i][0] < items[j][0]

    def partition(self, a: int, b: int, pivot: int) -> tuple[int, bool]:
        items = self._items
        items[a], items[pivot] = items[pivot], items[a]
        key = items[a][0]
        i, j = a + 1, b - 1
        while i <= j and items[i][0] < key:
            i += 1
        while i <= j and not items[j][0] < key:
            j -= 1
        if i > j:
            items[j], items[a] = items[a], items[j]
            return j, True
        items[i], items[j] = items[j], items[i]
        i += 1
        j -= 1
        while True:
            while i <= j and items[i][0] < key:
                i += 1
            while i <= j and not items[j][0] < key:
                j -= 1
            if i > j:
                break
            items[i], items[j] = items[j], items[i]
            i += 1
            j -= 1
        items[j], items[a] = items[a], items[j]
        return j, False

    def partition_equal(self, a: int, b: int, pivot: int) -> int:
        items = self._items
        items[a], items[pivot] = items[pivot], items[a]
        key = items[a][0]
        i, j = a + 1, b - 1
        while True:
            while i <= j and not key < items[i][0]:
                i += 1
            while i <= j and key < items[j][0]:
                j -= 1
            if i > j:
                break
            items[i], items[j] = items[j], items[i]
            i += 1
            j -= 1
        return i


class _Xorshift:
    """Go's ``xorshift`` (a uint64) with its ``Next`` method."""

    __slots__ = ("r",)

    def __init__(self, seed: int) -> None:
        self.r = seed & _MASK64

    def next(self) -> int:
        r = self.r
        r ^= (r << 13) & _MASK64
        r ^= r >> 17
        r ^= (r << 5) & _MASK64
        self.r = r
        return r


def _next_power_of_two(length: int) -> int:
    return 1 << length.bit_length()


def go_sort(items: list[T], less: Callable[[T, T], bool]) -> None:
    """Sort ``items`` in place exactly as Go's ``sort.Sort`` would.

    ``less(x, y)`` plays the part of ``Less(i, j)`` on the elements at i and j;
    ``Swap`` swaps list elements.
    """
    data = _Data(items, less)
    n = len(items)
    if n <= 1:
        return
    limit = n.bit_length()
    _pdqsort(data, 0, n, limit)


def go_sort_by_key(items: list[T], key: Callable[[T], int]) -> None:
    """``go_sort(items, lambda a, b: key(a) < key(b))``, the same comparisons and swaps,
    with every key computed once (several times faster on long lists)."""
    n = len(items)
    if n <= 1:
        return
    pairs = [(key(item), item) for item in items]
    _pdqsort(_KeyData(pairs, _no_less), 0, n, n.bit_length())
    items[:] = [item for _key, item in pairs]


def _no_less(a: object, b: object) -> bool:
    raise AssertionError("_KeyData compares keys itself")


def _insertion_sort(data: _Data[T], a: int, b: int) -> None:
    for i in range(a + 1, b):
        j = i
        while j > a and data.less(j, j - 1):
            data.swap(j, j - 1)
            j -= 1


def _sift_down(data: _Data[T], lo: int, hi: int, first: int) -> None:
    root = lo
    while True:
        child = 2 * root + 1
        if child >= hi:
            break
        if child + 1 < hi and data.less(first + child, first + child + 1):
            child += 1
        if not data.less(first + root, first + child):
            return
        data.swap(first + root, first + child)
        root = child


def _heap_sort(data: _Data[T], a: int, b: int) -> None:
    first = a
    lo = 0
    hi = b - a

    # Build heap with greatest element at top. (hi - 1) // 2 matches Go's
    # truncating division here because hi >= 1.
    i = (hi - 1) // 2
    while i >= 0:
        _sift_down(data, i, hi, first)
        i -= 1

    # Pop elements, largest first, into end of data.
    i = hi - 1
    while i >= 0:
        data.swap(first, first + i)
        _sift_down(data, lo, i, first)
        i -= 1


def _pdqsort(data: _Data[T], a: int, b: int, limit: int) -> None:
    max_insertion = 12

    was_balanced = True
    was_partitioned = True

    while True:
        length = b - a

        if length <= max_insertion:
            _insertion_sort(data, a, b)
            return

        # Fall back to heapsort if too many bad choices were made.
        if limit == 0:
            _heap_sort(data, a, b)
            return

        # If the last partitioning was imbalanced, break patterns.
        if not was_balanced:
            _break_patterns(data, a, b)
            limit -= 1

        pivot, hint = _choose_pivot(data, a, b)
        if hint == _DECREASING_HINT:
            _reverse_range(data, a, b)
            pivot = (b - 1) - (pivot - a)
            hint = _INCREASING_HINT

        # The slice is likely already sorted.
        if (
            was_balanced
            and was_partitioned
            and hint == _INCREASING_HINT
            and _partial_insertion_sort(data, a, b)
        ):
            return

        # Probably many duplicates: split into equal-to and greater-than the pivot.
        if a > 0 and not data.less(a - 1, pivot):
            a = data.partition_equal(a, b, pivot)
            continue

        mid, already_partitioned = data.partition(a, b, pivot)
        was_partitioned = already_partitioned

        left_len, right_len = mid - a, b - mid
        balance_threshold = length // 8
        if left_len < right_len:
            was_balanced = left_len >= balance_threshold
            _pdqsort(data, a, mid, limit)
            a = mid + 1
        else:
            was_balanced = right_len >= balance_threshold
            _pdqsort(data, mid + 1, b, limit)
            b = mid


def _partition(data: _Data[T], a: int, b: int, pivot: int) -> tuple[int, bool]:
    data.swap(a, pivot)
    i, j = a + 1, b - 1  # inclusive bounds of what is left to partition

    while i <= j and data.less(i, a):
        i += 1
    while i <= j and not data.less(j, a):
        j -= 1
    if i > j:
        data.swap(j, a)
        return j, True
    data.swap(i, j)
    i += 1
    j -= 1

    while True:
        while i <= j and data.less(i, a):
            i += 1
        while i <= j and not data.less(j, a):
            j -= 1
        if i > j:
            break
        data.swap(i, j)
        i += 1
        j -= 1
    data.swap(j, a)
    return j, False


def _partition_equal(data: _Data[T], a: int, b: int, pivot: int) -> int:
    data.swap(a, pivot)
    i, j = a + 1, b - 1  # inclusive bounds of what is left to partition

    while True:
        while i <= j and not data.less(a, i):
            i += 1
        while i <= j and data.less(a, j):
            j -= 1
        if i > j:
            break
        data.swap(i, j)
        i += 1
        j -= 1
    return i


def _partial_insertion_sort(data: _Data[T], a: int, b: int) -> bool:
    max_steps = 5  # most adjacent out-of-order pairs that will get shifted
    shortest_shifting = 50  # don't shift any elements on short arrays

    i = a + 1
    for _ in range(max_steps):
        while i < b and not data.less(i, i - 1):
            i += 1

        if i == b:
            return True

        if b - a < shortest_shifting:
            return False

        data.swap(i, i - 1)

        # Shift the smaller one to the left. (Go bounds this loop by 1, not a + 1.)
        if i - a >= 2:
            j = i - 1
            while j >= 1:
                if not data.less(j, j - 1):
                    break
                data.swap(j, j - 1)
                j -= 1
        # Shift the greater one to the right.
        if b - i >= 2:
            j = i + 1
            while j < b:
                if not data.less(j, j - 1):
                    break
                data.swap(j, j - 1)
                j += 1
    return False


def _break_patterns(data: _Data[T], a: int, b: int) -> None:
    length = b - a
    if length >= 8:
        random = _Xorshift(length)
        modulus = _next_power_of_two(length)

        idx = a + (length // 4) * 2 - 1
        while idx <= a + (length // 4) * 2 + 1:
            other = random.next() & (modulus - 1)
            if other >= length:
                other -= length
            data.swap(idx, a + other)
            idx += 1


def _choose_pivot(data: _Data[T], a: int, b: int) -> tuple[int, int]:
    shortest_ninther = 50
    max_swaps = 4 * 3

    length = b - a

    swaps = [0]
    i = a + length // 4 * 1
    j = a + length // 4 * 2
    k = a + length // 4 * 3

    if length >= 8:
        if length >= shortest_ninther:
            # Tukey ninther method.
            i = _median_adjacent(data, i, swaps)
            j = _median_adjacent(data, j, swaps)
            k = _median_adjacent(data, k, swaps)
        # Find the median among i, j, k and store it into j.
        j = _median(data, i, j, k, swaps)

    if swaps[0] == 0:
        return j, _INCREASING_HINT
    if swaps[0] == max_swaps:
        return j, _DECREASING_HINT
    return j, _UNKNOWN_HINT


def _order2(data: _Data[T], a: int, b: int, swaps: list[int]) -> tuple[int, int]:
    if data.less(b, a):
        swaps[0] += 1
        return b, a
    return a, b


def _median(data: _Data[T], a: int, b: int, c: int, swaps: list[int]) -> int:
    a, b = _order2(data, a, b, swaps)
    b, c = _order2(data, b, c, swaps)
    a, b = _order2(data, a, b, swaps)
    return b


def _median_adjacent(data: _Data[T], a: int, swaps: list[int]) -> int:
    return _median(data, a - 1, a, a + 1, swaps)


def _reverse_range(data: _Data[T], a: int, b: int) -> None:
    i = a
    j = b - 1
    while i < j:
        data.swap(i, j)
        i += 1
        j -= 1
