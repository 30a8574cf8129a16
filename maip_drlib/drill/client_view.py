"""The RTO as clients saw it: a synthetic client requesting the public endpoint through DNS.

A game day starts ``SyntheticClient`` just before the outage (after go / no-go) and stops it
when the drill ends. In a thread of the game-day process it sends ``GET <public endpoint>
<health path>`` through the drill's resolver (``resolvers.resolver_for``: the simulated DNS on
a simulation, the system's or the configured name servers live) with ``synthetic.send``, as
clients do: a fresh resolution and connection for each request. The interval
(``interval_for``): on a live target every 5 s; on a simulation one simulated minute
(``time_scale`` real seconds), at most 1 s and at least 0.2 s of real time (at the default
``time_scale`` of 0.5: every 0.5 s). Each answer is recorded as the time, the address
connected to, the HTTP status, healthy or not (a 2xx) and, for no answer, the error's class
only: never a body, a header or an error message. Nothing secret is sent and nothing is
written to the target (GET only).

``client_seen_rto`` computes the longest window in which clients got no healthy answer: from
the first unhealthy answer to the first healthy one after it (``first_bad``,
``first_good_again``), in wall seconds and in minutes (simulated minutes on a simulation:
wall seconds / ``time_scale``); its resolution is the interval. Every window is listed too
(``all_windows``) with the drill phase it began in, and the longest per phase (``by_phase``):
the failover's (from the outage), and any other, such as a failback's (a planned switchover
stops the application for a moment); each attempt's marks are kept in its file for that.
A window still open at the end of the drill, or already open at the client's first request,
is a lower bound and says so.
``finish`` writes the attempt's answers to ``client-view.json`` (through the redactor, like
all evidence), adds the drill's ``client_seen_rto`` (every attempt's answers merged) to the
attempt's ``summary.json`` (read by the DR test record beside the stage-by-stage RTO) and
journals it. On a resumed drill the time between attempts, and any attempt that left no
answers, is listed under ``not_observed``.

Not supported: several client locations (one client, in the runner's network), requests
other than GET, checking response bodies (a 2xx is healthy), a single ``stage`` run (only a
game day runs the client).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maip_drlib.drill import synthetic
from maip_drlib.evidence.journal import attempt_dirs, utc_now_iso
from maip_drlib.evidence.redacted_json import write_json

if TYPE_CHECKING:
    from maip_drlib.config import Target
    from maip_drlib.drill.gameday import GamedayPlan
    from maip_drlib.evidence.journal import Journal
    from maip_drlib.resolvers import Resolver

FILE = "client-view.json"
FORMAT = "maip-dr-client-view/1"
LIVE_INTERVAL_S = 5.0
SIM_MIN_INTERVAL_S, SIM_MAX_INTERVAL_S = 0.2, 1.0
SIM_TIMEOUT_S, LIVE_TIMEOUT_S = (1.0, 2.0), (3.0, 5.0)
MAX_WINDOWS_LISTED = 20
# The game day's marks (gameday.py ``timings``) and the phase each one begins.
PHASE_MARKS = {"outage": "failover", "failover.start": "failover", "rpo.start": "rpo",
               "hold.start": "hold", "restore": "restore", "failback.start": "failback",
               "readiness-after.start": "readiness-after"}
FIRST_ANSWER_GRACE_S = 2.0  # beyond the request timeouts, for the first answer
Send = Callable[..., synthetic.SyntheticResult]


@dataclass(frozen=True)
class Answer:
    """One request of the synthetic client, as recorded (no body, no header, no message)."""

    at: str
    epoch_s: float
    address: str | None
    status: int | None
    healthy: bool
    error: str | None = None  # the error's class ("ConnectionError", "unresolved")
    elapsed_s: float = 0.0


def interval_for(target: Target) -> float:
    """Real seconds between requests (module docstring)."""
    if not target.simulated:
        return LIVE_INTERVAL_S
    scale = target.time_scale or SIM_MAX_INTERVAL_S
    return min(SIM_MAX_INTERVAL_S, max(SIM_MIN_INTERVAL_S, float(scale)))


def _answer(result: synthetic.SyntheticResult, started: float) -> Answer:
    error = None
    if result.error:
        error = result.error.split(":", 1)[0].strip() or "error"
    healthy = result.status is not None and 200 <= result.status < 300
    return Answer(at=utc_now_iso(datetime.fromtimestamp(started, UTC)), epoch_s=started,
                  address=(result.resolved or "").split(" ", 1)[0] or None,
                  status=result.status, healthy=healthy, error=error,
                  elapsed_s=round(result.elapsed_s, 3))


class SyntheticClient:
    """A thread sending one GET every ``interval_s`` until ``stop``."""

    def __init__(self, url: str, *, resolver: Resolver, interval_s: float,
                 ca_bundle: Path | None = None,
                 timeout_s: tuple[float, float] = SIM_TIMEOUT_S, send: Send = synthetic.send):
        self.url, self.resolver, self.interval_s = url, resolver, interval_s
        self.ca_bundle, self.timeout_s, self._send = ca_bundle, timeout_s, send
        self.answers: list[Answer] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._first = threading.Event()
        self._thread = threading.Thread(target=self._run, name="maip-dr-client-view",
                                        daemon=True)
        self.started_at: str | None = None
        self.stopped_at: str | None = None

    def _one(self) -> None:
        started = time.time()
        result = self._send("GET", self.url, resolver=self.resolver, ca_bundle=self.ca_bundle,
                            timeout_s=self.timeout_s)
        with self._lock:
            self.answers.append(_answer(result, started))
        self._first.set()

    def _run(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            self._one()
            next_at = max(next_at + self.interval_s, time.monotonic())
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def start(self) -> bool:
        """Start and wait (with a deadline) for the first answer; False if none came."""
        self.started_at = utc_now_iso()
        self._thread.start()
        return self._first.wait(sum(self.timeout_s) + FIRST_ANSWER_GRACE_S)

    def stop(self) -> list[Answer]:
        """Stop after the request in flight (at most the request timeouts) and return every
        answer."""
        self._stop.set()
        self._thread.join(sum(self.timeout_s) + FIRST_ANSWER_GRACE_S)
        self.stopped_at = utc_now_iso()
        with self._lock:
            return list(self.answers)


Marks = list[tuple[float, str]]  # (epoch seconds, the phase beginning then)


def phase_marks(timings: dict[str, float] | None) -> Marks:
    """The game day's timings (``outage``, ``failover.start``, ...) as phase marks."""
    return sorted((at, PHASE_MARKS[name]) for name, at in (timings or {}).items()
                  if name in PHASE_MARKS)


