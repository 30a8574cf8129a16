"""Waiting for the DNS switch: ask every resolver until it answers only the expected addresses.

``wait_for_answer`` polls within the record's TTL plus a margin (the suite's ``wait_for``) and
returns a ``DnsAnswerCheck``, or raises ``DnsAnswerNotSeen`` (a ``CheckFailed``) carrying the
check and its verdict. Not supported: interrupting a query mid-way (each has its own timeout).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from maip_drlib.dns_query import (
    DEFAULT_MARGIN_S,
    DEFAULT_QUERY_TIMEOUT_S,
    DnsObservation,
    Nameserver,
    Require,
    query,
)
from maip_drlib.errors import CheckFailed, ConfigError, WaitTimeout
from maip_drlib.waits import WaitSpec, wait_for


@dataclass(frozen=True)
class DnsAnswerCheck:
    """Whether resolvers give the expected addresses for a name, and what they gave."""

    name: str
    record_type: str
    expected: tuple[str, ...]
    resolvers: tuple[str, ...]
    observations: tuple[DnsObservation, ...]
    passed: bool
    require: Require = "all"
    deadline_s: float = 0.0
    elapsed_s: float = 0.0
    polls: int = 0

    @property
    def verdict(self) -> str:
        seen = "; ".join(str(observation) for observation in self.observations) or "nothing"
        wanted = ",".join(self.expected) or "nothing"
        if self.passed:
            return (f"{self.name} {self.record_type} answers {wanted} from {self.require} of "
                    f"{len(self.resolvers)} resolver(s) after {self.elapsed_s:.1f}s: {seen}")
        return (f"{self.name} {self.record_type} does not answer {wanted} from {self.require} "
                f"of {len(self.resolvers)} resolver(s) within {self.deadline_s:g}s "
                f"({self.polls} polls); last seen: {seen}")

    def __str__(self) -> str:
        return self.verdict


class DnsAnswerNotSeen(CheckFailed):
    """The expected answer was not seen by the deadline; ``check`` has every detail."""

    def __init__(self, check: DnsAnswerCheck):
        self.check = check
        super().__init__(check.verdict)  # the verdict names the expected and the seen answers
        self.resource = f"DNS {check.name} {check.record_type}"
        self.expected = ",".join(check.expected)
        self.observed = "; ".join(str(o) for o in check.observations)

    def __reduce__(self) -> tuple[type[DnsAnswerNotSeen], tuple[DnsAnswerCheck]]:
        return (DnsAnswerNotSeen, (self.check,))


@dataclass(frozen=True)
class _Round:
    observations: tuple[DnsObservation, ...]

    def __str__(self) -> str:
        return "; ".join(str(observation) for observation in self.observations)


def wait_for_answer(
    name: str,
    expected: Iterable[str],
    resolvers: Sequence[Nameserver],
    *,
    ttl_s: float | None = None,
    margin_s: float = DEFAULT_MARGIN_S,
    record_type: str = "A",
    require: Require = "all",
    poll_initial_s: float = 0.2,
    poll_max_s: float = 2.0,
    timeout_s: float = DEFAULT_QUERY_TIMEOUT_S,
    tcp: bool = False,
    on_poll: Callable[[str, float], None] | None = None,
) -> DnsAnswerCheck:
    """Ask ``resolvers`` until they answer ``name`` with ``expected`` addresses only.

    The deadline is ``ttl_s`` (the record's TTL; None: the largest TTL of the first answers)
    plus ``margin_s``, counted from the first round. Returns the passing check as soon as a
    round matches; raises ``DnsAnswerNotSeen`` with the last round at the deadline. In a
    simulation pass ``ttl_s`` and ``margin_s`` already scaled to its clock.
    """
    wanted = tuple(sorted(set(expected)))
    if not wanted:
        raise ConfigError(f"no expected addresses given for {name}", key="expected")
    if not resolvers:
        raise ConfigError(f"no resolver to ask about {name}", key="resolvers")
    if require not in ("all", "any"):
        raise ConfigError(f"require must be 'all' or 'any', got {require!r}", key="require")
    labels = tuple(str(resolver) for resolver in resolvers)
    judge = all if require == "all" else any
    started = time.monotonic()
    polls = 0

    def observe() -> _Round:
        nonlocal polls
        polls += 1
        return _Round(tuple(query(resolver, name, record_type, timeout_s=timeout_s, tcp=tcp)
                            for resolver in resolvers))

    def success(round_: _Round) -> bool:
        return judge(observation.matches(wanted) for observation in round_.observations)

    def check(round_: _Round, passed: bool, deadline: float) -> DnsAnswerCheck:
        return DnsAnswerCheck(name=name, record_type=record_type, expected=wanted,
                              resolvers=labels, observations=round_.observations,
                              passed=passed, require=require, deadline_s=deadline,
                              elapsed_s=time.monotonic() - started, polls=polls)

    first = observe()
    ttls = [o.ttl for o in first.observations if o.ttl is not None]
    deadline = (ttl_s if ttl_s is not None else float(max(ttls, default=0))) + margin_s
    if success(first):
        return check(first, True, deadline)
    spec = WaitSpec(description=f"{name} {record_type} to answer {','.join(wanted)} from "
                                f"{require} of {', '.join(labels)}",
                    deadline_s=max(deadline - (time.monotonic() - started), 0.001),
                    poll_initial_s=poll_initial_s, poll_max_s=poll_max_s)
    progress = None if on_poll is None else (lambda r, elapsed: on_poll(str(r), elapsed))
    try:
        outcome = wait_for(spec, observe, success=success, on_poll=progress)
    except WaitTimeout as timeout:
        last = timeout.last_observed if isinstance(timeout.last_observed, _Round) else first
        raise DnsAnswerNotSeen(check(last, False, deadline)) from timeout
    return check(outcome.value, True, deadline)
