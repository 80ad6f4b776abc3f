"""The counter-based generator (sim/counter_rng.py): numba scalars and numpy arrays agree bit
for bit, the draws are uniform / normal and uncorrelated, and the keys are stable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from scipy.special import ndtri

from sim import counter_rng as cr

numba = pytest.importorskip("numba")

N = 100_000
KEYS = (
    cr.key(1, "touchpoint"),
    cr.key(7, "wom", 3),
    cr.week_key(cr.key(1, "churn"), 52),
    0,
    2**63 - 1,
    2**64 - 1,
)


@numba.njit
def _draw(k, idx):
    """Every scalar draw of counters ``idx``, from inside a compiled function (as a kernel)."""
    n = idx.size
    u32 = np.empty(n, np.float32)
    u64 = np.empty(n, np.float64)
    n32 = np.empty(n, np.float32)
    n64 = np.empty(n, np.float64)
    b = np.empty(n, np.uint64)
    for r in range(n):
        i = idx[r]
        u32[r] = cr.uniform32(k, i)
        u64[r] = cr.uniform64(k, i)
        n32[r] = cr.normal32(k, i)
        n64[r] = cr.normal64(k, i)
        b[r] = cr.bits(k, i)
    return u32, u64, n32, n64, b


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("k", KEYS)
def test_scalar_and_arrays_are_bit_identical(k):
    u32, u64, n32, n64, b = _draw(np.uint64(k), np.arange(N, dtype=np.int64))
    assert _same(u32, cr.uniform32_array(k, N))
    assert _same(u64, cr.uniform64_array(k, N))
    assert _same(n32, cr.normal32_array(k, N))
    assert _same(n64, cr.normal64_array(k, N))
    assert _same(b, cr.bits_at(k, np.arange(N)))


@pytest.mark.parametrize("k", KEYS[:3])
def test_scalar_and_indexed_arrays_are_bit_identical(k):
    idx = np.random.default_rng(5).integers(0, 2**62, 20_000)  # unordered, sparse, large
    u32, u64, n32, n64, b = _draw(np.uint64(k), idx)
    assert _same(u32, cr.uniform32_at(k, idx))
    assert _same(u64, cr.uniform64_at(k, idx))
    assert _same(n32, cr.normal32_at(k, idx))
    assert _same(n64, cr.normal64_at(k, idx))
    assert _same(b, cr.bits_at(k, idx.astype(np.uint64)))


def test_python_calls_match_arrays_for_both_key_typings():
    """Keys reach compiled code as uint64 (or, below 2**63, as int64): the same bits."""
    for k in (5, 2**63 + 5, *KEYS):
        typings = (np.uint64(k), np.int64(k)) if k < 2**63 else (np.uint64(k),)
        for kk in typings:
            for i in (0, 1, 12_345, 2**40):
                assert cr.bits(kk, i) == cr.bits_at(k, i)
                assert cr.uniform64(kk, i) == cr.uniform64_at(k, i)
                assert np.float32(cr.uniform32(kk, i)) == cr.uniform32_at(k, i)
                assert cr.normal64(kk, i) == cr.normal64_at(k, i)
                assert np.float32(cr.normal32(kk, i)) == cr.normal32_at(k, i)


def test_pure_python_semantics_match_compiled():
    """The functions' Python bodies (the fallback without numba) give the compiled bits."""
    k = np.uint64(KEYS[0])
    with np.errstate(over="ignore"):
        for i in (0, 3, 2**33):
            assert cr.mix64.py_func(i) == cr.mix64(i)
            assert cr.bits.py_func(k, i) == cr.bits(k, i)
            assert cr.uniform32.py_func(k, i) == cr.uniform32(k, i)
            assert cr.normal64.py_func(k, i) == cr.normal64(k, i)


def test_two_dimensional_layout():
    k, n, width = KEYS[1], 1_000, 7
    for f2d, f_at, scalar in (
        (cr.uniform32_array, cr.uniform32_at, cr.uniform32),
        (cr.normal64_array, cr.normal64_at, cr.normal64),
    ):
        a = f2d(k, (n, width))
        assert a.shape == (n, width)
        assert _same(a.ravel(), f2d(k, n * width))
        idx = np.arange(n * width).reshape(n, width)
        assert _same(f_at(k, idx), a)
        for i, j in ((0, 0), (0, 6), (1, 0), (500, 3), (999, 6)):
            assert a[i, j] == scalar(np.uint64(k), i * width + j)