def phase_at(epoch_s: float, marks: Marks) -> str:
    """The drill phase in progress at ``epoch_s``; "before the outage" before any mark."""
    found = "before the outage"
    for at, phase in sorted(marks):
        if at <= epoch_s:
            found = phase
    return found


def client_seen_rto(answers: list[Answer], *, time_scale: float | None,
                    not_observed: list[str] | None = None, interval_s: float | None = None,
                    url: str | None = None, marks: Marks | None = None) -> dict[str, Any]:
    """The longest window without a healthy answer (module docstring); ``time_scale``: real
    seconds per simulated minute (None live: minutes are real minutes); ``marks``: the game
    day's phase marks (epoch seconds), to name the phase each window began in."""
    ordered = sorted(answers, key=lambda a: a.epoch_s)
    base: dict[str, Any] = {"requests": len(ordered),
                            "healthy": sum(1 for a in ordered if a.healthy),
                            "interval_s": interval_s, "url": url,
                            "not_observed": list(not_observed or []),
                            "unit": "simulated minutes" if time_scale else "minutes"}
    if not ordered:
        return {**base, "status": "not measured", "wall_s": None,
                "why": "the synthetic client recorded no answer"}
    windows: list[tuple[int, int | None]] = []  # (first bad index, first good again index)
    start: int | None = None
    for index, answer in enumerate(ordered):
        if not answer.healthy and start is None:
            start = index
        elif answer.healthy and start is not None:
            windows.append((start, index))
            start = None
    if start is not None:
        windows.append((start, None))
    if not windows:
        return {**base, "status": "measured", "wall_s": 0.0, "minutes": 0.0,
                "first_bad": None, "first_good_again": None,
                "why": "every answer was healthy"}

    def length(window: tuple[int, int | None]) -> float:
        end = ordered[window[1]] if window[1] is not None else ordered[-1]
        return end.epoch_s - ordered[window[0]].epoch_s

    def minutes_of(seconds: float) -> float:
        return round(seconds / time_scale if time_scale else seconds / 60.0, 3)

    listed = [{"phase": phase_at(ordered[b].epoch_s, marks or []), "first_bad": ordered[b].at,
               "first_good_again": ordered[g].at if g is not None else None,
               "wall_s": round(length((b, g)), 3), "minutes": minutes_of(length((b, g)))}
              for b, g in windows]
    by_phase: dict[str, dict[str, Any]] = {}
    for window in listed:  # the longest of each phase
        if window["wall_s"] > by_phase.get(window["phase"], {}).get("wall_s", -1.0):
            by_phase[window["phase"]] = window
    first, again = max(windows, key=length)
    wall = length((first, again))
    minutes = minutes_of(wall)
    bounds: list[str] = []
    if again is None:
        bounds.append("no healthy answer again before the drill ended")
    if first == 0:
        bounds.append("already without a healthy answer at the client's first request")
    last = again if again is not None else len(ordered) - 1
    silent = max((ordered[i + 1].epoch_s - ordered[i].epoch_s for i in range(first, last)),
                 default=0.0)
    status = "measured" + (" (lower bound)" if bounds else "")
    if interval_s and silent > 3 * interval_s:
        bounds.append(f"includes {silent:.1f} s with no request answered (not observed)")
        status += " (includes time not observed)"
    return {**base, "status": status,
            "wall_s": round(wall, 3), "minutes": minutes,
            "first_bad": ordered[first].at,
            "last_good_before": ordered[first - 1].at if first > 0 else None,
            "first_good_again": ordered[again].at if again is not None else None,
            "bounds": bounds, "windows": len(windows), "by_phase": by_phase,
            "all_windows": listed[:MAX_WINDOWS_LISTED]}


