"""``python -m benchmarks``: run the benchmarks and write benchmarks/results/latest.{md,json}.

Options: ``--repeats N`` (default 5), ``--only NAMES`` (comma list of readiness, startup,
waits, scale; default all), ``--scales 50,200,1000``, ``--scale-repeats N`` (default 3, at
most --repeats), ``--no-gameday`` (waits without the 90 s game day), ``--out DIR``
(default benchmarks/results), ``--render`` (only latest.md again from latest.json),
``--merge`` (keep the other benchmarks' results of the existing latest.json), ``--workdir
DIR`` (scratch; default benchmarks/.work).
Progress goes to standard error. Exit 0 when the results file was written (goals met or not;
the file says), 2 on bad options, 4 when nothing could be measured.
Not supported: live targets (everything runs against simulations it starts on 127.0.0.1).
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from benchmarks import bench_readiness, bench_scale, bench_startup, bench_waits, report
from benchmarks.stats import machine

NAMES = ("readiness", "startup", "waits", "scale")
HERE = Path(__file__).resolve().parent


def _progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="repeats per measurement")
    parser.add_argument("--only", default=",".join(NAMES),
                        help=f"comma list of {', '.join(NAMES)}")
    parser.add_argument("--scales", default="50,200,1000",
                        help="deployment counts for the scale benchmark")
    parser.add_argument("--scale-repeats", type=int, default=3,
                        help="repeats per scale (kubectl at 1,000 deployments is slow)")
    parser.add_argument("--no-gameday", action="store_true",
                        help="skip the game day in the waits benchmark")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--merge", action="store_true",
                        help="keep the other benchmarks' results of the latest.json in --out")
    parser.add_argument("--render", action="store_true",
                        help="only write latest.md again from the latest.json in --out")
    parser.add_argument("--workdir", type=Path, default=HERE / ".work")
    args = parser.parse_args(argv)
    problems = []
    if args.repeats < 1 or args.scale_repeats < 1:
        problems.append("--repeats, --scale-repeats: expected an integer >= 1")
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in args.only if name not in NAMES]
    if unknown or not args.only:
        problems.append(f"--only: unknown {', '.join(unknown) or '(empty)'}; "
                        f"choose from {', '.join(NAMES)}")
    try:
        args.scales = [int(x) for x in args.scales.split(",") if x.strip()]
        if not args.scales or min(args.scales) < 1:
            raise ValueError
    except ValueError:
        problems.append("--scales: expected a comma list of integers >= 1, e.g. 50,200,1000")
    if problems:
        parser.exit(2, f"python -m benchmarks: {problems[0]}\n")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.render:
        source = args.out / "latest.json"
        if not source.is_file():
            print(f"python -m benchmarks: --render: {source} does not exist", file=sys.stderr)
            return 2
        _, md_path = report.write(json.loads(source.read_text()), args.out)
        _progress(f"wrote {md_path} from {source}")
        return 0
    workdir = args.workdir.resolve()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    doc: dict[str, Any] = {
        "command": "python -m benchmarks " + shlex.join(argv if argv is not None
                                                          else sys.argv[1:]),
        "options": {"repeats": args.repeats, "scale_repeats": args.scale_repeats,
                    "only": args.only, "scales": args.scales,
                    "gameday": not args.no_gameday},
        "results": {}, "errors": {}, "seconds": {}, "machine": machine(None)}
    previous = args.out / "latest.json"
    if args.merge and previous.is_file():
        kept = json.loads(previous.read_text())
        for section in ("results", "errors", "seconds"):
            doc[section].update({name: value for name, value in kept.get(section, {}).items()
                                 if name not in args.only})
        doc["merged_from"] = {"command": kept.get("command"),
                              "date": kept.get("machine", {}).get("date"),
                              "kept": sorted(set(kept.get("results", {})) - set(args.only))}
        # Where each kept benchmark was measured (a file merged twice keeps its origin).
        doc["measured"] = {name: origin for name, origin in kept.get("measured", {}).items()
                           if name not in args.only and name in doc["results"]}
    def partial(name: str) -> Any:
        def write(result: dict[str, Any]) -> None:
            report.write({**doc, "results": {**doc["results"], name: result}}, args.out)
        return write

    runs = {
        "readiness": lambda: bench_readiness.run(workdir / "readiness", args.repeats,
                                                 _progress),
        "startup": lambda: bench_startup.run(args.repeats, _progress),
        "waits": lambda: bench_waits.run(workdir / "waits", args.repeats, _progress,
                                         with_gameday=not args.no_gameday),
        "scale": lambda: bench_scale.run(workdir / "scale", args.scales,
                                         min(args.repeats, args.scale_repeats),
                                         _progress, on_partial=partial("scale")),
    }
    for name in NAMES:
        if name not in args.only:
            continue
        _progress(f"benchmark {name} ...")
        started = time.perf_counter()
        doc.setdefault("measured", {})[name] = {"date": doc["machine"]["date"],
                                                "command": doc["command"]}
        try:
            doc["results"][name] = runs[name]()
            _progress(f"benchmark {name}: {doc['results'][name].get('verdicts')}")
        except KeyboardInterrupt:
            _progress("interrupted")
            return 130
        except Exception as error:  # recorded in the results; the rest goes on
            doc["errors"][name] = "".join(traceback.format_exception_only(error)).strip()
            _progress(f"benchmark {name} failed: {doc['errors'][name]}")
            traceback.print_exc()
        doc["seconds"][name] = round(time.perf_counter() - started, 1)
        if name != args.only[-1]:  # partial results after each benchmark
            report.write(doc, args.out)
    if (doc["results"].get("readiness") or {}).get("aws_cli"):
        aws_version = machine(str(bench_readiness_aws()))["versions"].get("aws-cli")
        doc["machine"]["versions"]["aws-cli"] = aws_version
    doc["machine"]["load_average_at_end"] = machine(None)["load_average_at_start"]
    json_path, md_path = report.write(doc, args.out)
    _progress(f"wrote {md_path} and {json_path}")
    return 0 if doc["results"] else 4


def bench_readiness_aws() -> Path | None:
    from benchmarks.awscli import find_or_make_aws_cli

    path, _ = find_or_make_aws_cli(lambda *_: None)
    return path


if __name__ == "__main__":
    raise SystemExit(main())
