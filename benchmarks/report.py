"""Writes the results: ``latest.json`` (everything measured) and ``latest.md`` (generated from
it: machine, versions, date, each goal with its figures and verdict, and for a goal not met
what the figures say dominates and what would close it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.stats import fmt_s, fmt_spread

# What would close a goal that is not met, by verdict key (figures come from the run).
CLOSE = {
    "preflight_whole_process": "The whole process is dominated by start-up, not by the checks: "
    "`maip-dr readiness` starts Python and click, then its pytest session in the same process "
    "imports the plugin, boto3 and kubernetes and collects the Gherkin scenarios (see benchmark "
    "3), before the first call.",
    "over_import": "`maip-dr readiness` is one process: its pytest session runs inside the "
    "`maip-dr` process (pytest.main), so nothing is imported twice and no second interpreter "
    "starts. What is left above the bare import is start-up work the bare import does not do: "
    "the command's own imports (click and every command's module), pytest's configuration, its "
    "plugins and the collection of the Gherkin, and in the first steps botocore's service models "
    "parsed from JSON and the clients built for each region; the checks' calls themselves are "
    "benchmark 2's in-process figure. Closing it would take the commands imported lazily, a disk "
    "cache of the parsed botocore models and the steps' clients built once per session; the "
    "one-session change (issue 16 item 3) did not close it.",
    "preflight_in_process": "The in-process time is bounded by the slowest chain of dependent "
    "calls; see benchmark 2 for how close it is to the sum of round trips.",
    "limit": "The checks repeat some requests and make dependent calls in sequence (e.g. "
    "node group, then its subnets); a shared per-run cache of identical requests would remove "
    "the repeats.",
    "import_and_collect": "Collection no longer imports boto3 or the kubernetes package "
    "(regions.py, probes/kube.py, probes/ecr.py and the drill modules import them inside the "
    "functions that build clients or call the API); what is left is pytest, pytest-bdd and "
    "allure (see the import table), the library's own modules and the Gherkin parsing. On a "
    "loaded machine the wall time exceeds the CPU time shown above: compare the two before "
    "reading a miss as a regression.",
    "sim_ready": "",  # written from the run's figures (_sim_ready_why)
    "overhead": "",  # written from the run's figures (_overhead_why)
    "detection": "A wait polls at most every `poll_max_s` plus one observation.",
    "gameday_detection": "A wait's last gap is its poll interval plus the observation time "
    "(on a loaded machine an observation takes hundreds of milliseconds); every wait of the "
    "drill, stage 4's deployments wait included, starts at the policy's initial interval "
    "(0.1 s) and backs off to its maximum (0.5 s).",
    "memory_linear_small": "The peak is not a straight line of the deployments; the table "
    "gives the peak per scale.",
    "kube_list_calls_independent": "Some Kubernetes calls grow with the object count.",
    "scaling_faster_than_kubectl": "The scale PATCHes are bounded by the fake API server.",
    "kube_list_calls_independent_note": "",
    "readiness_calls_independent": "The image check asks ECR about every distinct image, and "
    "ECR has no query across repositories (DescribeImages, ListImages and BatchGetImage all "
    "take one repository): in the scale simulation every deployment runs its own service's "
    "repository, so the calls grow with the number of repositories, not with pods or nodes. "
    "`probes.ecr.registry_images` asks once per repository (up to 100 images per call), so "
    "images sharing a repository (tags, sidecars) cost one call (the readiness check uses "
    "it). Only a registry-wide inventory (an "
    "Amazon Inspector or ECR scan export) would make the count independent of the "
    "repositories.",
}


def _v(result: dict[str, Any], key: str) -> str:
    verdict = result.get("verdicts", {}).get(key, "not measured")
    return {"met": "**met**", "not met": "**NOT MET**"}.get(verdict, verdict)


def _why(result: dict[str, Any], key: str, text: str | None = None) -> str:
    if result.get("verdicts", {}).get(key) == "not met":
        return f"\n  Why, and what would close it: {text or CLOSE[key]}"
    return ""


def _median(summary: dict[str, Any] | None) -> float | None:
    return (summary or {}).get("median")


def _sim_ready_why(r: dict[str, Any]) -> str:
    sim = r["sim"]
    parts = {key: _median(sim.get(key)) for key in
             ("import_s", "before_seed_s", "seed_s", "after_seed_s", "ready_s", "seed_cpu_s",
              "ready_cpu_s")}
    cpu = (f" (CPU {fmt_s(parts['ready_cpu_s'])} of it, seeding {fmt_s(parts['seed_cpu_s'])})"
           if parts["ready_cpu_s"] is not None else "")
    return (f"ready takes {fmt_s(parts['ready_s'])}{cpu}: moto's server up "
            f"{fmt_s(parts['before_seed_s'])} (importing moto's server, Flask and the backends "
            f"the patches touch), restoring the seeded snapshot {fmt_s(parts['seed_s'])} "
            f"(unpickling imports the backends' modules), then the Kubernetes servers, "
            f"endpoints and metrics {fmt_s(parts['after_seed_s'])}. Removed so far: the "
            f"seeding through HTTP (the snapshot; seeding is the row beside it), moto's 1,300 "
            f"public AMIs per region, a fresh boto3 session per EKS create. What is left is "
            f"import and first-request CPU under one GIL; closing it needs moto's server "
            f"modules imported lazily per service, or a simulation started once and reused "
            f"(`maip-dr sim up` with --config).")


def _data_plane_why(r: dict[str, Any]) -> str:
    plane = r["sim_data_plane"]
    return (f"ready with the data plane takes {fmt_s(_median(plane['ready_s']))}, "
            f"{r['postgres_adds_s']:+.2f} s beside the start without it "
            f"({fmt_s(_median(r['sim']['ready_s']))}, see the goal above for what that is "
            f"made of). The start waits {fmt_s(_median(plane['postgres_wait_s']))} for the "
            f"PostgreSQL servers: they are built in a thread while moto starts (initdb "
            f"{fmt_s(_median(plane['postgres_initdb_s']))}, base backup "
            f"{fmt_s(_median(plane['postgres_base_backup_s']))}, starts "
            f"{fmt_s(_median(plane['postgres_start_s']))}), so PostgreSQL costs CPU taken "
            f"from moto on these 2 cores, not time on the critical path. The miss is the "
            f"start without the data plane; closing that goal closes this one, and a cached "
            f"initdb template (copying a data directory instead of running initdb) would take "
            f"most of PostgreSQL's CPU away.")


def _canary_part(split: dict[str, Any]) -> str:
    """The canaries' share of the time between phases, when the run measured it."""
    if "canary_window_s" not in split:
        return ""
    text = (f"; of it, the canaries written before the outage for "
            f"{fmt_s(split['canary_window_s'])} (the canary window, by design)")
    if "canaries_stop_s" in split:
        text += (f" and the writers noticing the outage in {fmt_s(split['canaries_stop_s'])} "
                 f"(their write timeout on a simulation)")
    return text


