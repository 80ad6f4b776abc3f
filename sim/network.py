"""The customers' social network, built directly as a sparse adjacency matrix.

Three families: small-world (Watts & Strogatz 1998), scale-free (preferential attachment,
Barabási & Albert 1999) and random (Erdős–Rényi).  networkx builds the same families but
takes minutes and gigabytes at a million nodes, so the generators here are vectorised numpy
versions that produce the same structures (their degree and clustering statistics are
checked against networkx in the tests); :func:`to_networkx` converts for display.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def build_network(
    kind: str, n: int, mean_degree: int, rewire: float, rng: np.random.Generator
) -> sp.csr_matrix:
    """Symmetric 0/1 adjacency (CSR, float32, no self loops) of ``n`` customers."""
    if kind == "small_world":
        src, dst = _small_world(n, mean_degree, rewire, rng)
    elif kind == "scale_free":
        src, dst = _scale_free(n, max(1, mean_degree // 2), rng)
    elif kind == "random":
        src, dst = _random(n, mean_degree, rng)
    else:  # validated upstream
        raise ValueError(f"unknown network kind {kind!r}")
    keep = src != dst
    src, dst = src[keep], dst[keep]
    rows = np.concatenate([src, dst])
    cols = np.concatenate([dst, src])
    a = sp.csr_matrix((np.ones(rows.size, dtype=np.float32), (rows, cols)), shape=(n, n))
    a.sum_duplicates()
    a.data[:] = 1.0
    return a


def _small_world(n: int, k: int, beta: float, rng: np.random.Generator):
    """Ring lattice with k/2 neighbours on each side; each edge's far end rewired with prob beta."""
    half = k // 2
    src = np.repeat(np.arange(n, dtype=np.int64), half)
    dst = (src + np.tile(np.arange(1, half + 1), n)) % n
    rewired = rng.random(src.size) < beta
    dst = dst.copy()
    dst[rewired] = rng.integers(0, n, rewired.sum())
    return src, dst


def _scale_free(n: int, m: int, rng: np.random.Generator):
    """Preferential attachment: each new node links to m targets drawn with probability ∝ degree.

    Vectorised in generations: nodes arriving in one generation attach to the degree
    distribution as it stood at the start of that generation (generations grow geometrically,
    so the result keeps the power-law tail of the sequential process).
    """
    m0 = max(m + 1, 2)
    seed_src, seed_dst = np.triu_indices(m0, 1)
    ends = [np.concatenate([seed_src, seed_dst]).astype(np.int64)]
    srcs, dsts = [seed_src.astype(np.int64)], [seed_dst.astype(np.int64)]
    start = m0
    while start < n:
        stop = min(n, start + max(1, start // 4))
        new = np.repeat(np.arange(start, stop, dtype=np.int64), m)
        pool = np.concatenate(ends)
        targets = pool[rng.integers(0, pool.size, new.size)]
        srcs.append(new)
        dsts.append(targets)
        ends.append(np.concatenate([new, targets]))
        start = stop
    return np.concatenate(srcs), np.concatenate(dsts)


def _random(n: int, k: int, rng: np.random.Generator):
    """Erdős–Rényi-like graph with n·k/2 edges drawn uniformly."""
    m = n * k // 2
    return rng.integers(0, n, m), rng.integers(0, n, m)


def to_networkx(adjacency: sp.csr_matrix, nodes: np.ndarray | None = None):
    """networkx Graph of the whole network or of the subgraph induced by ``nodes``."""
    import networkx as nx

    a = adjacency if nodes is None else adjacency[nodes][:, nodes]
    g = nx.from_scipy_sparse_array(a)
    if nodes is not None:
        g = nx.relabel_nodes(g, dict(enumerate(int(i) for i in nodes)))
    return g
