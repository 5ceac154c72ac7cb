"""Tests for explorer.core.analysis.gosort, the port of Go's sort.Sort.

The golden orders below were produced by Go 1.19.8 (linux/amd64, Debian's golang-go)
running sort.Sort over (key, id) pairs with Less comparing keys only. They need no Go
toolchain; test_matches_live_go re-derives them (and more) when `go` is on PATH.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from explorer.core.analysis.gosort import go_sort, go_sort_by_key

_MASK64 = (1 << 64) - 1


def _lcg_keys(seed: int, n: int, distinct: int) -> list[int]:
    """Keys from a fixed 64-bit LCG, so the inputs never depend on Python's random."""
    x = seed
    out: list[int] = []
    for _ in range(n):
        x = (x * 6364136223846793005 + 1442695040888963407) & _MASK64
        out.append((x >> 33) % distinct)
    return out


def _case_keys(seed: int, n: int, distinct: int, shape: str) -> list[int]:
    keys = _lcg_keys(seed, n, distinct)
    if shape == "ascending":
        keys.sort()
    elif shape == "descending":
        keys.sort(reverse=True)
    elif shape == "nearly":
        keys.sort()
        for i in range(0, n - 7, max(1, n // 3)):
            keys[i], keys[i + 7] = keys[i + 7], keys[i]
    return keys


# An input found by search that drives pdqsort into its heapSort fallback (with ties).
_HEAPSORT_KEYS = [
    7, 30, 33, 5, 28, 25, 3, 33, 20, 15, 24, 5, 30, 1, 29, 8, 1, 11, 1, 20,
    28, 4, 6, 32, 6, 12, 9, 13, 17, 4, 5, 0, 3, 37, 31, 8, 0, 34, 13, 4,
]  # fmt: skip

# (seed, n, distinct keys, shape): heavy ties throughout; the shapes reach the
# reverseRange and partialInsertionSort paths as well as plain partitioning.
_GOLDEN_SPECS: list[tuple[int, int, int, str]] = [
    (1, 13, 3, "random"),
    (2, 17, 2, "random"),
    (3, 31, 5, "random"),
    (4, 50, 4, "random"),
    (5, 64, 10, "descending"),
    (6, 100, 7, "random"),
    (7, 120, 12, "nearly"),
    (8, 257, 20, "random"),
    (9, 300, 30, "ascending"),
    (10, 500, 25, "random"),
]

_GOLDEN_INPUTS: list[list[int]] = [_case_keys(*spec) for spec in _GOLDEN_SPECS] + [_HEAPSORT_KEYS]

# Ids (original positions) in the order Go 1.19.8's sort.Sort leaves them, one
# tuple per entry of _GOLDEN_INPUTS.
# fmt: off
_GOLDEN_IDS: list[tuple[int, ...]] = [
    (
        8, 1, 2, 3, 4, 12, 10, 9, 7, 11, 0, 6, 5
    ),
    (
        6, 1, 2, 3, 0, 16, 13, 7, 15, 9, 14, 11, 12, 4, 10, 8, 5
    ),
    (
        6, 28, 2, 20, 15, 7, 21, 25, 24, 23, 22, 19, 12, 18, 11, 10, 14, 1, 27, 26, 3, 5, 17, 9,
        8, 0, 13, 16, 4, 29, 30
    ),
    (
        31, 16, 38, 44, 29, 18, 1, 13, 33, 9, 25, 48, 42, 7, 32, 24, 6, 17, 43, 4, 27, 36, 11,
        41, 22, 49, 26, 20, 2, 19, 46, 8, 23, 12, 34, 40, 0, 37, 39, 10, 35, 14, 15, 5, 3, 45,
        30, 47, 28, 21
    ),
    (
        53, 63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 50, 45, 51, 52, 49, 48, 47, 46, 44, 43, 42,
        41, 40, 35, 39, 38, 37, 36, 32, 24, 31, 30, 33, 34, 29, 28, 27, 26, 25, 18, 22, 21, 20,
        19, 23, 17, 16, 15, 14, 11, 13, 12, 8, 10, 9, 7, 6, 0, 5, 4, 3, 2, 1
    ),
    (
        72, 94, 31, 27, 48, 91, 87, 86, 83, 82, 10, 11, 80, 51, 24, 99, 55, 68, 21, 60, 62, 66,
        22, 16, 32, 76, 93, 3, 46, 69, 75, 37, 25, 71, 61, 35, 7, 41, 13, 6, 36, 90, 81, 43, 89,
        74, 28, 97, 26, 18, 50, 29, 8, 45, 1, 98, 56, 57, 33, 4, 20, 52, 34, 30, 53, 79, 49, 78,
        17, 44, 0, 64, 85, 23, 58, 70, 59, 77, 19, 14, 12, 42, 88, 65, 92, 63, 40, 39, 9, 38,
        67, 5, 84, 15, 2, 95, 96, 47, 73, 54
    ),
    (
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
        24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 41, 42, 43, 44, 45, 46,
        47, 40, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67,
        68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89,
        90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108,
        109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119
    ),
    (
        236, 112, 54, 60, 66, 71, 210, 78, 220, 151, 227, 133, 208, 157, 199, 36, 105, 175, 77,
        139, 20, 21, 114, 111, 119, 241, 75, 161, 185, 206, 30, 148, 25, 12, 122, 113, 155, 121,
        129, 99, 5, 137, 226, 127, 100, 90, 205, 83, 186, 26, 152, 202, 89, 69, 108, 156, 130,
        0, 45, 196, 159, 252, 187, 48, 239, 183, 146, 238, 182, 17, 79, 40, 181, 35, 144, 49,
        249, 247, 218, 70, 80, 131, 174, 125, 39, 27, 141, 230, 67, 204, 109, 76, 3, 142, 203,
        224, 201, 240, 94, 228, 225, 33, 169, 173, 213, 85, 41, 115, 52, 179, 189, 193, 96, 197,
        24, 81, 128, 177, 162, 178, 92, 23, 101, 87, 229, 16, 231, 160, 207, 6, 253, 191, 170,
        126, 44, 7, 223, 74, 82, 103, 14, 117, 256, 2, 1, 19, 116, 57, 15, 158, 38, 107, 172,
        153, 42, 22, 106, 43, 37, 46, 234, 214, 235, 53, 246, 232, 9, 167, 64, 216, 118, 219,
        104, 88, 255, 138, 149, 233, 250, 4, 97, 132, 190, 188, 166, 28, 63, 184, 8, 10, 242,
        59, 254, 11, 243, 72, 120, 176, 171, 245, 13, 163, 51, 93, 248, 147, 73, 180, 154, 209,
        55, 198, 212, 56, 110, 168, 251, 143, 165, 194, 32, 221, 192, 86, 134, 195, 95, 136,
        145, 150, 102, 244, 62, 61, 50, 18, 222, 164, 91, 211, 124, 140, 68, 200, 217, 47, 237,
        34, 98, 84, 135, 29, 65, 123, 215, 31, 58
    ),
    (
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
        24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45,
        46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67,
        68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89,
        90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108,
        109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125,
        126, 127, 128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 140, 141, 142,
        143, 144, 145, 146, 147, 148, 149, 150, 151, 152, 153, 154, 155, 156, 157, 158, 159,
        160, 161, 162, 163, 164, 165, 166, 167, 168, 169, 170, 171, 172, 173, 174, 175, 176,
        177, 178, 179, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189, 190, 191, 192, 193,
        194, 195, 196, 197, 198, 199, 200, 201, 202, 203, 204, 205, 206, 207, 208, 209, 210,
        211, 212, 213, 214, 215, 216, 217, 218, 219, 220, 221, 222, 223, 224, 225, 226, 227,
        228, 229, 230, 231, 232, 233, 234, 235, 236, 237, 238, 239, 240, 241, 242, 243, 244,
        245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255, 256, 257, 258, 259, 260, 261,
        262, 263, 264, 265, 266, 267, 268, 269, 270, 271, 272, 273, 274, 275, 276, 277, 278,
        279, 280, 281, 282, 283, 284, 285, 286, 287, 288, 289, 290, 291, 292, 293, 294, 295,
        296, 297, 298, 299
    ),
    (
        145, 263, 42, 430, 116, 284, 312, 438, 247, 77, 33, 344, 162, 220, 334, 293, 169, 55,
        392, 244, 133, 335, 373, 65, 461, 75, 268, 56, 71, 389, 442, 246, 388, 240, 112, 164,
        489, 132, 96, 248, 374, 287, 205, 43, 142, 427, 46, 433, 212, 418, 337, 123, 190, 188,
        294, 28, 170, 448, 182, 222, 18, 271, 404, 236, 237, 234, 227, 397, 91, 361, 410, 144,
        479, 481, 90, 186, 167, 101, 260, 346, 292, 288, 191, 437, 53, 81, 0, 368, 279, 393,
        140, 406, 262, 154, 296, 251, 419, 249, 37, 200, 485, 213, 114, 487, 111, 5, 498, 320,
        99, 466, 107, 202, 266, 6, 102, 135, 10, 54, 311, 380, 31, 297, 225, 471, 153, 411, 303,
        127, 441, 440, 157, 321, 173, 309, 187, 9, 57, 73, 343, 58, 51, 39, 490, 354, 64, 14,
        478, 94, 281, 477, 282, 177, 356, 78, 379, 26, 86, 129, 158, 27, 412, 47, 339, 2, 493,
        372, 166, 369, 254, 400, 315, 258, 218, 265, 250, 474, 476, 149, 484, 357, 224, 396, 66,
        483, 364, 216, 259, 143, 348, 267, 319, 444, 439, 207, 194, 415, 422, 375, 463, 105,
        313, 201, 119, 305, 83, 301, 425, 128, 70, 429, 210, 384, 198, 436, 443, 215, 147, 151,
        257, 15, 183, 359, 252, 362, 76, 163, 21, 459, 241, 367, 276, 467, 290, 302, 98, 349,
        394, 174, 217, 126, 79, 468, 291, 195, 171, 88, 341, 488, 381, 377, 223, 317, 221, 49,
        352, 462, 376, 117, 435, 134, 495, 434, 310, 11, 92, 325, 214, 108, 327, 48, 358, 398,
        338, 103, 355, 275, 329, 60, 383, 499, 336, 136, 87, 401, 122, 473, 366, 175, 193, 235,
        232, 161, 387, 206, 347, 295, 318, 486, 414, 270, 497, 93, 34, 29, 16, 456, 458, 399,
        452, 308, 307, 118, 306, 100, 298, 421, 208, 428, 209, 41, 59, 68, 40, 409, 324, 371,
        449, 152, 451, 482, 230, 382, 168, 229, 44, 274, 402, 82, 204, 8, 181, 23, 460, 457,
        300, 345, 160, 253, 97, 447, 35, 432, 137, 283, 80, 106, 130, 264, 426, 455, 156, 124,
        159, 420, 413, 316, 239, 52, 20, 378, 109, 185, 326, 408, 61, 273, 242, 370, 322, 492,
        189, 278, 480, 445, 446, 385, 22, 469, 403, 25, 465, 261, 172, 454, 304, 255, 340, 69,
        256, 333, 63, 391, 72, 228, 179, 95, 148, 36, 184, 431, 494, 299, 139, 323, 199, 491, 7,
        141, 180, 146, 405, 331, 67, 470, 350, 238, 24, 286, 424, 342, 178, 84, 155, 115, 62,
        110, 19, 32, 12, 475, 289, 1, 496, 196, 85, 50, 416, 192, 13, 332, 450, 219, 360, 121,
        280, 226, 165, 472, 233, 131, 125, 417, 453, 197, 464, 330, 365, 363, 89, 328, 104, 285,
        353, 386, 150, 45, 245, 120, 17, 113, 423, 351, 74, 277, 407, 231, 395, 211, 203, 272,
        4, 138, 243, 3, 390, 269, 30, 176, 38, 314
    ),
    (
        36, 31, 18, 16, 13, 6, 32, 21, 29, 39, 11, 30, 3, 22, 24, 0, 15, 35, 26, 17, 25, 38, 27,
        9, 28, 19, 8, 10, 5, 20, 4, 14, 12, 1, 34, 23, 7, 2, 37, 33
    ),
]
# fmt: on


def _by_key(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[1] < b[1]


def _go_order(keys: list[int]) -> list[int]:
    items = list(enumerate(keys))
    go_sort(items, _by_key)
    return [i for i, _ in items]


def _stable_order(keys: list[int]) -> list[int]:
    return [i for i, _ in sorted(enumerate(keys), key=lambda p: p[1])]


def _random_keys(rng: random.Random, n: int) -> list[int]:
    kind = rng.randrange(6)
    if kind == 0:
        return [rng.randrange(max(1, n // 10)) for _ in range(n)]
    if kind == 1:
        return [rng.randrange(3) for _ in range(n)]
    if kind == 2:
        return sorted(rng.randrange(50) for _ in range(n))
    if kind == 3:
        return sorted((rng.randrange(50) for _ in range(n)), reverse=True)
    if kind == 4:
        return [rng.randrange(10**6) for _ in range(n)]
    return [i % 7 for i in range(n)]


_SIZES = [*range(131), *range(131, 2000, 61), 2000]


@pytest.mark.parametrize("n", _SIZES)
def test_sorts_random_inputs(n: int) -> None:
    rng = random.Random(n)
    for _ in range(3):
        keys = _random_keys(rng, n)
        order = _go_order(keys)
        assert sorted(order) == list(range(n))
        got = [keys[i] for i in order]
        assert got == sorted(keys)


@pytest.mark.parametrize("index", range(len(_GOLDEN_IDS)))
def test_by_key_matches_go_golden_orders(index: int) -> None:
    items = list(enumerate(_GOLDEN_INPUTS[index]))
    go_sort_by_key(items, lambda item: item[1])
    assert [i for i, _ in items] == list(_GOLDEN_IDS[index])


@pytest.mark.parametrize("n", _SIZES)
def test_by_key_sorts_as_go_sort_does(n: int) -> None:
    rng = random.Random(7000 + n)
    for _ in range(3):
        keys = _random_keys(rng, n)
        items = list(enumerate(keys))
        go_sort_by_key(items, lambda item: item[1])
        assert [i for i, _ in items] == _go_order(keys)


def test_sorts_plain_values_in_place() -> None:
    values = [5, 3, 9, 1, 1, 7, 2, 8, 6, 4, 0, 3, 5, 9, 2, 2]
    go_sort(values, lambda a, b: a < b)
    assert values == sorted(values)


def test_empty_and_single_make_no_calls() -> None:
    def boom(a: int, b: int) -> bool:
        raise AssertionError("less must not be called")

    empty: list[int] = []
    go_sort(empty, boom)
    one = [1]
    go_sort(one, boom)
    assert empty == [] and one == [1]


def _insertion_trace(keys: list[int]) -> list[tuple[int, int]]:
    """The (id, id) pairs a plain insertion sort compares, in order."""
    items = list(enumerate(keys))
    calls: list[tuple[int, int]] = []
    for i in range(1, len(items)):
        j = i
        while j > 0:
            calls.append((items[j][0], items[j - 1][0]))
            if not items[j][1] < items[j - 1][1]:
                break
            items[j], items[j - 1] = items[j - 1], items[j]
            j -= 1
    return calls


@pytest.mark.parametrize("n", range(13))
def test_small_inputs_are_stable_insertion_sort(n: int) -> None:
    rng = random.Random(1000 + n)
    calls: list[tuple[int, int]] = []

    def less(a: tuple[int, int], b: tuple[int, int]) -> bool:
        calls.append((a[0], b[0]))
        return a[1] < b[1]

    for _ in range(200):
        keys = [rng.randrange(3) for _ in range(n)]
        calls.clear()
        items = list(enumerate(keys))
        go_sort(items, less)
        assert [i for i, _ in items] == _stable_order(keys)
        assert calls == _insertion_trace(keys)


def test_thirteen_is_where_stability_ends() -> None:
    # The first golden case has 13 elements and Go does not keep ties in order.
    assert len(_GOLDEN_INPUTS[0]) == 13
    assert list(_GOLDEN_IDS[0]) != _stable_order(_GOLDEN_INPUTS[0])


def test_golden_inputs_are_what_go_sorted() -> None:
    assert len(_GOLDEN_INPUTS) == len(_GOLDEN_IDS)
    for keys, ids in zip(_GOLDEN_INPUTS, _GOLDEN_IDS, strict=True):
        assert len(ids) == len(keys)
        assert [keys[i] for i in ids] == sorted(keys)


@pytest.mark.parametrize("index", range(len(_GOLDEN_IDS)))
def test_matches_go_golden_orders(index: int) -> None:
    assert _go_order(_GOLDEN_INPUTS[index]) == list(_GOLDEN_IDS[index])


_GO_PROGRAM = """\
package main

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

type pair struct{ key, id int }
type byKey []pair

func (p byKey) Len() int           { return len(p) }
func (p byKey) Less(i, j int) bool { return p[i].key < p[j].key }
func (p byKey) Swap(i, j int)      { p[i], p[j] = p[j], p[i] }

func main() {
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		ps := make(byKey, len(f))
		for i, s := range f {
			k, err := strconv.Atoi(s)
			if err != nil {
				panic(err)
			}
			ps[i] = pair{k, i}
		}
		sort.Sort(ps)
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = strconv.Itoa(p.id)
		}
		fmt.Fprintln(w, strings.Join(out, " "))
	}
}
"""


def _run_go(go: str, tmp_path: Path, lists: list[list[int]]) -> list[list[int]]:
    src = tmp_path / "main.go"
    src.write_text(_GO_PROGRAM)
    env = dict(os.environ)
    env.update(GOTOOLCHAIN="local", GOFLAGS="", GO111MODULE="off", GOPROXY="off")
    env.setdefault("GOCACHE", str(tmp_path / "gocache"))
    proc = subprocess.run(
        [go, "run", str(src)],
        input="".join(" ".join(map(str, keys)) + "\n" for keys in lists),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == len(lists)
    return [[int(t) for t in line.split()] for line in lines]


_GO = shutil.which("go")


@pytest.mark.skipif(_GO is None, reason="no Go toolchain on PATH (apt-get install golang-go)")
def test_matches_live_go(tmp_path: Path) -> None:
    assert _GO is not None
    rng = random.Random(20240611)
    lists = list(_GOLDEN_INPUTS)
    for _ in range(150):
        n = rng.randrange(13, 501)
        lists.append([rng.randrange(rng.choice((2, 3, 5, 10, 40))) for _ in range(n)])
    for n in (13, 50, 51, 100, 128, 129, 499, 500):
        lists.append(_random_keys(rng, n))
    go_orders = _run_go(_GO, tmp_path, lists)
    for keys, expected in zip(lists, go_orders, strict=True):
        assert _go_order(keys) == expected, keys
    # The hard-coded goldens must be what this Go produces too.
    for i, ids in enumerate(_GOLDEN_IDS):
        assert go_orders[i] == list(ids)


def test_less_gets_elements_not_indices() -> None:
    seen: list[tuple[str, str]] = []
    words = ["pear", "fig", "apple", "kiwi", "date", "lime", "plum", "yuzu", "nut",
             "bean", "corn", "rice", "oat", "rye"]  # fmt: skip

    def less(a: str, b: str) -> bool:
        seen.append((a, b))
        return len(a) < len(b)

    go_sort(words, less)
    assert seen and all(isinstance(a, str) and isinstance(b, str) for a, b in seen)
    assert [len(w) for w in words] == sorted(len(w) for w in words)
