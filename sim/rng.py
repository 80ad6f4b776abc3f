"""Named random streams: common random numbers for every stochastic process.

Each process (purchase occasions, channel choice, touchpoint noise, failures, word of mouth,
churn, surveys, …) draws from its own generator derived from the run's seed and a stable
name, so changing a policy does not reshuffle unrelated draws and scenario differences are
paired (Starsim's stable-name streams).  Every stream draws full-population arrays each week
whatever the number of customers involved, which keeps the streams aligned across scenarios.
"""

from __future__ import annotations

import zlib

import numpy as np

STREAMS = (
    "population",
    "network",
    "occasion",
    "channel",
    "touchpoint",
    "failure",
    "choice",
    "complaint",
    "wom",
    "churn",
    "survey",
    "shock",
    "response",
    "answer",
)
# streams used through ``Streams.keyed`` (one generator per member): "journey_map" (per firm),
# "heterogeneity" (per customer trait, drawn once at initialisation)


def stream_key(name: str) -> int:
    """Stable 32-bit key of a stream name (independent of Python's hash seed)."""
    return zlib.crc32(name.encode())


class Streams:
    """One numpy Generator per named process, all derived from one seed."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        for name in STREAMS:
            ss = np.random.SeedSequence(self.seed, spawn_key=(stream_key(name),))
            setattr(self, name, np.random.Generator(np.random.PCG64(ss)))

    def keyed(self, name: str, *keys: int) -> np.random.Generator:
        """A generator for one member of a process (e.g. ``keyed("journey_map", firm_index)``),
        derived from the run's seed, the stable name and the keys: independent of every other
        stream and of the order in which members are created."""
        ss = np.random.SeedSequence(self.seed, spawn_key=(stream_key(name), *map(int, keys)))
        return np.random.Generator(np.random.PCG64(ss))

    def __getitem__(self, name: str) -> np.random.Generator:
        if name not in STREAMS:
            raise KeyError(f"unknown random stream {name!r}; known: {', '.join(STREAMS)}")
        return getattr(self, name)