def _load(path: Path) -> tuple[list[Answer], Marks]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ([Answer(**row) for row in data.get("answers") or []],
                [(float(at), str(phase)) for at, phase in data.get("marks") or []])
    except (OSError, ValueError, TypeError, AttributeError):
        return [], []


def drill_answers(drill_dir: Path, current: int, answers: list[Answer],
                  marks: Marks | None = None) -> tuple[list[Answer], list[str], Marks]:
    """Every attempt's answers and phase marks (this one's given) and what was not observed
    between them."""
    merged: list[Answer] = []
    all_marks: Marks = []
    gaps: list[str] = []
    previous: Answer | None = None
    for number, path in attempt_dirs(drill_dir).items():
        found, found_marks = ((answers, marks or []) if number == current
                              else _load(path / FILE))
        all_marks += found_marks
        if not found:
            gaps.append(f"attempt {number}: no client answers (interrupted before they were "
                        f"written, stopped at go / no-go, or run without the client)")
            continue
        found = sorted(found, key=lambda a: a.epoch_s)
        if previous is not None:
            gaps.append(f"from {previous.at} to {found[0].at}: between attempts (the drill "
                        f"resumed in attempt {number})")
        merged += found
        previous = found[-1]
    return merged, gaps, sorted(all_marks)


def start(plan: GamedayPlan, journal: Journal) -> SyntheticClient | None:
    """Start the client of ``plan``'s game day (read-only); None when it got no first answer
    in time (journalled; the RTO as clients saw it then reads not measured)."""
    from maip_drlib.resolvers import resolver_for

    target = plan.target
    url = target.public_endpoint_url.rstrip("/") + plan.topology.health_path
    interval = interval_for(target)
    client = SyntheticClient(url, resolver=resolver_for(target), interval_s=interval,
                             ca_bundle=target.ca_bundle,
                             timeout_s=SIM_TIMEOUT_S if target.simulated else LIVE_TIMEOUT_S)
    answered = client.start()
    journal.record("client_view", event="started", url=url, interval_s=interval,
                   first_answer=asdict(client.answers[0]) if answered else None)
    plan.echo(f"maip-dr: synthetic client: GET {url} through DNS every {interval:g} s "
              f"(read-only)" + ("" if answered else ": no first answer yet"))
    return client


def finish(plan: GamedayPlan, journal: Journal, *, summary_too: bool = True,
           timings: dict[str, float] | None = None) -> None:
    """Stop the client, write ``client-view.json``, add ``client_seen_rto`` to the attempt's
    ``summary.json`` and a section to its ``summary.md`` (``summary_too``) and journal it.
    Nothing when no client ran."""
    from maip_drlib.drill.results_table import client_seen_line

    client = plan.client_view
    if client is None:
        return
    plan.client_view = None
    answers = client.stop()
    target, attempt = plan.target, plan.attempt
    scale = target.time_scale if target.simulated else None
    marks = phase_marks(timings)
    mine = client_seen_rto(answers, time_scale=scale, interval_s=client.interval_s,
                           url=client.url, marks=marks)
    write_json(attempt.path / FILE, {
        "format": FORMAT, "drill_id": attempt.drill_id, "attempt": attempt.number,
        "url": client.url, "interval_s": client.interval_s, "started_at": client.started_at,
        "stopped_at": client.stopped_at, "simulated": target.simulated, "time_scale": scale,
        "client_seen_rto": mine, "marks": marks, "answers": [asdict(a) for a in answers]},
        plan.redactor, indent=2, sort_keys=True, newline=True)
    merged, gaps, all_marks = drill_answers(attempt.path.parent, attempt.number, answers, marks)
    figure = client_seen_rto(merged, time_scale=scale, not_observed=gaps,
                             interval_s=client.interval_s, url=client.url, marks=all_marks)
    journal.record("client_view", event="stopped", file=FILE, **{
        k: figure.get(k) for k in ("status", "wall_s", "minutes", "first_bad",
                                   "first_good_again", "requests", "healthy")})
    if summary_too:
        _add_to_summary(plan, figure)  # the command's summary prints it (cli.drill)
    else:
        plan.echo(client_seen_line(figure))


def _add_to_summary(plan: GamedayPlan, figure: dict[str, Any]) -> None:
    path = plan.attempt.path / "summary.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(data, dict):
        data["client_seen_rto"] = figure
        write_json(path, data, plan.redactor, indent=2, sort_keys=True, newline=True)
    markdown = plan.attempt.path / "summary.md"  # the same line, for the reader of summary.md
    if markdown.is_file():
        from maip_drlib.drill.results_table import client_seen_line

        with markdown.open("a", encoding="utf-8") as handle:
            handle.write("\n## RTO as clients saw it\n\n"
                         + plan.redactor.text(client_seen_line(figure)) + "\n")