def test_uniforms_are_uniform_on_the_unit_interval():
    k = KEYS[0]
    for u in (cr.uniform64_array(k, 200_000), cr.uniform32_array(k, 200_000).astype(np.float64)):
        assert u.min() >= 0.0 and u.max() < 1.0
        assert stats.kstest(u, "uniform").pvalue > 1e-3
    u32 = cr.uniform32_array(k, 10_000)
    assert np.all(u32 * np.float32(2**24) == np.floor(u32 * np.float32(2**24)))  # 24-bit grid


def test_normals_are_standard_normal():
    k = KEYS[2]
    n = 200_000
    z = cr.normal64_array(k, n)
    assert np.isfinite(z).all() and np.abs(z).max() <= cr.Z[-1]
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert abs(z.mean()) < 4 / np.sqrt(n)
    assert abs(z.var() - 1) < 4 * np.sqrt(2 / n)
    assert _same(cr.normal32_array(k, n), z.astype(np.float32))


def test_draws_are_uncorrelated():
    n = 100_000
    a = cr.uniform64_array(cr.key(1, "touchpoint"), n)
    b = cr.uniform64_array(cr.key(1, "failure"), n)
    z = cr.normal64_array(cr.key(1, "touchpoint"), n)
    assert abs(np.corrcoef(a[:-1], a[1:])[0, 1]) < 0.01  # adjacent counters
    assert abs(np.corrcoef(z[:-1], z[1:])[0, 1]) < 0.01
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.01  # two streams, same counters
    w = cr.key(1, "churn")
    c0 = cr.uniform64_array(cr.week_key(w, 0), n)
    c1 = cr.uniform64_array(cr.week_key(w, 1), n)
    assert abs(np.corrcoef(c0, c1)[0, 1]) < 0.01  # consecutive weeks


def test_seeds_names_slots_and_weeks_give_different_streams():
    base = cr.key(1, "wom", 3)
    keys = [
        base,
        cr.key(2, "wom", 3),
        cr.key(1, "churn", 3),
        cr.key(1, "wom", 4),
        cr.key(1, "wom"),
        cr.key(1, "wom", 3, 0),
        *(cr.week_key(base, t) for t in range(5)),
        cr.week_key(cr.key(2, "wom", 3), 0),
    ]
    assert len(set(keys)) == len(keys)
    draws = [cr.uniform64_array(k, 1_000) for k in keys]
    for x in range(len(draws)):
        for y in range(x + 1, len(draws)):
            assert not np.any(draws[x] == draws[y])
    assert cr.key(1, "wom", 3) == base and cr.week_key(base, 4) == cr.week_key(base, 4)


def test_keys_are_stable():
    """Regression anchors, computed once with this implementation: a change of ``key`` or
    ``week_key`` (or of numpy's SeedSequence) would silently change every run's draws."""
    assert cr.key(1, "touchpoint") == 13857620051340227242
    assert cr.key(12345, "wom", 3, 7) == 8688966672249177736
    assert cr.key(1, "touchpoint") == int(  # crc32(b"touchpoint") == 0x543C4363
        np.random.SeedSequence(1, spawn_key=(0x543C4363,)).generate_state(1, np.uint64)[0]
    )
    assert cr.week_key(13857620051340227242, 10) == 4943724708046995477
    assert cr.bits(np.uint64(13857620051340227242), 0) == 18360377377949255983


def test_bits_are_splitmix64():
    """``bits(k, i)`` is SplitMix64's (i + 1)-th output from state k: the published reference
    outputs for seed 1234567 (Rosetta Code, "Pseudo-random numbers/Splitmix64")."""
    expected = [
        6457827717110365317,
        3203168211198807973,
        9817491932198370423,
        4593380528125082431,
        16408922859458223821,
    ]
    assert [int(cr.bits(np.uint64(1234567), i)) for i in range(5)] == expected
    assert cr.bits_at(1234567, np.arange(5)).tolist() == expected


