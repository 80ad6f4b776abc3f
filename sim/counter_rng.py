"""Counter-based random numbers: a draw is a pure function of (seed, stream, slot, week, counter).

**Why.** Sequential generators (numpy's) keep scenarios aligned only if every process draws
a full-population array every week, whatever the number of customers concerned (what the
weekly draws of :mod:`sim.rng` did until issue 20). Here a draw is instead a hash of its
coordinates: ``key(seed, name, *slot)`` fixes a
stream, :func:`week_key` a week of it, and the counter (the customer, or ``customer * K + j``
for K draws per customer) the draw itself. A compiled kernel therefore draws only for the
customers it visits, in any order and from any thread, and scenarios keep common random numbers
customer by customer: customer i's draw in week t is the same number whichever other customers
happen to need one. The numpy functions (``*_array``, ``*_at``) produce the very same bits as
the scalar numba functions, so the numpy reference path and the kernels stay bit-identical.

**Generator.** ``bits(k, i) = mix64(k + (i + 1) * 0x9E3779B97F4A7C15)`` is SplitMix64's
(i + 1)-th output from state k (mod 2**64): a stream is a window of the SplitMix64 sequence
starting at a pseudo-random 64-bit offset, so two windows of n draws overlap with probability
about 2n / 2**64. ``uniform64`` keeps the top 53 bits (a multiple of 2**-53 in [0, 1)),
``uniform32`` the top 24 bits (a multiple of 2**-24 in [0, 1), exact in float32).

**Normals.** Bit-identity rules out ``log``/``exp``/``sqrt``/``cos``, whose numpy (SIMD) and
libm versions may differ in the last bit. ``normal64`` inverts the CDF by linear interpolation in
a table of ``M = 8192`` cells using only ``*`` and ``+``: with ``u = uniform64``, ``pos = u * M``
(exact), ``j = int(pos)``, ``frac = pos - j`` (exact), ``z = Z[j] + frac * D[j]`` where
``Z[j] = ndtri(j / M)`` and ``D = Z[1:] - Z[:-1]``: one rounded product and one rounded sum in
that order, which numpy reproduces (numba without ``fastmath`` never fuses them into an FMA).
The error of the quantile function (against ``ndtri``) grows as ``z / phi(z)**2``: at most
3e-8 for |z| < 1, 1.3e-6 for |z| < 2, 2.6e-4 for |z| < 3, 1.5e-2 in the last inner cells (up
to ``|Z[1]| = 3.668``); the CDF is off by at most 1.2e-6 for |z| < 3 and 1.7e-5 anywhere. The
two end cells (probability 1/M each) stand for the unbounded tails: with
``Z[0] = 2 * E[X | X < Z[1]] - Z[1] = -4.153`` (and ``Z[M] = -Z[0]``) each end cell has the
tail's exact conditional mean, and the normals are bounded by |z| <= 4.153 (a true normal
exceeds that with probability 3.3e-5). The variance is 1 + 2.6e-5 and the kurtosis 3 - 5e-5; the table is exactly
antisymmetric (``Z[M - j] = -Z[j]``). ``normal32 = float32(normal64)``. ``M = 8192`` (Z and D:
128 KiB, in the L2 cache) draws as fast as ``M = 4096`` (64 KiB; also beyond a 48 KiB L1, as
the lookups are random), with a 4 times smaller body error and a bound at 4.15 instead of 3.99.

Pass keys to compiled code as ``np.uint64(k)``: numba types a Python int as int64 below 2**63
and uint64 above, and a call cannot convert a key >= 2**63 to an already compiled int64
specialisation (OverflowError). The counter is an int64 (or any integer) >= 0.

The tables are computed once at import (``scipy.special.ndtri`` is deterministic) and numba
freezes them into the compiled code as constants, also in its on-disk cache; numba's cache is
keyed on this file, so after a change of scipy that altered ``ndtri`` in the last bit, clear
``sim/__pycache__`` (:func:`compiled_tables_match` detects the mismatch).
"""

from __future__ import annotations

import math
import zlib

import numpy as np
from scipy.special import ndtri

try:  # numba is a dependency; without it the scalar functions run as (slow) Python
    import numba

    _HAVE_NUMBA = True
except ImportError:  # pragma: no cover - numba is installed with the package
    numba = None
    _HAVE_NUMBA = False