def _overhead_why(game: dict[str, Any]) -> str:
    split = game.get("outside_split") or {}
    if not split:
        return ("The overhead is mostly outside the stages: the simulation's start, the "
                "pytest session's start, and evidence.")
    startups, ends = split["phase_startups_s"], split["phase_ends_s"]
    between = split["between_phases_s"]
    named = (split["before_first_phase_s"] + sum(startups) + sum(ends) + sum(between)
             + split["after_last_phase_s"])
    inside_phases = game["outside_stages_s"] - named
    return (f"outside the stages {fmt_s(game['outside_stages_s'])}: before the first phase "
            f"(CLI start, the embedded simulation's start, the target's checks, the one "
            f"pytest session's start and collection) {fmt_s(split['before_first_phase_s'])}; "
            f"{len(split['phases'])} phases of that session start in {fmt_s(sum(startups))} "
            f"together ({', '.join(f'{x:.1f}' for x in startups)} s: fixtures and clients, "
            f"the phase's Given steps before its first stage) and end in {fmt_s(sum(ends))} "
            f"(teardown, results, Allure files); between phases {fmt_s(sum(between))} "
            f"({', '.join(f'{x:.1f}' for x in between)} s: go / no-go, the canaries before "
            f"the outage, the outage, the hold, the restore{_canary_part(split)}); after the "
            f"last phase (the "
            f"session's end, summary, timeline image, manifest, the simulation stopping) "
            f"{fmt_s(split['after_last_phase_s'])}; between stages inside the phases "
            f"{fmt_s(inside_phases)}. Inside the stages, "
            f"{fmt_s(game['in_stages_s'] - game['waiting_s'])} are not waits (API calls, "
            f"decisions, journal fsyncs). The waits are the simulation's scripted delays "
            f"({fmt_s(game['waiting_s'])}), which a faster suite cannot shorten.")


