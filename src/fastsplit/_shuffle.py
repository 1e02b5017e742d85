"""The seeded shuffle inside every group: a keyed bijection sigma_g on [0, c_g).

With a seed, the place that group g's within-group rank j has in the unseeded
order (``_plan``) receives the point of rank sigma_g(j). The chunk counts and the
block layout are unchanged, so C1-C5 hold with the *shuffled rank* of the point
of rank sigma_g(j) being j. sigma_g is ``ROUNDS`` rounds of a keyed xor, a keyed
odd multiplier and a xorshift on the smallest power of two >= c_g, applied
again while it lands at c_g or above (cycle walking, under 2 rounds on
average). It is a pure function of (seed, group, rank), not a stateful
generator, so every backend and every thread count computes the same order;
and it is branch-free and vectorizes (the numba backend hashes a whole tile of
places at once). :func:`permute_rank` is the scalar statement that numba
compiles, :func:`permute_ranks` the same function on arrays (the numpy oracle
and the contract checker).
"""

from __future__ import annotations

import numpy as np

ROUNDS = 4
"""Rounds of (xor key, times odd key, xorshift): 3 left small groups visibly non-uniform.
(:func:`round_keys` spells out the 8 keys of 4 rounds.)"""

_M32 = 0xFFFFFFFF
_GOLDEN = 0x9E3779B9


def _mix32(x: np.ndarray | int) -> np.ndarray | int:
    """A 32-bit integer hash (C. Wellons' hash prospector: 16 21f0aaad 15 735a2d97 15).

    Both multipliers are below 2**31, so the products of 32-bit values stay below
    2**63: the same numbers in Python ints, int64 scalars and int64 arrays.
    """
    x = x ^ (x >> 16)
    x = (x * 0x21F0AAAD) & _M32
    x = x ^ (x >> 15)
    x = (x * 0x735A2D97) & _M32
    return x ^ (x >> 15)


def permutation_keys(seed: tuple[int, ...], counts: np.ndarray) -> np.ndarray:
    """Per group: the bit width b of its domain, then per round a xor key and an odd multiplier.

    An int64 table, G x (1 + 2 ROUNDS). ``seed`` is a tuple of ints in [0, 2**64)
    (validated by the caller); every 64-bit value enters as two 32-bit words, so
    (1, 2) and (2, 1) differ. The xor keys are below 2**b; the multipliers are odd
    32-bit numbers (a product with a value of b <= 62 bits may wrap in int64, which
    the mask to b bits makes harmless: 2**b divides 2**64).
    """
    state = _GOLDEN
    for value in seed:
        for word in (value & _M32, value >> 32):
            state = int(_mix32((state ^ word) + _GOLDEN & _M32))
        state = int(_mix32(state ^ 0x5BD1E995))  # ends each value: (1, 0) != (1,)
    counts = np.asarray(counts, dtype=np.int64)
    g = np.arange(counts.size, dtype=np.int64)
    width = np.zeros(counts.size, dtype=np.int64)
    top = np.maximum(counts - 1, 0)
    for b in range(63):  # bit length of c_g - 1: the domain is [0, 2**width)
        width += (top >> b) > 0
    mask = (np.int64(1) << width) - 1
    table = np.empty((counts.size, 1 + 2 * ROUNDS), dtype=np.int64)
    table[:, 0] = width
    for i in range(2 * ROUNDS):
        round_key = int(_mix32(state ^ (_GOLDEN * (i + 1) & _M32)))
        hashed = np.asarray(_mix32(_mix32(round_key ^ (g & _M32)) ^ (g >> 32)), dtype=np.int64)
        table[:, 1 + i] = hashed | 1 if i % 2 else hashed & mask
    return table


def round_keys(keys: np.ndarray, group: int) -> tuple[int, ...]:
    """Row ``group`` of the table as a tuple of the 2 x ``ROUNDS`` round keys.

    A tuple, not a row view: compiled, its items are registers, so a loop that
    hashes many ranks of one group vectorizes (a view's loads could alias the
    loop's stores).
    """
    return (
        int(keys[group, 1]),
        int(keys[group, 2]),
        int(keys[group, 3]),
        int(keys[group, 4]),
        int(keys[group, 5]),
        int(keys[group, 6]),
        int(keys[group, 7]),
        int(keys[group, 8]),
    )


def scramble(x: int, mask: int, half: int, k: tuple[int, ...]) -> int:
    """One pass of the keyed bijection of [0, mask + 1) (``half`` = ceil(bits / 2)).

    Each round is a bijection of b-bit numbers: xor with a key below 2**b, times an
    odd number mod 2**b, then x ^ (x >> half), which carries the high bits down.
    ``k`` is :func:`round_keys`. Plain Python, written for numba to compile
    (inlined into a loop over ranks, it vectorizes).
    """
    for i in range(ROUNDS):
        x = ((x ^ k[2 * i]) * k[2 * i + 1]) & mask
        x = x ^ (x >> half)
    return x


def permute_rank(rank: int, count: int, keys: np.ndarray, group: int) -> int:
    """sigma_g(rank): the within-group rank whose point the seed puts at ``rank``'s place.

    A bijection on [0, count) keyed by row ``group`` of the table of
    :func:`permutation_keys`: :func:`scramble` on ``keys[group, 0]``-bit numbers,
    applied again while the result is ``count`` or more (cycle walking: a
    bijection of the larger domain, restricted to [0, count), stays a bijection).
    Plain Python on integers, written for numba to compile; :func:`permute_ranks`
    states it on arrays.

    Examples
    --------
    >>> keys = permutation_keys((7,), np.array([10]))
    >>> sorted(permute_rank(r, 10, keys, 0) for r in range(10)) == list(range(10))
    True
    """
    bits = int(keys[group, 0])  # Python ints in Python (no int64 overflow warning)
    mask = (1 << bits) - 1
    half = (bits + 1) >> 1
    k = round_keys(keys, group)
    x = scramble(rank, mask, half, k)
    while x >= count:
        x = scramble(x, mask, half, k)
    return x


