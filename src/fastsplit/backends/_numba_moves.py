"""Kernels move bits, not numbers: the table of moves every numba writer follows.

A numba kernel is compiled once per type signature. Passing the data arrays
themselves would compile a variant per dtype and per number of arrays (a tuple
of 5 arrays is a new type). Instead every array a kernel reads or writes is one
row of a small int64 table, a *move*: its address and how its points are laid
out in *words* of 1, 2, 4 or 8 bytes (the widest that divides the item size, the
stride and the address). float64, int64 and datetime64 are all one 8-byte word
per point, complex128 two, a 3-byte string three 1-byte words. The kernels take
the table (always ``int64[:, ::1]``) and view each row's memory as unsigned words
with :func:`words`, so one compiled variant serves every dtype and any number of
arrays, and each word size has its own specialised loop inside it.

Two kinds of move:

``COPY``
    point ``i`` of the source (``WIDTH`` words from word ``ORIGIN + i * STEP``)
    is copied to point ``p`` of the destination (words ``p * WIDTH ...``);
``INDEX``
    the destination is the permutation: ``i`` itself is written at ``p`` as a
    ``WORD``-byte integer (index mode).

A row holds raw addresses: the caller keeps the arrays alive while a kernel runs
(the tables are built and used inside one function call). Destinations are
always fresh, C-contiguous arrays; sources may be any 1-D view (strided,
reversed, misaligned, memory-mapped, read-only). Rows of 2-D arrays (one row
per point) are the same move with a larger ``WIDTH``; a 2-D array whose rows are
not contiguous moves column by column into a Fortran-ordered output.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir  # type: ignore[import-untyped]
from numba import carray, types
from numba.core import cgutils
from numba.extending import intrinsic

from ._jit import jit

COPY, INDEX = 0, 1
KIND, WORD, WIDTH, SRC, ORIGIN, STEP, SRC_LEN, DST, DST_LEN = range(9)
COLUMNS = 9

WORD_TYPES = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}
"""The unsigned integer type of each word size."""


def _word(itemsize: int, stride: int, address: int) -> int:
    """Widest word that divides the item size, the stride and the address."""
    bits = itemsize | stride | address
    return 8 if not bits & 7 else 4 if not bits & 3 else 2 if not bits & 1 else 1


def source(a: np.ndarray) -> tuple[int, int, int, int, int, int]:
    """(word, width, lowest address, origin, step, span in words) of a 1-D array.

    A 2-D array whose rows are contiguous (:func:`rows_contiguous`) is read as a
    1-D array of rows: one point is its row, ``WIDTH`` words long.
    """
    n = a.shape[0]
    itemsize = a.itemsize * (a.shape[1] if a.ndim == 2 else 1)
    stride = a.strides[0] if n > 1 else itemsize
    address = a.ctypes.data
    word = _word(itemsize, stride, address)
    width = itemsize // word
    step = stride // word
    if stride >= 0:
        return word, width, address, 0, step, step * (n - 1) + width if n else 0
    # A negative stride: the span starts at point n - 1, point 0 is `origin` words in.
    origin = -step * (n - 1)
    return word, width, address + stride * (n - 1), origin, step, origin + width


def rows_contiguous(a: np.ndarray) -> bool:
    """Whether each point's values are adjacent in memory (1-D, or 2-D with contiguous rows)."""
    return a.ndim == 1 or a.shape[1] <= 1 or a.strides[1] == a.itemsize


def copy_moves(
    sources: tuple[np.ndarray, ...], n: int
) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """Fresh outputs of ``n`` points for ``sources``, and the ``COPY`` rows that fill them.

    A 1-D array, or a 2-D array with contiguous rows, is one move into a C-ordered
    output (a row is one point of ``WIDTH`` words). Any other 2-D array (Fortran
    order, a slice of columns) is one move per column into a Fortran-ordered
    output, whose columns are contiguous: the values are ``a[order]`` all the same,
    and no staging copy of the input is made.
    """
    outputs: list[np.ndarray] = []
    pairs: list[tuple[np.ndarray, np.ndarray]] = []
    for a in sources:
        if rows_contiguous(a):
            out = np.empty((n, *a.shape[1:]), dtype=a.dtype)
            pairs.append((a, out))
        else:
            out = np.empty((a.shape[1], n), dtype=a.dtype).T
            pairs.extend((a[:, j], out[:, j]) for j in range(a.shape[1]))
        outputs.append(out)
    rows = []
    for a, out in pairs:
        word, width, low, origin, step, span = source(a)
        rows.append(
            (COPY, word, width, low, origin, step, span, out.ctypes.data, out.shape[0] * width)
        )
    return tuple(outputs), np.array(rows, dtype=np.int64).reshape(len(rows), COLUMNS)


def index_moves(order: np.ndarray) -> np.ndarray:
    """The one ``INDEX`` row that writes the permutation into ``order`` (int32 or int64)."""
    row = (INDEX, order.itemsize, 1, 0, 0, 0, 0, order.ctypes.data, order.size)
    return np.array([row], dtype=np.int64)


@intrinsic
def _pointer(typingctx, address, dtype):
    """``address`` (an int64) as a pointer to ``dtype``."""
    target = dtype.dtype if isinstance(dtype, types.DTypeSpec) else dtype.instance_type
    signature = types.CPointer(target)(address, dtype)

    def codegen(context, builder, sig, args):
        return builder.inttoptr(args[0], context.get_value_type(sig.return_type))

    return signature, codegen


@intrinsic
def store_stream(typingctx, array, index, value):
    """``array[index] = value`` as a streaming (non-temporal) store: the line is not read first.

    The scatter writes whole output blocks at scattered places; an ordinary store
    first reads every line it writes into the cache (write-allocate). Streaming
    stores of whole lines skip that read. Call :func:`fence` before the data is
    read by another thread.
    """
    signature = types.void(array, index, value)

    def codegen(context, builder, sig, args):
        kind = sig.args[0]
        view = context.make_array(kind)(context, builder, args[0])
        pointer = cgutils.get_item_pointer(context, builder, kind, view, [args[1]])
        item = context.cast(builder, args[2], sig.args[2], kind.dtype)
        store = builder.store(item, pointer)
        store.set_metadata(
            "nontemporal", builder.module.add_metadata([ir.Constant(ir.IntType(32), 1)])
        )
        return context.get_dummy_value()

    return signature, codegen


@intrinsic
def fence(typingctx):
    """A full memory fence: orders streaming stores before everything after it."""

    def codegen(context, builder, sig, args):
        builder.fence("seq_cst")
        return context.get_dummy_value()

    return types.void(), codegen


@jit(inline=True)
def words(address, length, dtype):
    """``length`` words of type ``dtype`` at ``address`` (no copy, no reference count)."""
    return carray(_pointer(address, dtype), length)  # type: ignore[call-arg]


__all__ = [
    "COLUMNS",
    "COPY",
    "DST",
    "DST_LEN",
    "INDEX",
    "KIND",
    "ORIGIN",
    "SRC",
    "SRC_LEN",
    "STEP",
    "WIDTH",
    "WORD",
    "WORD_TYPES",
    "copy_moves",
    "fence",
    "index_moves",
    "rows_contiguous",
    "source",
    "store_stream",
    "words",
]
