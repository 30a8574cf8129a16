"""Weighted DNS answers as observed: N queries to one resolver and the share of each answer.

``sample_answers`` gives a ``WeightSample``; ``WeightSample.shares`` groups answers by region
and ``weights_within`` compares them with the records' weights within a tolerance. Recursive
resolvers cache a weighted answer for its TTL: sample against authoritative servers. Not
supported: statistical tests beyond the tolerance band.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from maip_drlib.dns_query import DEFAULT_QUERY_TIMEOUT_S, Nameserver, query
from maip_drlib.errors import ConfigError


@dataclass(frozen=True)
class WeightSample:
    """N answers of one resolver for one name: how often each answer (address set) came."""

    resolver: str
    name: str
    record_type: str
    queries: int
    counts: Mapping[tuple[str, ...], int] = field(default_factory=dict)
    failures: Mapping[str, int] = field(default_factory=dict)

    @property
    def proportions(self) -> dict[str, float]:
        """Each answer (comma-joined addresses) -> its share of all queries."""
        return {",".join(answer): count / self.queries for answer, count in self.counts.items()}

    def shares(self, groups: Mapping[str, Iterable[str]]) -> dict[str, float]:
        """Share of all queries answered within each group's addresses (e.g. per region)."""
        result: dict[str, float] = {}
        for label, addresses in groups.items():
            allowed = set(addresses)
            hits = sum(count for answer, count in self.counts.items()
                       if answer and set(answer) <= allowed)
            result[label] = hits / self.queries
        return result

    def __str__(self) -> str:
        parts = [f"{share:.0%} {answer}" for answer, share in sorted(self.proportions.items())]
        parts += [f"{count} {rcode}" for rcode, count in sorted(self.failures.items())]
        return f"{self.resolver}: {self.name} {self.record_type} x{self.queries}: " + \
            ", ".join(parts)


def sample_answers(nameserver: Nameserver, name: str, queries: int = 100, *,
                   record_type: str = "A",
                   timeout_s: float = DEFAULT_QUERY_TIMEOUT_S) -> WeightSample:
    """Ask ``nameserver`` ``queries`` times and count the answers (failures by code)."""
    if queries < 1:
        raise ConfigError("sample at least one query", key="queries")
    counts: Counter[tuple[str, ...]] = Counter()
    failures: Counter[str] = Counter()
    for _ in range(queries):
        answer = query(nameserver, name, record_type, timeout_s=timeout_s)
        if answer.rcode == "NOERROR" and answer.addresses:
            counts[answer.addresses] += 1
        else:
            failures[answer.rcode] += 1
    return WeightSample(resolver=str(nameserver), name=name, record_type=record_type,
                        queries=queries, counts=dict(counts), failures=dict(failures))


def weights_within(sample: WeightSample, groups: Mapping[str, Iterable[str]],
                   weights: Mapping[str, int], tolerance: float = 0.1) -> tuple[bool, str]:
    """Whether each group's observed share is within ``tolerance`` of its weight share."""
    total = sum(weights.values())
    shares = sample.shares(groups)
    lines = []
    passed = True
    for label in groups:
        wanted = weights.get(label, 0) / total if total else 1 / len(groups)
        seen = shares.get(label, 0.0)
        ok = abs(seen - wanted) <= tolerance
        passed &= ok
        lines.append(f"{label} {seen:.0%} (weight share {wanted:.0%}){'' if ok else ' OFF'}")
    return passed, f"{sample.name} over {sample.queries} queries: " + ", ".join(lines)