def permute_ranks(ranks: np.ndarray, counts: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """:func:`permute_rank` of every point at once (int64 arrays; ``keys`` per point).

    Examples
    --------
    >>> counts = np.array([5, 3])
    >>> table = permutation_keys((1, 2), counts)
    >>> group = np.array([0, 0, 0, 0, 0, 1, 1, 1])
    >>> rank = np.array([0, 1, 2, 3, 4, 0, 1, 2])
    >>> one = [permute_rank(r, counts[g], table, g) for r, g in zip(rank, group)]
    >>> permute_ranks(rank, counts[group], table[group]).tolist() == one
    True
    """
    x = np.asarray(ranks, dtype=np.int64).copy()
    counts = np.asarray(counts, dtype=np.int64)
    bits = keys[:, 0]
    mask, half = (np.int64(1) << bits) - 1, (bits + 1) >> 1
    todo = np.arange(x.size)
    while todo.size:
        y = x[todo]
        m, h = mask[todo], half[todo]
        for i in range(ROUNDS):
            y = ((y ^ keys[todo, 1 + 2 * i]) * keys[todo, 2 + 2 * i]) & m
            y ^= y >> h
        x[todo] = y
        todo = todo[y >= counts[todo]]
    return x


def inverse_multipliers(keys: np.ndarray) -> np.ndarray:
    """G x ``ROUNDS``: the inverse mod 2**64 of each round's odd multiplier (int64 bits).

    Exact mod 2**b too (2**b divides 2**64), so multiplying by it undoes a round's
    multiplication on b-bit numbers. Newton's iteration: correct to 3 bits at the
    start (k * k = 1 mod 8 for odd k), doubling each step, 96 after 5.
    """
    odd = keys[:, 2::2].astype(np.uint64)
    inverse = odd.copy()
    for _ in range(5):
        inverse *= np.uint64(2) - odd * inverse  # wraps mod 2**64, as meant
    return inverse.view(np.int64)


def unscramble(x: int, mask: int, half: int, k: tuple[int, ...], inv: tuple[int, ...]) -> int:
    """The inverse of :func:`scramble`: its rounds undone in reverse order.

    x ^ (x >> half) is its own inverse (2 half >= b); ``inv`` holds the inverses of
    the odd multipliers (:func:`inverse_multipliers`). Plain Python, written for
    numba to compile.
    """
    for i in range(ROUNDS - 1, -1, -1):
        x = x ^ (x >> half)
        x = ((x * inv[i]) & mask) ^ k[2 * i]
    return x


def unpermute_rank(rank: int, count: int, keys: np.ndarray, inverse: np.ndarray, group: int) -> int:
    """sigma_g^-1(rank): the shuffled rank whose place the point of rank ``rank`` takes.

    :func:`unscramble`, applied again while the result is ``count`` or more (cycle
    walking backwards). Plain Python on integers, written for numba to compile
    (``fastsplit.dask`` routes each point by it); :func:`unpermute_ranks` states it
    on arrays.

    Examples
    --------
    >>> keys = permutation_keys((7,), np.array([10]))
    >>> inverse = inverse_multipliers(keys)
    >>> [unpermute_rank(permute_rank(r, 10, keys, 0), 10, keys, inverse, 0) for r in range(10)]
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    """
    bits = int(keys[group, 0])
    mask = (1 << bits) - 1
    half = (bits + 1) >> 1
    k = round_keys(keys, group)
    inv = (
        int(inverse[group, 0]),
        int(inverse[group, 1]),
        int(inverse[group, 2]),
        int(inverse[group, 3]),
    )
    x = unscramble(rank, mask, half, k, inv)
    while x >= count:
        x = unscramble(x, mask, half, k, inv)
    return x


def unpermute_ranks(ranks: np.ndarray, counts: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """:func:`unpermute_rank` of every point at once: the inverse of :func:`permute_ranks`.

    Same arguments as :func:`permute_ranks` (``keys`` per point).

    Examples
    --------
    >>> counts = np.array([5, 3])
    >>> table = permutation_keys((1, 2), counts)
    >>> group = np.array([0, 0, 0, 0, 0, 1, 1, 1])
    >>> rank = np.array([0, 1, 2, 3, 4, 0, 1, 2])
    >>> j = permute_ranks(rank, counts[group], table[group])
    >>> unpermute_ranks(j, counts[group], table[group]).tolist() == rank.tolist()
    True
    """
    x = np.asarray(ranks, dtype=np.int64).copy()
    counts = np.asarray(counts, dtype=np.int64)
    bits = keys[:, 0]
    mask, half = (np.int64(1) << bits) - 1, (bits + 1) >> 1
    inverse = inverse_multipliers(keys)
    todo = np.arange(x.size)
    while todo.size:
        y = x[todo]
        m, h = mask[todo], half[todo]
        for i in reversed(range(ROUNDS)):
            y ^= y >> h
            y = ((y * inverse[todo, i]) & m) ^ keys[todo, 1 + 2 * i]
        x[todo] = y
        todo = todo[y >= counts[todo]]
    return x


__all__ = [
    "ROUNDS",
    "inverse_multipliers",
    "permutation_keys",
    "permute_rank",
    "permute_ranks",
    "round_keys",
    "scramble",
    "unpermute_rank",
    "unpermute_ranks",
    "unscramble",
]
