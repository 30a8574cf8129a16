"""Simulated Route 53 health checkers (and ALB target health): who sees what, and when.

Route 53 (Developer Guide, "How Amazon Route 53 determines whether a health check is
healthy"): health checkers in several regions poll the endpoint every RequestInterval (10 or
30 s); each checker changes its view only after FailureThreshold consecutive results that
disagree with it; the health check is healthy when MORE than 18 % of the checkers report it
healthy. ``get_health_check_status`` answers one observation per checker (boto3 lists the
checker regions below).

Model (simulated): ``CHECKER_REGIONS`` x ``CHECKERS_PER_REGION`` = 16 checkers, their polls
spread evenly over one interval (checkers do not coordinate). ``CheckTrack.advance`` runs the
polls due up to a simulated time with a result per checker, so a change of the endpoint shows
in the health check between (FailureThreshold - 1) x RequestInterval and FailureThreshold x
RequestInterval after it happened (the simulation's sampler runs at most one poll per checker
each time it looks, so under load or at small time scales a change shows later, never
earlier). A checker's observation is its current view (after the
threshold), and the time of its last poll. ``target_track`` models an ALB's target health
(EvaluateTargetHealth) the same way with one checker and the target group defaults (30 s,
2 failures to become unhealthy, 5 successes to become healthy).

Not supported: latency measurements, string matching, Inverted and Disabled health checks,
CALCULATED and CloudWatch-alarm health checks, custom checker regions (``Regions``), the
target group's own health check settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# boto3's enum of health checker regions (HealthCheckObservation.Region).
CHECKER_REGIONS = ("us-east-1", "us-west-1", "us-west-2", "eu-west-1", "ap-southeast-1",
                   "ap-southeast-2", "ap-northeast-1", "sa-east-1")
CHECKERS_PER_REGION = 2
HEALTHY_SHARE_PERCENT = 18
# ALB target group defaults (Elastic Load Balancing user guide, target group health checks).
TARGET_INTERVAL_S = 30.0
TARGET_UNHEALTHY_THRESHOLD = 2
TARGET_HEALTHY_THRESHOLD = 5


def healthy_by_share(successes: int, total: int) -> bool:
    """Route 53's rule: healthy when more than 18 % of the checkers report healthy."""
    return total > 0 and successes * 100 > HEALTHY_SHARE_PERCENT * total


@dataclass(frozen=True)
class Checker:
    region: str
    ip_address: str


def checkers() -> tuple[Checker, ...]:
    """The simulated checkers: two per checker region, with loopback-range addresses."""
    return tuple(Checker(region, f"127.0.13.{index * CHECKERS_PER_REGION + n + 1}")
                 for index, region in enumerate(CHECKER_REGIONS)
                 for n in range(CHECKERS_PER_REGION))


@dataclass
class CheckerView:
    """One checker's view: healthy or not, the streak of results against it, its polls."""

    healthy: bool
    next_poll_s: float
    last_poll_s: float
    streak: int = 0


@dataclass(frozen=True)
class Observation:
    checker: Checker
    healthy: bool
    checked_at_s: float


class CheckTrack:
    """One health check as its checkers see it, in simulated seconds (not thread-safe:
    ``HealthRegistry`` holds a lock around it)."""

    def __init__(self, members: tuple[Checker, ...], interval_s: float, *,
                 to_unhealthy: int, to_healthy: int, now_s: float, healthy: bool):
        if interval_s <= 0 or to_unhealthy < 1 or to_healthy < 1:
            raise ValueError("interval must be > 0 and thresholds >= 1")
        self.interval_s = interval_s
        self.to_unhealthy = to_unhealthy
        self.to_healthy = to_healthy
        self.views = {
            checker: CheckerView(healthy, now_s + interval_s * (index + 1) / len(members),
                                 now_s)
            for index, checker in enumerate(members)}

    def advance(self, now_s: float, result_of: Callable[[Checker], bool], *,
                catch_up: bool = True) -> None:
        """Run the polls due at or before ``now_s``; ``result_of`` is what a checker sees now.

        ``catch_up=False`` runs at most one poll per checker and skips the others due (a
        sampler that looked late cannot tell what the missed polls saw: one sample must not
        count as several results, so a late sampler makes changes slower, never faster)."""
        for checker, view in self.views.items():
            while view.next_poll_s <= now_s:
                result = result_of(checker)
                view.last_poll_s = view.next_poll_s
                view.next_poll_s += self.interval_s
                if not catch_up and view.next_poll_s <= now_s:
                    skipped = int((now_s - view.next_poll_s) // self.interval_s) + 1
                    view.next_poll_s += skipped * self.interval_s
                if result == view.healthy:
                    view.streak = 0
                    continue
                view.streak += 1
                if view.streak >= (self.to_healthy if result else self.to_unhealthy):
                    view.healthy, view.streak = result, 0

    def settle(self, now_s: float, result_of: Callable[[Checker], bool]) -> None:
        """Every checker adopts what it sees now, with no delay (tests and seeding only)."""
        for checker, view in self.views.items():
            view.healthy, view.streak, view.last_poll_s = result_of(checker), 0, now_s

    def observations(self) -> tuple[Observation, ...]:
        return tuple(Observation(checker, view.healthy, view.last_poll_s)
                     for checker, view in self.views.items())

    def healthy(self) -> bool:
        views = list(self.views.values())
        return healthy_by_share(sum(1 for view in views if view.healthy), len(views))


def health_check_track(interval_s: float, failure_threshold: int, *, now_s: float,
                       healthy: bool) -> CheckTrack:
    """A Route 53 endpoint health check: 16 checkers, one threshold both ways."""
    return CheckTrack(checkers(), interval_s, to_unhealthy=failure_threshold,
                      to_healthy=failure_threshold, now_s=now_s, healthy=healthy)


def target_track(region: str, *, now_s: float, healthy: bool) -> CheckTrack:
    """An ALB's target health as Route 53's EvaluateTargetHealth sees it (one checker)."""
    return CheckTrack((Checker(region, "elb"),), TARGET_INTERVAL_S,
                      to_unhealthy=TARGET_UNHEALTHY_THRESHOLD,
                      to_healthy=TARGET_HEALTHY_THRESHOLD, now_s=now_s, healthy=healthy)