def _machine(doc: dict[str, Any]) -> list[str]:
    m = doc["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
    return [f"- date (UTC): {m['date']}", f"- machine: {m['host']}, {m['cpus']} CPUs "
            f"({m['cpu_model']}), {m['platform']}, load average at start "
            f"{m['load_average_at_start']}, at end {m.get('load_average_at_end')} (2 CPUs "
            f"shared with other work: the figures are noisy)",
            f"- versions: {versions}",
            f"- command: `{doc['command']}` (repeats {doc['options']['repeats']})", ""]


def _readiness(r: dict[str, Any]) -> list[str]:
    last = r.get("last", {})
    by_hand = last.get("by_hand", {})
    calls = last.get("in_process", {}).get("calls", {})
    lines = ["## 1. Preflight versus the runbook by hand", "",
             f"AWS CLI: {r['aws_cli']}; kubectl: {'yes' if r['kubectl'] else 'absent'}; "
             f"`maip-dr sim up` ready in {fmt_s(r['sim_up_ready_s'])}.", "",
             "| side | median (min-max, n) |", "|---|---|",
             f"| by hand: {by_hand.get('commands')} commands, one per fact "
             f"({by_hand.get('failed')} failed) | {fmt_spread(r['by_hand_s'])} |",
             f"| `maip-dr readiness` (whole process) | {fmt_spread(r['whole_process_s'])} |",
             f"| checks in-process (`run_readiness`, warm) | {fmt_spread(r['in_process_s'])} |",
             *([f"| bare `python -c \"import boto3, kubernetes.client, pytest, pytest_bdd\"` "
                f"| {fmt_spread(r['bare_import_s'])} |"] if r.get("bare_import_s") else []),
             "",
             f"- goal: suite at least 5x faster as a whole process: "
             f"{fmt_spread(r['ratio_whole'], 'x')}: {_v(r, 'preflight_whole_process')}"
             + _why(r, "preflight_whole_process"),
             f"- goal: at least 30x faster in-process: {fmt_spread(r['ratio_in_process'], 'x')}:"
             f" {_v(r, 'preflight_in_process')}" + _why(r, "preflight_in_process")]
    if r.get("ratio_over_import"):
        lines.append(f"- goal: `maip-dr readiness` (whole process) within 1.6x the bare import: "
                     f"{fmt_spread(r['ratio_over_import'], 'x')}: {_v(r, 'over_import')}"
                     + _why(r, "over_import"))
    for note in r.get("notes", []):
        lines.append(f"- note: {note}")
    lines += ["", "## 2. Closeness to the limit", "",
              f"Sum of one warm call per distinct request the checks make "
              f"({last.get('replay', {}).get('requests')} requests, one after the other): "
              f"{fmt_spread(r['round_trip_sum_s'])}. The checks make {calls.get('total')} "
              f"calls ({calls.get('by_kind')}), {calls.get('repeated')} of them repeats of the "
              f"same request.", "",
              f"- goal: in-process time within 2x that sum: ratio "
              f"{fmt_spread(r['ratio_limit'], 'x')}: {_v(r, 'limit')}" + _why(r, "limit"),
              "- concurrency: `run_readiness` runs the 22 checks on a thread pool of 8; a ratio "
              "below 1 means the checks overlap (they finish sooner than their requests made "
              "one by one).", ""]
    memory = r.get("memory", {})
    if memory:
        lines += [f"- memory of one readiness run: tracemalloc peak "
                  f"{memory['tracemalloc_peak_bytes'] / 1e6:.1f} MB; worker max RSS "
                  f"{memory['max_rss_kib'] / 1024:.0f} MiB", ""]
    return lines


def _data_plane_rows(r: dict[str, Any]) -> list[str]:
    """The start-up PostgreSQL adds (the game day's default), when the run measured it."""
    plane = r.get("sim_data_plane")
    if not plane:
        return []
    return [f"| simulation ready with its data plane (PostgreSQL writer and standby, DNS) | "
            f"{fmt_spread(plane['ready_s'])} |",
            f"| PostgreSQL adds to the start (median with minus median without; the servers "
            f"start beside moto, so this is their CPU contention) | "
            f"{r['postgres_adds_s']:+.2f} s |",
            f"| the start waiting for PostgreSQL (servers start beside moto) | "
            f"{fmt_spread(plane['postgres_wait_s'])} |",
            f"| PostgreSQL servers, in their thread: initdb / base backup / start | "
            f"{fmt_spread(plane['postgres_initdb_s'])} / "
            f"{fmt_spread(plane['postgres_base_backup_s'])} / "
            f"{fmt_spread(plane['postgres_start_s'])} |"]


def _seeding_rows(r: dict[str, Any]) -> list[str]:
    seeding = r.get("sim_seeding")
    if not seeding:
        return []
    return [f"| simulation ready seeding through HTTP instead (no snapshot: a user's first "
            f"start, or MAIP_DR_SIM_SNAPSHOTS=off) | {fmt_spread(seeding['ready_s'])} |",
            f"| of which seeding | {fmt_spread(seeding['seed_s'])} |"]


def _startup(r: dict[str, Any]) -> list[str]:
    sim = r["sim"]
    lines = ["## 3. Start-up", "",
             "| what | median (min-max, n) |", "|---|---|",
             f"| `python -c 'import pytest'` (floor) | "
             f"{fmt_spread(r['python_and_pytest_import_s'])} |",
             f"| import and collect the readiness scenarios ({r['collected']}) | "
             f"{fmt_spread(r['import_and_collect_s'])} |",
             *([f"| the same, CPU seconds (user + system) | "
                f"{fmt_spread(r['import_and_collect_cpu_s'])} |",
                f"| the same, first run after a change of the code (fills Python's bytecode "
                f"cache; not in the median) | {fmt_s(r['import_and_collect_first_run_s'])} |"]
               if "import_and_collect_cpu_s" in r else []),
             f"| simulation: import of the module | {fmt_spread(sim['import_s'])} |",
             f"| simulation: moto up and first calls (before seeding) | "
             f"{fmt_spread(sim['before_seed_s'])} |",
             f"| simulation: restoring the seeded snapshot | {fmt_spread(sim['seed_s'])} |",
             f"| simulation: Kubernetes, endpoints, metrics, control | "
             f"{fmt_spread(sim['after_seed_s'])} |",
             f"| simulation ready (start() to return) | {fmt_spread(sim['ready_s'])} |",
             *([f"| simulation: CPU seconds of seeding / of the whole start | "
                f"{fmt_spread(sim['seed_cpu_s'])} / {fmt_spread(sim['ready_cpu_s'])} |"]
               if "ready_cpu_s" in sim else []),
             *_seeding_rows(r), *_data_plane_rows(r), "",
             f"- goal: import and collect under 1.2 s: {_v(r, 'import_and_collect')}"
             + _why(r, "import_and_collect"),
             f"- goal: simulation ready under 2 s: {_v(r, 'sim_ready')}"
             + _why(r, "sim_ready", _sim_ready_why(r)),
             *([f"- goal: simulation ready with its data plane (PostgreSQL, DNS) under 2.5 s: "
                f"{_v(r, 'sim_ready_data_plane')}"
                + _why(r, "sim_ready_data_plane", _data_plane_why(r))]
               if r.get("sim_data_plane") else []),
             "", "Import time of the collection run by top-level package (`-X importtime`, sum of "
             "each module's own time):",
             "", "| package | seconds |", "|---|---|"]
    lines += [f"| {p['package']} | {p.get('self_s', p.get('cumulative_s', 0)):.3f} |"
              for p in r["import_profile"]]
    return [*lines, ""]


def _waits(r: dict[str, Any]) -> list[str]:
    d = r["detection"]
    lines = ["## 4. Waiting efficiency", "",
             f"Detection (a flag set at a random time, `wait_for` with the drill's simulation "
             f"poll policy {d['sim_policy']['initial_s']}-{d['sim_policy']['max_s']} s, "
             f"observation {d['observe_s'] * 1000:.0f} ms): "
             f"{fmt_spread(d['latency_s'])}. Live targets: poll "
             f"{d['live_policy']['initial_s']} s backing off to at most "
             f"{d['live_policy']['max_s']} s (`PollPolicy.for_target`).", "",
             f"- goal: detection within one poll interval, at most 1 s in the simulation: "
             f"{_v(r, 'detection')}" + _why(r, "detection")]
    game = r.get("gameday")
    if game:
        lines += [
            "", f"Game day (`maip-dr gameday`, default settings, once): exit "
            f"{game['exit_code']}, wall {fmt_s(game['wall_s'])}; waiting on the simulation "
            f"{fmt_s(game['waiting_s'])} ({game['waits']} declared waits, {game['soaks']} soaks "
            f"of {fmt_s(game['soak_s'])}); inside stages {fmt_s(game['in_stages_s'])}, outside "
            f"stages (process start-ups, collection, evidence) "
            f"{fmt_s(game['outside_stages_s'])}.", "",
            f"- goal: overhead (wall minus waiting) under 15 % of the wall time: "
            f"{fmt_s(game['overhead_s'])} = {100 * (game['overhead_fraction'] or 0):.0f} %: "
            f"{_v(r, 'overhead')}" + _why(r, "overhead", _overhead_why(game)),
            *([f"- goal: time outside the stages at most 8 s: "
               f"{fmt_s(game['outside_stages_s'])}: {_v(r, 'outside_stages')}"
               + _why(r, "outside_stages", _overhead_why(game))]
              if "outside_stages" in r.get("verdicts", {}) else []),
            f"- detection in the game day (largest gap between a wait's last two observations):"
            f" {fmt_s(game['max_last_gap_s'])}: {_v(r, 'gameday_detection')}"
            + _why(r, "gameday_detection"), "",
            "| wait | polls | seconds | last gap |", "|---|---|---|---|"]
        lines += [f"| {g['what']} | {g['polls']} | {g['seconds']:.2f} | {g['last_gap_s']:.3f} |"
                  for g in game["wait_gaps"]]
    return [*lines, ""]


def _scale(r: dict[str, Any]) -> list[str]:
    from benchmarks.bench_scale import _summarise

    kubectl_absent = any("kubectl not on PATH" in note for note in r.get("notes", []))
    r = _summarise(r["scales"], None if kubectl_absent else "kubectl")  # verdicts from data
    lines = ["## 5. Scale", "",
             "| deployments | sim ready | readiness (median) | readiness calls | kube calls | "
             "tracemalloc peak | suite scale | kubectl scale --all | kubectl / suite | "
             "scale calls | scale and wait |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in r["scales"]:
        calls = s["readiness_calls"] or {}
        kube = sum(v for k, v in calls.get("by_operation", {}).items() if k.startswith("kube"))
        wait = s.get("scale_and_wait") or {}
        lines.append(
            f"| {s['deployments']} | {fmt_s(s['sim_ready_s'])} | "
            f"{fmt_s(s['readiness_s']['median'])} | {calls.get('total')} | {kube} | "
            f"{s['readiness_tracemalloc_peak_bytes'] / 1e6:.1f} MB | "
            f"{fmt_s(s['suite_scale_s']['median'])} | {fmt_s(s['kubectl_scale_s']['median'])} "
            f"| {fmt_spread(s['ratio_kubectl_over_suite'], 'x')} | "
            f"{(s['scale_calls'] or {}).get('total')} | {fmt_s(wait.get('elapsed_s'))} |")
    growth = r["memory_growth"]
    slope = growth.get("slope_per_deployment")
    lines += ["",
              f"- goal: list calls independent of object count (paginated lists, 250 per "
              f"page, no per-object GET): Kubernetes calls per scale "
              f"{ {k: sum(v.values()) for k, v in r['kube_calls_by_scale'].items()} }, "
              f"per-object calls {r['per_object_kube_calls'] or 'none'}: "
              f"{_v(r, 'kube_list_calls_independent')}" + _why(r, "kube_list_calls_independent"),
              f"- all readiness calls per scale (where every check completed) "
              f"{r['readiness_calls_by_scale']}: "
              f"{_v(r, 'readiness_calls_independent')}" + _why(r, "readiness_calls_independent"),
              f"- goal: scaling with bounded concurrency faster than `kubectl scale deployment "
              f"--all`: {_v(r, 'scaling_faster_than_kubectl')}"
              + _why(r, "scaling_faster_than_kubectl"),
              "- goal: memory growth linear and small (at most 50 kB per deployment, within "
              "30 % of a straight line): " + (
                  f"tracemalloc peak of a readiness run grows {slope / 1000:.1f} kB per "
                  f"deployment over {len(r['readiness_calls_by_scale'])} scales (largest "
                  f"relative residual from the line "
                  f"{growth['max_relative_residual']:.2f}): {_v(r, 'memory_linear_small')}"
                  if slope is not None else "needs two scales")
              + _why(r, "memory_linear_small")]
    for note in r.get("notes", []):
        lines.append(f"- note: {note}")
    return [*lines, ""]


def write(doc: dict[str, Any], out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "latest.json", out / "latest.md"
    json_path.write_text(json.dumps(doc, indent=1, default=str) + "\n")
    lines = ["# Benchmark results", "",
             "Generated by `python -m benchmarks` (do not edit by hand); figures are medians of "
             "repeated runs with their spread; ratios pair runs made side by side. Against the "
             "embedded SIMULATION only.", ""]
    lines += _machine(doc)
    merged = doc.get("merged_from")
    if merged:
        origins = doc.get("measured", {})
        kept = [f"{name} ({origins[name]['date']}, `{origins[name]['command']}`)"
                if name in origins else name for name in merged["kept"]]
        unknown = [name for name in merged["kept"] if name not in origins]
        lines += [f"Benchmarks kept from earlier runs: {', '.join(kept)}"
                  + (f" ({', '.join(unknown)}: from the run of {merged['date']} or before it, "
                     f"`{merged['command']}`)" if unknown else "")
                  + "; the rest were measured now.", ""]
    results = doc["results"]
    for name, render in (("readiness", _readiness), ("startup", _startup), ("waits", _waits),
                         ("scale", _scale)):
        if name in results:
            try:
                lines += render(results[name])
            except (KeyError, TypeError, ZeroDivisionError) as error:
                lines += [f"## {name}", "", f"(could not render: {error!r})", ""]
    for name, error in doc.get("errors", {}).items():
        lines += [f"## {name}: not measured", "", f"```\n{error}\n```", ""]
    md_path.write_text("\n".join(lines) + "\n")
    return json_path, md_path
