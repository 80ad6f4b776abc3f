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
    "attribution",
)


def stream_key(name: str) -> int:
    """Stable 32-bit key of a stream name (independent of Python's hash seed)."""
    return zlib.crc32(name.encode())


# per-member streams: one generator per firm (or other member) of a named process, drawn
# once when the member is created rather than every week
MEMBER_STREAMS = ("journey_map",)


def member_stream(seed: int, name: str, member: int) -> np.random.Generator:
    """The generator of member ``member`` (e.g. a firm's index) of the named process ``name``
    (one of :data:`MEMBER_STREAMS`), derived from the run's seed, the stable name and the index."""
    if name not in MEMBER_STREAMS:
        raise KeyError(f"unknown member stream {name!r}; known: {', '.join(MEMBER_STREAMS)}")
    ss = np.random.SeedSequence(int(seed), spawn_key=(stream_key(name), int(member)))
    return np.random.Generator(np.random.PCG64(ss))


class Streams:
    """One numpy Generator per named process, all derived from one seed."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        for name in STREAMS:
            ss = np.random.SeedSequence(self.seed, spawn_key=(stream_key(name),))
            setattr(self, name, np.random.Generator(np.random.PCG64(ss)))

    def __getitem__(self, name: str) -> np.random.Generator:
        if name not in STREAMS:
            raise KeyError(f"unknown random stream {name!r}; known: {', '.join(STREAMS)}")
        return getattr(self, name)
