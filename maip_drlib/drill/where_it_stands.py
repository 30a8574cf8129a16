"""Where a stopped drill leaves the platform, and the command that resumes it.

After a failed stage or an interruption (SIGINT, SIGTERM) the journal gets one ``drill.state``
record and the terminal one paragraph: the stages that completed, the stage that stopped and
the mutating calls it had made (from the journal's ``call`` records), and the exact command
that resumes the drill (``gameday --drill-id ... --resume-from PHASE:STAGE``; the stages
recognise work already done). The embedded simulation lives only as long as its game day,
so there the platform is gone and nothing resumes.

Not supported: telling a half-applied AWS call from one never sent when the process was
killed between the intent and the result records (both records are shown as they are).
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from maip_drlib.evidence.journal import Journal, scan_journal

if TYPE_CHECKING:
    from maip_drlib.drill.evidence_dirs import AttemptDir
    from maip_drlib.drill.stage_result import PhaseRun


class StoppedRun(Protocol):
    """What is needed to say where a run stopped (a ``GamedayPlan`` or a ``StageRun``)."""

    attempt: AttemptDir
    resume_command: str  # with {phase} and {stage} to fill; '' when nothing resumes it

    def echo(self, line: str) -> None: ...


@dataclass
class StageRun:
    """A single ``maip-dr stage`` run, for the same report as a game day's."""

    attempt: AttemptDir
    resume_command: str
    say: Callable[[str], None]

    def echo(self, line: str) -> None:
        self.say(line)


class Terminated(KeyboardInterrupt):
    """SIGTERM (a CI cancel, a Job deadline): handled like Ctrl-C, exit 143."""

    exit_code = 143


def install_sigterm_handler() -> None:
    """Turn SIGTERM into ``Terminated`` in the main thread (the CLI calls this)."""
    def on_sigterm(_signum: int, _frame: object) -> None:
        raise Terminated("SIGTERM")

    signal.signal(signal.SIGTERM, on_sigterm)


def _records(attempt_dir: Path) -> list[dict[str, Any]]:
    path = attempt_dir / "journal.jsonl"
    return scan_journal(path).records if path.exists() else []


def _stage_label(record: dict[str, Any]) -> str:
    return f"{record.get('phase')} {record.get('stage')}"


def where_it_stands(attempt_dir: Path) -> dict[str, Any]:
    """Completed stages, the stage that stopped (if any) and its calls, from the journal."""
    records = _records(attempt_dir)
    completed: list[str] = []
    open_stage: dict[str, Any] | None = None
    stopped: dict[str, Any] | None = None
    for record in records:
        kind = record.get("kind")
        if kind == "stage.start" and record.get("stage"):
            open_stage = record
        elif kind == "stage.end" and record.get("stage") and open_stage is not None:
            if record.get("outcome") == "passed":
                completed.append(_stage_label(record))
                open_stage = None
            elif record.get("outcome") == "failed":
                stopped, open_stage = {**record, "state": "failed"}, None
    if open_stage is not None:
        stopped = {**open_stage, "state": "interrupted"}
    calls: list[dict[str, Any]] = []
    if stopped is not None:
        label = _stage_label(stopped)
        calls = [{k: r.get(k) for k in ("event", "service", "operation", "region", "resource",
                                        "outcome")}
                 for r in records if r.get("kind") == "call" and r.get("stage") == label]
    return {"completed": completed, "stopped": stopped, "calls": calls}


def resume_from(state: dict[str, Any], phase_now: str | None) -> str | None:
    """PHASE:STAGE to resume at: the stage that stopped, else the phase that was running."""
    stopped = state.get("stopped")
    if stopped is not None and stopped.get("phase") in ("failover", "failback"):
        return f"{stopped['phase']}:{stopped['stage']}"
    if phase_now in ("failover", "rpo"):
        return "failover:1" if phase_now == "failover" else "failback:1"
    if phase_now in ("failback", "readiness-after"):
        return "failback:1"
    return None


def say_where_it_stands(plan: StoppedRun, journal: Journal, why: str, phase_now: str | None,
                        **fields: Any) -> None:
    """Journal ``drill.state`` and tell the operator where the run left the platform."""
    state = where_it_stands(plan.attempt.path)
    where = resume_from(state, phase_now)
    command = (plan.resume_command.format(phase=where.split(":")[0], stage=where.split(":")[1])
               if plan.resume_command and where else None)
    stopped = state["stopped"]
    made = [c for c in state["calls"] if c.get("event") == "result"]
    journal.record("drill.state", why=why, phase=phase_now,
                   completed_stages=state["completed"],
                   stopped_stage=_stage_label(stopped) if stopped else None,
                   stopped_state=stopped.get("state") if stopped else None,
                   calls_in_stopped_stage=state["calls"], resume_command=command, **fields)
    lines = [f"maip-dr: {why}. Stages completed: {', '.join(state['completed']) or 'none'}."]
    if stopped is not None:
        done = ", ".join(f"{c['service']}:{c['operation']} {c.get('resource') or ''} "
                         f"({c.get('outcome')})".replace("  ", " ") for c in made)
        lines.append(f"  {_stage_label(stopped)} {stopped['state']} after "
                     f"{len(made)} mutating call(s){': ' + done if done else ''}.")
    if command:
        lines.append(f"  resume with: {command}")
    elif where is None:
        lines.append("  nothing was mutated yet: start a new game day")
    else:  # no resume command is given for the simulation a game day hosts itself
        lines.append("  the embedded simulation ends with this process: start a new game day")
    plan.echo("\n".join(lines))


def left_in(plan: StoppedRun, journal: Journal, run: PhaseRun) -> None:
    """After a phase with a failed stage: the state the platform is left in and the resume."""
    say_where_it_stands(plan, journal, f"the {run.phase} phase stopped on a failed stage",
                        run.phase)


def record_interruption(plan: StoppedRun, journal: Journal,
                        interruption: KeyboardInterrupt) -> None:
    """Journal an interruption (which signal, where) and say how to resume."""
    name = "SIGTERM" if isinstance(interruption, Terminated) else "SIGINT"
    phases = [r for r in _records(plan.attempt.path) if r.get("kind") == "phase.start"]
    phase_now = phases[-1].get("phase") if phases else None
    journal.record("drill.interrupted", signal=name, at_phase=phase_now)
    say_where_it_stands(plan, journal, f"interrupted by {name} in the "
                        f"{phase_now or 'first'} phase",
         phase_now, signal=name)