__all__ = [
    "D",
    "M",
    "Z",
    "bits",
    "bits_at",
    "compiled_tables_match",
    "key",
    "mix64",
    "normal32",
    "normal32_array",
    "normal32_at",
    "normal64",
    "normal64_array",
    "normal64_at",
    "uniform32",
    "uniform32_array",
    "uniform32_at",
    "uniform64",
    "uniform64_array",
    "uniform64_at",
    "week_key",
]

_MASK = (1 << 64) - 1
_GOLDEN_INT = 0x9E3779B97F4A7C15
_GOLDEN = np.uint64(_GOLDEN_INT)
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_S11, _S40 = np.uint64(11), np.uint64(40)
_ONE = np.uint64(1)
_TWO_M53 = 2.0**-53
_TWO_M24 = 2.0**-24

M = 8192  # cells of the inverse-CDF table (a power of two: u * M and pos - j are exact)
_MF = float(M)


def _tables(m: int) -> tuple[np.ndarray, np.ndarray]:
    """``Z[j] = ndtri(j / m)`` (antisymmetric, finite ends: the tail's conditional mean), ``D``."""
    j = np.arange(m + 1)
    z = ndtri(j / m)
    z[m // 2 :] = -z[m // 2 :: -1]  # exact antisymmetry: Z[m - j] = -Z[j]
    z[m // 2] = 0.0  # not -0.0
    z1 = float(z[1])
    tail_mean = -m * math.exp(-0.5 * z1 * z1) / math.sqrt(2.0 * math.pi)  # E[X | X < z1]
    z[0] = 2.0 * tail_mean - z1  # the linear end cell then has the tail's conditional mean
    z[m] = -z[0]
    z.setflags(write=False)
    d = z[1:] - z[:-1]
    d.setflags(write=False)
    return z, d


Z, D = _tables(M)


def _jit(fn):
    if _HAVE_NUMBA:
        return numba.njit(cache=True, nogil=True, boundscheck=False)(fn)

    def scalar(*args):  # pragma: no cover - numpy scalars wrap, but warn on overflow
        with np.errstate(over="ignore"):
            return fn(*args)

    scalar.py_func = fn
    return scalar


# ------------------------------------------------------------------------------------------------
# keys (Python)
# ------------------------------------------------------------------------------------------------
def _mix64_int(x: int) -> int:
    x &= _MASK
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & _MASK
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def key(seed: int, name: str, *keys: int) -> int:
    """64-bit key of stream ``name`` (and slot ``keys``, e.g. a firm) of the run ``seed``."""
    ss = np.random.SeedSequence(int(seed), spawn_key=(zlib.crc32(name.encode()), *map(int, keys)))
    return int(ss.generate_state(1, np.uint64)[0])


def week_key(k: int, t: int) -> int:
    """Key of week ``t`` of stream key ``k``: ``mix64(k ^ mix64(t + 0x9E3779B97F4A7C15))``."""
    return _mix64_int((int(k) & _MASK) ^ _mix64_int(int(t) + _GOLDEN_INT))


# ------------------------------------------------------------------------------------------------
# scalar draws (numba; callable from other njit kernels and from Python)
# ------------------------------------------------------------------------------------------------
@_jit
def mix64(x):
    """SplitMix64's finaliser (uint64 wrap-around)."""
    x = np.uint64(x)
    x ^= x >> _S30
    x *= _MUL1
    x ^= x >> _S27
    x *= _MUL2
    x ^= x >> _S31
    return x


@_jit
def bits(k, i):
    """64 random bits of counter ``i`` of key ``k``: ``mix64(k + (i + 1) * golden)``."""
    return mix64(np.uint64(k) + (np.uint64(i) + _ONE) * _GOLDEN)


@_jit
def uniform64(k, i):
    """Uniform float64 in [0, 1): the top 53 bits times 2**-53."""
    return np.float64(bits(k, i) >> _S11) * _TWO_M53


@_jit
def uniform32(k, i):
    """Uniform float32 in [0, 1): the top 24 bits times 2**-24 (exact in float32)."""
    return np.float32(np.float64(bits(k, i) >> _S40) * _TWO_M24)


@_jit
def normal64(k, i):
    """Standard normal (float64) by table inversion of ``uniform64(k, i)``."""
    pos = uniform64(k, i) * _MF
    j = np.int64(pos)
    frac = pos - j
    return Z[j] + frac * D[j]


@_jit
def normal32(k, i):
    """``float32(normal64(k, i))``."""
    return np.float32(normal64(k, i))


@_jit
def week_keys(bases, t):
    """:func:`week_key` of every key in the uint64 array ``bases`` for week ``t`` (one call a
    week for all the weekly draws)."""
    h = mix64(np.uint64(t) + _GOLDEN)
    out = np.empty_like(bases)
    for q in range(bases.size):
        out[q] = mix64(bases[q] ^ h)
    return out


@_jit
def uniform32_rows(k, rows, width):
    """``uniform32(k, i * width + j)`` for each ``i`` of ``rows`` and ``j < width``: the rows
    of an (N, width) draw, compiled (the same bits as ``uniform32_at``)."""
    out = np.empty((rows.size, width), dtype=np.float32)
    for r in range(rows.size):
        for j in range(width):
            out[r, j] = uniform32(k, rows[r] * width + j)
    return out


@_jit
def uniform64_rows(k, rows, width):
    """``uniform64(k, i * width + j)`` for each ``i`` of ``rows`` and ``j < width``, compiled."""
    out = np.empty((rows.size, width))
    for r in range(rows.size):
        for j in range(width):
            out[r, j] = uniform64(k, rows[r] * width + j)
    return out


@_jit
def _uniform32_idx(k, idx):
    out = np.empty(idx.size, dtype=np.float32)
    for q in range(idx.size):
        out[q] = uniform32(k, idx[q])
    return out


@_jit
def _uniform64_idx(k, idx):
    out = np.empty(idx.size)
    for q in range(idx.size):
        out[q] = uniform64(k, idx[q])
    return out


@_jit
def _normal64_idx(k, idx):
    out = np.empty(idx.size)
    for q in range(idx.size):
        out[q] = normal64(k, idx[q])
    return out


_COMPILED_AT = {"uniform32": _uniform32_idx, "uniform64": _uniform64_idx, "normal64": _normal64_idx}


@_jit
def _compiled_tables():
    return Z.copy(), D.copy()


def compiled_tables_match() -> bool:
    """Whether the tables frozen in the compiled (possibly cached) code equal ``Z`` and ``D``."""
    z, d = _compiled_tables()
    return z.tobytes() == Z.tobytes() and d.tobytes() == D.tobytes()


# ------------------------------------------------------------------------------------------------
# arrays (numpy; the same bits as the scalar functions)
# ------------------------------------------------------------------------------------------------
_BLOCK = 1 << 15  # counters per block: the temporaries stay in the L2 cache


def _bits(k: np.uint64, i: np.ndarray) -> np.ndarray:
    x = i.astype(np.uint64)  # a copy (wraps negative counters as the scalar cast does)
    x += _ONE
    x *= _GOLDEN
    x += k
    x ^= x >> _S30
    x *= _MUL1
    x ^= x >> _S27
    x *= _MUL2
    x ^= x >> _S31
    return x


def _uniform64(k: np.uint64, i: np.ndarray) -> np.ndarray:
    x = _bits(k, i)
    x >>= _S11
    u = x.astype(np.float64)  # < 2**53: exact
    u *= _TWO_M53
    return u


def _uniform32(k: np.uint64, i: np.ndarray) -> np.ndarray:
    x = _bits(k, i)
    x >>= _S40
    u = x.astype(np.float32)  # < 2**24: exact
    u *= np.float32(_TWO_M24)  # a power of two: exact, as the scalar path's float64 product
    return u


def _normal64(k: np.uint64, i: np.ndarray) -> np.ndarray:
    pos = _uniform64(k, i)
    pos *= _MF
    j = pos.astype(np.int64)
    pos -= j  # frac, exact
    z = Z[j]
    pos *= D[j]
    z += pos  # Z[j] + frac * D[j]: the scalar path's two roundings, in its order
    return z


def _normal32(k: np.uint64, i: np.ndarray) -> np.ndarray:
    return _normal64(k, i).astype(np.float32)


def _apply(fn, dtype, k: int, idx: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    """``fn(k, counters)`` block by block into an array of ``shape``; the counters are ``idx``
    (any shape) or, if None, 0, 1, … in C order."""
    out = np.empty(shape, dtype)
    flat = out.reshape(-1)
    if idx is not None:
        idx = idx.reshape(-1)
    ku = np.uint64(k)
    with np.errstate(over="ignore"):
        for s in range(0, flat.size, _BLOCK):
            e = min(s + _BLOCK, flat.size)
            i = np.arange(s, e, dtype=np.uint64) if idx is None else idx[s:e]
            flat[s:e] = fn(ku, i)
    return out


def _counters_of(idx: np.ndarray | int) -> np.ndarray:
    idx = np.asarray(idx)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"counters must be integers, not {idx.dtype}")
    return idx


_NUMPY_AT = {
    "uniform64": (np.float64, _uniform64),
    "uniform32": (np.float32, _uniform32),
    "normal64": (np.float64, _normal64),
    "normal32": (np.float32, _normal32),
}


def _at(name: str, k: int, idx: np.ndarray | int) -> np.ndarray:
    """``name(k, i)`` for every counter ``i`` of ``idx``: a compiled loop where there is one
    and ``idx`` is a 1-D int64 array, numpy blocks otherwise (the same bits)."""
    idx = _counters_of(idx)
    if name in _COMPILED_AT and _compiled(idx):
        return _COMPILED_AT[name](np.uint64(k), idx)
    dtype, fn = _NUMPY_AT[name]
    return _apply(fn, dtype, k, idx, idx.shape)


def _compiled(idx: np.ndarray) -> bool:
    """Whether ``*_at`` takes the compiled loop (one-dimensional int64 counters: the indices
    the model passes; the same bits as the numpy blocks, tests/test_counter_rng.py) rather than
    the numpy blocks, whose fixed cost dominates for the few hundred counters of a small model."""
    return _HAVE_NUMBA and idx.ndim == 1 and idx.dtype == np.int64


def _shape(shape: int | tuple[int, ...]) -> tuple[int, ...]:
    return (int(shape),) if np.ndim(shape) == 0 else tuple(int(n) for n in shape)


def bits_at(k: int, idx: np.ndarray | int) -> np.ndarray:
    """``bits(k, i)`` for every counter ``i`` of the integer array ``idx`` (uint64, its shape)."""
    idx = _counters_of(idx)
    return _apply(_bits, np.uint64, k, idx, idx.shape)


def uniform64_at(k: int, idx: np.ndarray | int) -> np.ndarray:
    """``uniform64(k, i)`` for every counter ``i`` of ``idx`` (float64, the shape of ``idx``)."""
    return _at("uniform64", k, idx)


def uniform32_at(k: int, idx: np.ndarray | int) -> np.ndarray:
    """``uniform32(k, i)`` for every counter ``i`` of ``idx`` (float32, the shape of ``idx``)."""
    return _at("uniform32", k, idx)


def normal64_at(k: int, idx: np.ndarray | int) -> np.ndarray:
    """``normal64(k, i)`` for every counter ``i`` of ``idx`` (float64, the shape of ``idx``)."""
    return _at("normal64", k, idx)


def normal32_at(k: int, idx: np.ndarray | int) -> np.ndarray:
    """``normal32(k, i)`` for every counter ``i`` of ``idx`` (float32, the shape of ``idx``)."""
    return _at("normal32", k, idx)


def uniform64_array(k: int, shape: int | tuple[int, ...]) -> np.ndarray:
    """``uniform64`` of counters 0, 1, … in C order: element [i, j] of (n, K) is ``i * K + j``."""
    return _apply(_uniform64, np.float64, k, None, _shape(shape))


def uniform32_array(k: int, shape: int | tuple[int, ...]) -> np.ndarray:
    """``uniform32`` of counters 0, 1, … in C order: element [i, j] of (n, K) is ``i * K + j``."""
    return _apply(_uniform32, np.float32, k, None, _shape(shape))


def normal64_array(k: int, shape: int | tuple[int, ...]) -> np.ndarray:
    """``normal64`` of counters 0, 1, … in C order: element [i, j] of (n, K) is ``i * K + j``."""
    return _apply(_normal64, np.float64, k, None, _shape(shape))


def normal32_array(k: int, shape: int | tuple[int, ...]) -> np.ndarray:
    """``normal32`` of counters 0, 1, … in C order: element [i, j] of (n, K) is ``i * K + j``."""
    return _apply(_normal32, np.float32, k, None, _shape(shape))
