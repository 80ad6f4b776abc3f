"""Named random streams: common random numbers for every stochastic process.

Each process (purchase occasions, channel choice, touchpoint noise, failures, word of mouth,
churn, surveys, …) draws from its own stream derived from the run's seed and a stable name, so
changing a policy does not reshuffle unrelated draws and scenario differences are paired
(Starsim's stable-name streams).

The weekly draws (:data:`DRAWS`) are counter-based (:mod:`sim.counter_rng`): customer i's draw
of a process in week t is a pure function of (seed, process, week, i), so a compiled kernel
draws only for the customers it visits, and two scenarios see the same number for the same
customer, week and process whoever else needed one (issue 20; before, every stream drew a
full-population array every week to keep the streams aligned). Set-up (population, network,
heterogeneity, journey maps, cohorts) and shocks use sequential numpy generators.
"""

from __future__ import annotations

import zlib

import numpy as np

from sim import counter_rng

STREAMS = (
    "population",  # the initial population (set-up)
    "network",  # the social network (set-up)
    "shock",  # shocks starting, viral reach
)
# the weekly counter-based draws: name -> (stream, slot). A draw's counter is the customer's
# index, or ``customer * width + j`` for a draw of ``width`` numbers per customer.
DRAWS = {
    "occasion": ("occasion", 0),  # shop this week? (float32, one per customer)
    "advertising": ("occasion", 1),  # aware through each firm's advertising (float32, K)
    "choice": ("choice", 0),  # the logit choice of firm (float64 Gumbel input, K)
    "pick": ("channel", 0),  # channel picked at each touchpoint (float32, T)
    "stay": ("channel", 1),  # stay in the previous touchpoint's channel (float32, T)
    "noise": ("touchpoint", 0),  # experienced-quality noise (normal float32, T)
    "fail": ("failure", 0),  # a touchpoint fails (float32, T)
    "abandon": ("failure", 1),  # a failed purchase is abandoned (float32)
    "complain": ("complaint", 0),  # the dissatisfied complain (float32)
    "recover": ("complaint", 1),  # the firm's answer succeeds (float32)
    "talk": ("wom", 0),  # recommend or warn (float32)
    "recruit": ("wom", 1),  # a prospect becomes aware through a message (float32, K)
    "review": ("wom", 2),  # a talker posts a public review (float32)
    "leave": ("churn", 0),  # the leaving hazard (float32)
    "switch": ("churn", 1),  # consider switching (float32)
    "ltr": ("answer", 0),  # likelihood-to-recommend answer noise (normal float32)
    "csat": ("answer", 1),  # CSAT answer noise (normal float32)
    "survey": ("survey", 0),  # surveyed (float64)
    "respond": ("survey", 1),  # answer the survey (float64)
    "attribute": ("survey", 2),  # touchpoint attribution (float64, T)
    "answer": ("survey", 3),  # answer noise (normal float64)
    "rating": ("survey", 4),  # touchpoint rating noise (normal float64, T)
    "response": ("response", 0),  # a warned customer answers the firm's outreach (float32)
}

_DRAW_INDEX = {name: q for q, name in enumerate(DRAWS)}

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
        self._draw_bases = np.array(
            [counter_rng.key(self.seed, f"counter/{s}", slot) for s, slot in DRAWS.values()],
            dtype=np.uint64,
        )
        self._week, self._week_keys = None, self._draw_bases

    def draw_key(self, draw: str, t: int) -> np.uint64:
        """The counter key of one weekly draw (:data:`DRAWS`) in week ``t``: pass it to a
        kernel, or to ``sim.counter_rng.*_at`` / ``*_array`` for the same numbers in numpy.
        The keys of all the draws are computed together once a week."""
        if t != self._week:
            self._week_keys = counter_rng.week_keys(self._draw_bases, np.int64(t))
            self._week = t
        return self._week_keys[_DRAW_INDEX[draw]]

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