def test_week_key_is_mix64_of_the_week():
    """A kernel can derive the week key itself: ``mix64(k ^ mix64(t + golden))``."""
    golden = np.uint64(0x9E3779B97F4A7C15)
    for k in KEYS:
        for t in (0, 1, 52, 10_000):
            with np.errstate(over="ignore"):
                expected = cr.mix64(np.uint64(k) ^ cr.mix64(np.uint64(t) + golden))
            assert cr.week_key(k, t) == expected
            assert 0 <= cr.week_key(k, t) < 2**64


def test_tables():
    m = cr.M
    assert cr.Z.shape == (m + 1,) and cr.D.shape == (m,)
    assert np.isfinite(cr.Z).all() and np.all(cr.D > 0)
    assert _same(cr.D, cr.Z[1:] - cr.Z[:-1])
    assert _same(cr.Z, -cr.Z[::-1] + 0.0)  # antisymmetric, Z[M/2] = +0.0
    assert _same(cr.Z[1 : m // 2], ndtri(np.arange(1, m // 2) / m))
    assert cr.compiled_tables_match()
    u = np.linspace(stats.norm.cdf(-3), stats.norm.cdf(3), 1_000_001)
    pos = u * m
    j = pos.astype(np.int64)
    approx = cr.Z[j] + (pos - j) * cr.D[j]
    assert np.abs(approx - ndtri(u)).max() < 3e-4  # the body error the module documents


def test_a_fresh_process_loads_the_same_compiled_code():
    """A fresh process loads the functions from numba's on-disk cache (this process compiled
    or loaded them above) with the same frozen tables and the same draws. The package is
    stubbed so that only sim/counter_rng.py is imported."""
    sim_dir = Path(cr.__file__).resolve().parent
    code = (
        "import sys, types\n"
        "import numpy as np\n"
        f"pkg = types.ModuleType('sim'); pkg.__path__ = [{str(sim_dir)!r}]\n"
        "sys.modules['sim'] = pkg\n"
        "from sim import counter_rng as cr\n"
        "k = cr.key(3, 'survey')\n"
        "i = np.arange(0, 10**6, 997)\n"
        "assert cr.compiled_tables_match()\n"
        "z = np.array([cr.normal64(np.uint64(k), int(c)) for c in i])\n"
        "assert z.tobytes() == cr.normal64_at(k, i).tobytes()\n"
        "print(sum(cr.normal64.stats.cache_hits.values()))\n"
    )
    cr.normal64(np.uint64(1), 0)  # compiled (and saved) for a uint64 key here first
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) >= 1  # loaded from the cache, not compiled


def test_rejects_non_integer_counters():
    with pytest.raises(TypeError):
        cr.uniform64_at(1, np.array([0.5]))


def test_compiled_and_numpy_counter_lookups_agree():
    """``*_at`` takes a compiled loop for 1-D int64 counters and numpy blocks otherwise; both
    give the same bits (and the compiled row helpers those of the 2-D layout)."""
    k = cr.key(3, "agree", 1)
    idx = np.random.default_rng(0).integers(0, 1 << 40, 5000).astype(np.int64)
    for name, dtype in (
        ("uniform32", np.float32),
        ("uniform64", np.float64),
        ("normal64", np.float64),
    ):
        compiled = getattr(cr, f"{name}_at")(k, idx)
        blocks = cr._apply(getattr(cr, f"_{name}"), dtype, k, idx, idx.shape)
        assert _same(compiled, blocks)
    rows = np.array([0, 3, 7, 1000], dtype=np.int64)
    ku = np.uint64(k)
    assert _same(
        cr.uniform32_rows(ku, rows, 3), cr.uniform32_at(k, rows[:, None] * 3 + np.arange(3))
    )
    assert _same(
        cr.uniform64_rows(ku, rows, 3), cr.uniform64_at(k, rows[:, None] * 3 + np.arange(3))
    )
    bases = np.array([cr.key(1, "a"), cr.key(1, "b")], dtype=np.uint64)
    assert cr.week_keys(bases, np.int64(5)).tolist() == [cr.week_key(int(b), 5) for b in bases]
