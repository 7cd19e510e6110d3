#!/usr/bin/env python3
"""Runs one load-generator run for scripts/bench.sh and appends its result, as one
JSON line, to the results file; report.py turns those lines into BENCHMARKS.md.

  measure.py RESULTS wrk   FIGURE SIDE REP [--pid NAME=PID]... -- wrk ARGS...
  measure.py RESULTS redis FIGURE SIDE REP [--pid NAME=PID]... -- redis-benchmark ARGS...
  measure.py RESULTS value FIGURE SIDE REP KEY=NUMBER...

SIDE is `ours` or `raw`. Each `--pid` process has its CPU use during the run
recorded (as % of one core), which shows who was busy: the server, Redis or both.
"""

import csv
import io
import json
import os
import shlex
import subprocess
import sys
import time

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """User + system CPU seconds of a process so far, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # After the command name: state is field 3, utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / TICKS


def shown_command(argv):
    """The command line as run, with a Redis password masked and a script elided."""
    shown = ["<Lua script>" if "\n" in arg else arg for arg in argv]
    for i, arg in enumerate(shown[:-1]):
        if arg == "-a":
            shown[i + 1] = "***"
    return shlex.join(shown)


def run_measured(argv, pids):
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    start = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True)
    wall = time.monotonic() - start
    cpu = {}
    for name, pid in pids.items():
        after = cpu_seconds(pid)
        if before[name] is not None and after is not None and wall > 0:
            cpu[name] = round(100 * (after - before[name]) / wall, 1)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        sys.exit(f"measure: {argv[0]} exited with {done.returncode}")
    return done.stdout, wall, cpu


def parse_wrk(stdout):
    for line in stdout.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line[len("BENCH "):])
    sys.stderr.write(stdout)
    sys.exit("measure: wrk printed no BENCH line (is scripts/bench/wrk.lua in use?)")


def parse_redis_benchmark(stdout):
    rows = [row for row in csv.reader(io.StringIO(stdout)) if row]
    if len(rows) < 2 or rows[0][:2] != ["test", "rps"]:
        sys.stderr.write(stdout)
        sys.exit("measure: unexpected redis-benchmark --csv output")
    header, row = rows[0], rows[1]
    values = dict(zip(header, row))
    return {
        "test": values["test"][:60],
        "rps": float(values["rps"]),
        "mean_ms": float(values["avg_latency_ms"]),
        "p50_ms": float(values["p50_latency_ms"]),
        "p99_ms": float(values["p99_latency_ms"]),
        "max_ms": float(values["max_latency_ms"]),
    }


def main(argv):
    if len(argv) < 5:
        sys.exit(__doc__)
    results, kind, figure, side, rep = argv[:5]
    rest = argv[5:]
    record = {"figure": figure, "side": side, "rep": int(rep)}
    if kind == "value":
        for pair in rest:
            key, _, value = pair.partition("=")
            record[key] = float(value)
    else:
        pids = {}
        while rest and rest[0] == "--pid":
            name, _, pid = rest[1].partition("=")
            pids[name] = int(pid)
            rest = rest[2:]
        if not rest or rest[0] != "--":
            sys.exit("measure: expected -- before the command")
        command = rest[1:]
        stdout, wall, cpu = run_measured(command, pids)
        record.update(parse_wrk(stdout) if kind == "wrk" else parse_redis_benchmark(stdout))
        record["wall_s"] = round(wall, 3)
        record["cpu_pct"] = cpu
        record["cmd"] = shown_command(command)
    with open(results, "a") as out:
        out.write(json.dumps(record) + "\n")
    summary = ", ".join(
        f"{key} {record[key]:g}" for key in ("rps", "p50_ms", "p99_ms") if key in record
    )
    extra = "".join(f", {name} {pct:g}% CPU" for name, pct in record.get("cpu_pct", {}).items())
    print(f"[bench]   {figure} {side} #{rep}: {summary or record}{extra}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
