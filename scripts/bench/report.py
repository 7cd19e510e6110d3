#!/usr/bin/env python3
"""Renders the results of scripts/bench.sh (one JSON object per line) as markdown.

  report.py RESULTS OUTPUT

Medians over the repetitions; each ratio is the median of the per-repetition
ratios ours/raw (a repetition runs ours and raw Redis back to back), so slow
drift of a shared machine cancels out. The run's settings come from BENCH_*
environment variables set by scripts/bench.sh. Exits 1, after writing OUTPUT,
when a load run had errors (a broken benchmark, not a missed target).
"""

import datetime
import json
import os
import platform
import re
import statistics
import sys
from collections import defaultdict

ENV = os.environ.get


def setting(name, default=""):
    return ENV(f"BENCH_{name}", default)


N_SMALL = int(setting("N_SMALL", "0"))
N_LARGE = int(setting("N_LARGE", "0"))
CONC = int(setting("CONC", "32"))
DOWN_AFTER_MS = int(setting("DOWN_AFTER_MS", "2000"))
N_HUGE = int(setting("N_HUGE", "0"))
COMPACT_S = setting("COMPACT_S", "?")
QUICK = setting("MODE") == "quick"


def load(path):
    with open(path) as lines:
        return [json.loads(line) for line in lines if line.strip()]


class Results:
    def __init__(self, records):
        self.by = defaultdict(list)
        for record in records:
            self.by[(record["figure"], record["side"])].append(record)
            if record["figure"].startswith("failover"):
                self.by[("failover_all", record["side"])].append(record)

    def values(self, figure, side, key):
        return [r[key] for r in self.by[(figure, side)] if r.get(key) is not None]

    def aggregate(self, figure, side, key, how="median"):
        values = self.values(figure, side, key)
        if not values:
            return None
        return sum(values) if how == "sum" else statistics.median(values)

    def ratio(self, figure, key, raw_figure, raw_key):
        """Median over repetitions of ours/raw, pairing runs of the same repetition."""
        raw_by_rep = {r["rep"]: r.get(raw_key) for r in self.by[(raw_figure, "raw")]}
        shared_raw = len(raw_by_rep) == 1 and raw_figure != figure  # e.g. cold start
        ratios = []
        for record in self.by[(figure, "ours")]:
            ours = record.get(key)
            raw = next(iter(raw_by_rep.values())) if shared_raw else raw_by_rep.get(record["rep"])
            if ours is not None and raw:
                ratios.append(ours / raw)
        if not ratios and raw_by_rep:
            # No pairing possible (e.g. different repetition counts): ratio of medians.
            ours = self.aggregate(figure, "ours", key)
            raw = self.aggregate(raw_figure, "raw", raw_key)
            return ours / raw if ours is not None and raw else None
        return statistics.median(ratios) if ratios else None


def thousands(n):
    return f"{n:,}"


def fmt(value, unit):
    if value is None:
        return "—"
    if unit == "req/s":
        return f"{value:,.0f} req/s"
    if unit == "ms":
        return f"{value:.2f} ms" if value < 10 else f"{value:,.1f} ms"
    if unit in ("KB", "MB"):
        return f"{value:,.1f} {unit}"
    if unit == "":
        return f"{value:g}"
    return f"{value:g} {unit}"


def rows():
    """(label, ours, raw, unit, ratio style, target) per table row.

    ours/raw: (figure, key[, aggregate]); target: (on, op, threshold, text) where
    `on` is "ours" or "ratio"."""
    small, large = thousands(N_SMALL), thousands(N_LARGE)
    stall_limit = DOWN_AFTER_MS + 1500
    return [
        (f"1. `GET /get/{{id}}` throughput, c={CONC}", ("get", "rps"), ("get", "rps"),
         "req/s", "%", ("ratio", ">=", 0.40, "≥ 40% of raw GET")),
        (f"1. `GET /get/{{id}}` p99, c={CONC}", ("get", "p99_ms"), ("get", "p99_ms"),
         "ms", "x", None),
        (f"2. `POST /set` throughput, c={CONC}", ("set", "rps"), ("set", "rps"),
         "req/s", "%", ("ratio", ">=", 0.35, "≥ 35% of raw SET")),
        (f"2. `POST /set` p99, c={CONC}", ("set", "p99_ms"), ("set", "p99_ms"), "ms", "x", None),
        (f"3. `GET /` (JSON), {small} customers, p50, c=1", ("list_small", "p50_ms"),
         ("list_small", "p50_ms"), "ms", "x", ("ours", "<=", 10, "≤ 10 ms")),
        (f"3. `GET /` (JSON), {large} customers, p50, c=1", ("list_large", "p50_ms"),
         ("list_large", "p50_ms"), "ms", "x", ("ours", "<=", 100, "≤ 100 ms")),
        (f"4. UI customers page, {large} customers, throughput, c={CONC}", ("page", "rps"),
         ("page", "rps"), "req/s", "%", ("ours", ">=", 5000, "≥ 5,000 req/s")),
        (f"4. UI customers page, {large} customers, p50, c={CONC}", ("page", "p50_ms"),
         ("page", "p50_ms"), "ms", "x", None),
        (f"4. UI customers page by last name, descending, {large} customers, throughput, "
         f"c={CONC}", ("page_sorted", "rps"), ("page", "rps"), "req/s", "%",
         ("ours", ">=", 5000, "≥ 5,000 req/s")),
        (f"4. UI customers page by last name, descending, {large} customers, p50, c={CONC}",
         ("page_sorted", "p50_ms"), ("page", "p50_ms"), "ms", "x", None),
        (f"5. UI search (server function), {large} customers, p50, c=1", ("search", "p50_ms"),
         ("search", "p50_ms"), "ms", "x", ("ours", "<=", 20, "≤ 20 ms")),
        ("6. server RSS at the end of the run (VmRSS)", ("rss", "rss_mb"), ("rss", "rss_mb"),
         "MB", "x", ("ours", "<=", 64, "≤ 64 MB")),
        ("6. server peak RSS (VmHWM)", ("rss", "hwm_mb"), ("rss", "hwm_mb"), "MB", "x", None),
        ("6. UI list page working (a search put in at first paint in one go, as pasted or "
         "filled in, answered) after navigation, slow 4G + 4× CPU", ("ttw", "working_ms"),
         None, "ms", "x", ("ours", "<=", 1000, "≤ 1,000 ms")),
        ("6. the same, the search typed key by key at first paint (answered after the "
         "150 ms pause that follows the last key)", ("ttw", "working_keys_ms"), None, "ms",
         "x", ("ours", "<=", 1000, "≤ 1,000 ms")),
        ("6. UI list page working, the search put in (in one go) once hydrated, slow 4G + "
         "4× CPU",
         ("ttw", "working_after_hydration_ms"), None, "ms", "x", None),
        ("6. UI list page hydrated after navigation, slow 4G + 4× CPU", ("ttw", "hydrated_ms"),
         None, "ms", "x", None),
        ("6. UI list page first paint, slow 4G + 4× CPU", ("ttw", "paint_ms"), None, "ms", "x",
         None),
        ("6. wasm size, raw (the module every page loads)", ("wasm", "raw_kb"), None, "KB", "x",
         None),
        ("6. wasm size, gzip -9 (the module every page loads)", ("wasm", "gzip_kb"), None, "KB",
         "x", ("ours", "<=", 150, "≤ 150 KB")),
        ("6. wasm size on the wire (brotli, written at build time, as served)",
         ("wasm", "br_kb"), None, "KB", "x", None),
        ("6. the lazy islands' chunks together, gzip -9 (loaded only where shown)",
         ("wasm", "chunks_gzip_kb"), None, "KB", "x", None),
        ("6. cold start to first `GET /get/{id}` 200 (Sentinel store)", ("coldstart", "start_ms"),
         ("coldstart", "start_ms"), "ms", "x", ("ours", "<=", 200, "≤ 200 ms")),
        (f"6. cold start to first `GET /get/{{id}}` 200 (file store, {large} customers)",
         ("coldstart_file", "start_ms"), ("coldstart", "start_ms"), "ms", "x",
         ("ours", "<=", 200, "≤ 200 ms")),
        (f"7. longest write stall across a master SIGKILL (down-after {DOWN_AFTER_MS} ms), "
         "`REDIS_MIN_REPLICAS_ACK=0` (default)",
         ("failover", "stall_ms"), ("failover", "switch_ms"), "ms", "x",
         ("ours", "<=", stall_limit, f"≤ {stall_limit:,} ms")),
        ("7. the same, `REDIS_MIN_REPLICAS_ACK=1`",
         ("failover_acked", "stall_ms"), ("failover_acked", "switch_ms"), "ms", "x",
         ("ours", "<=", stall_limit, f"≤ {stall_limit:,} ms")),
        ("7. failed writes across the failovers (all repetitions, both settings)",
         ("failover_all", "errors", "sum"), None, "", "x", ("ours", "<=", 0, "0")),
        ("7. acknowledged writes lost, `REDIS_MIN_REPLICAS_ACK=0` (all repetitions)",
         ("failover", "lost", "sum"), None, "", "x", None),
        ("7. acknowledged writes lost, `REDIS_MIN_REPLICAS_ACK=1` (all repetitions)",
         ("failover_acked", "lost", "sum"), None, "", "x", ("ours", "<=", 0, "0")),
        (f"8. file store `POST /set`, {large} customers, every write fsynced, c={CONC}",
         ("file_set", "rps"), ("aof_set", "rps"), "req/s", "%",
         ("ratio", ">=", 0.25, "≥ 25% of raw SET with `appendfsync always`")),
        (f"8. file store `POST /set` p99, c={CONC}", ("file_set", "p99_ms"), ("aof_set", "p99_ms"),
         "ms", "x", None),
        (f"8. file store cold start, {large}-customer snapshot + {large}-entry journal",
         ("coldstart_journal", "start_ms"), ("coldstart", "start_ms"), "ms", "x",
         ("ours", "<=", 300, "≤ 300 ms")),
        (f"8. `GET /get/{{id}}` p99 during a compaction of {thousands(N_HUGE)} customers, "
         f"c={CONC} ({COMPACT_S} s run)", ("file_compaction_get", "p99_ms"), None, "ms", "x",
         ("ours", "<=", 50, "≤ 50 ms")),
        (f"8. that compaction's duration (snapshot + versions file written and synced)",
         ("compaction", "ms"), None, "ms", "x", None),
        (f"9. `GET /get/{{id}}` with HTTP Basic (password checked once, then remembered), c={CONC}",
         ("auth_basic", "rps"), ("auth_basic", "rps"), "req/s", "%",
         ("ratio", ">=", 0.90, "≥ 90% of the same without credentials")),
        (f"9. `GET /get/{{id}}` with a bearer token, c={CONC}",
         ("auth_bearer", "rps"), ("auth_bearer", "rps"), "req/s", "%",
         ("ratio", ">=", 0.90, "≥ 90% of the same without credentials")),
        (f"10. `GET /get/{{id}}` over TLS (`rediss://`, one server), c={CONC}",
         ("tls_get", "rps"), ("tls_get", "rps"), "req/s", "%", None),
        (f"10. `POST /set` over TLS (`rediss://`, one server), c={CONC}",
         ("tls_set", "rps"), ("tls_set", "rps"), "req/s", "%", None),
        (f"12. `GET /get/{{id}}` reading from the two replicas "
         f"(`REDIS_READ_FROM=replica-preferred`, bound 1000 ms), c={CONC}",
         ("replica_get", "rps"), ("replica_get", "rps"), "req/s", "%", None),
    ]


RAW_NOTES = {
    "get": "`redis-benchmark -t get`",
    "set": "`redis-benchmark -t set`",
    "list_small": "`HGETALL` of all records, c=1",
    "list_large": "`HGETALL` of all records, c=1",
    "page": "one page read by Redis alone (`EVAL`, 26 records in ID order)",
    "page_sorted": "one page read by Redis alone (`EVAL`, 26 records in ID order)",
    "search": "`HGETALL` of all records, c=1",
    "rss": "the Redis master's RSS",
    "coldstart": "`redis-server` start to `PONG`",
    "coldstart_file": "`redis-server` start to `PONG`",
    "failover": "sentinel `+switch-master` after the kill",
    "failover_acked": "sentinel `+switch-master` after the kill",
    "file_set": "`redis-benchmark -t set`, `appendfsync always`",
    "coldstart_journal": "`redis-server` start to `PONG`",
    "tls_get": "`redis-benchmark --tls -t get`",
    "tls_set": "`redis-benchmark --tls -t set`",
    "auth_basic": "the same request without credentials, to a server without users",
    "auth_bearer": "the same request without credentials, to a server without users",
    "replica_get": "the same request to a server reading from the master",
}


def compare(value, op, threshold):
    return value >= threshold if op == ">=" else value <= threshold


def table(results):
    lines = [
        "| figure | ours | raw Redis | ratio | target | met? |",
        "|---|---|---|---|---|---|",
    ]
    missed, close = [], []
    for label, ours_spec, raw_spec, unit, style, target in rows():
        figure, key = ours_spec[:2]
        how = ours_spec[2] if len(ours_spec) > 2 else "median"
        ours = results.aggregate(figure, "ours", key, how)
        raw = results.aggregate(raw_spec[0], "raw", raw_spec[1]) if raw_spec else None
        ratio = results.ratio(figure, key, *raw_spec) if raw_spec else None
        if ratio is None:
            ratio_text = "—"
        elif style == "%":
            ratio_text = f"{ratio * 100:.0f}%"
        else:
            ratio_text = f"{ratio:.2f}×"
        raw_text = fmt(raw, unit)
        if raw_spec and raw is not None:
            raw_text += f" ({RAW_NOTES[figure]})"
        met = "—"
        if target:
            on, op, threshold, text = target
            value = ratio if on == "ratio" else ours
            if value is not None:
                ok = compare(value, op, threshold)
                met = "yes" if ok else "**no**"
                if not ok:
                    missed.append((label, figure, ours, raw, ratio_text, (op, threshold, text), unit))
                elif threshold and abs(value - threshold) < 0.1 * threshold:
                    shown = ratio_text if on == "ratio" else fmt(ours, unit)
                    close.append((label, shown, text))
            target_text = text
        else:
            target_text = "—"
        lines.append(f"| {label} | {fmt(ours, unit)} | {raw_text} | {ratio_text} | {target_text} | {met} |")
    return lines, missed, close


def cpu_table(results):
    figures = [
        ("get", f"`GET /get/{{id}}`, c={CONC}"),
        ("set", f"`POST /set`, c={CONC}"),
        ("list_small", f"`GET /`, {thousands(N_SMALL)}, c=1"),
        ("list_large", f"`GET /`, {thousands(N_LARGE)}, c=1"),
        ("page", f"UI page, c={CONC}"),
        ("search", "UI search, c=1"),
    ]
    lines = [
        "| run | server CPU | Redis master CPU (ours) | Redis master CPU (raw) |",
        "|---|---|---|---|",
    ]
    for figure, label in figures:
        def cpu(side, name):
            values = [r["cpu_pct"][name] for r in results.by[(figure, side)]
                      if name in r.get("cpu_pct", {})]
            return f"{statistics.median(values):.0f}%" if values else "—"
        lines.append(f"| {label} | {cpu('ours', 'server')} | {cpu('ours', 'redis')} | {cpu('raw', 'redis')} |")
    return lines


def file_store_table(results):
    pairs = [
        ("get", "rps", f"`GET /get/{{id}}` throughput, c={CONC}", "req/s"),
        ("list_large", "p50_ms", f"`GET /` (JSON), {thousands(N_LARGE)} customers, p50, c=1", "ms"),
        ("page", "rps", f"UI customers page throughput, c={CONC}", "req/s"),
        ("page", "p50_ms", f"UI customers page p50, c={CONC}", "ms"),
        ("page_sorted", "rps", f"UI customers page by last name throughput, c={CONC}", "req/s"),
        ("search", "p50_ms", "UI search p50, c=1", "ms"),
    ]
    lines = ["| figure | Sentinel store | file store | file-store server CPU |", "|---|---|---|---|"]
    for figure, key, label, unit in pairs:
        redis_value = results.aggregate(figure, "ours", key)
        file_value = results.aggregate(f"file_{figure}", "ours", key)
        cpus = [r["cpu_pct"].get("server") for r in results.by[(f"file_{figure}", "ours")]
                if r.get("cpu_pct", {}).get("server") is not None]
        cpu = f"{statistics.median(cpus):.0f}%" if cpus else "—"
        lines.append(f"| {label} | {fmt(redis_value, unit)} | {fmt(file_value, unit)} | {cpu} |")
    return lines


def failover_table(results):
    lines = [
        "| `REDIS_MIN_REPLICAS_ACK` | repetition | stall | stall began (from the kill) | errors | first write sent after the kill done | `+switch-master` (first / last sentinel) | slowest write | writes | replicas behind at the kill | lost / checked |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for figure, acks in (("failover", 0), ("failover_acked", 1)):
        raw = {r["rep"]: r for r in results.by[(figure, "raw")]}
        for r in results.by[(figure, "ours")]:
            switch = raw.get(r["rep"], {}).get("switch_ms")
            last = raw.get(r["rep"], {}).get("last_switch_ms")
            lag = r.get("replica_lag_bytes")
            lag_text = " / ".join(f"{b / 1000:,.1f} KB" for b in lag) if lag else "—"
            lines.append(
                f"| {acks} | {r['rep']} | {r['stall_ms']:,.0f} ms | starts {r['stall_from_kill_ms']:+,.0f} ms | "
                f"{r['errors']} | {fmt(r['resume_ms'], 'ms')} | {fmt(switch, 'ms')} / {fmt(last, 'ms')} | "
                f"{r['max_latency_ms']:,.0f} ms | {r['writes']:,} | {lag_text} | {r['lost']} / {r['checked']} |"
            )
            if r.get("error_samples"):
                lines.append(f"| | | errors seen: {'; '.join(r['error_samples'])} | | | | | | | | |")
    return lines


def ops_table(results):
    """Figure 11: one row per repetition of each operator setting measured."""
    lines = [
        "| disruption and Redis settings | repetition | stall | errors | first write sent after it done | `+switch-master` (first sentinel) | lost / checked |",
        "|---|---|---|---|---|---|---|",
    ]
    for (figure, side), records in sorted(results.by.items()):
        if not figure.startswith("ops_") or side != "ours":
            continue
        raw = {r["rep"]: r for r in results.by[(figure, "raw")]}
        for r in records:
            switch = raw.get(r["rep"], {}).get("switch_ms")
            lines.append(
                f"| {r.get('label', figure)} | {r['rep']} | {r['stall_ms']:,.0f} ms | {r['errors']} | "
                f"{fmt(r['resume_ms'], 'ms')} | {fmt(switch, 'ms')} | {r['lost']} / {r['checked']} |"
            )
            if r.get("error_samples"):
                lines.append(f"| | | errors seen: {'; '.join(r['error_samples'])} | | | | |")
    return lines


def runs_table(results):
    lines = ["| figure | side | rep | req/s | p50 | p99 | max | requests | errors |", "|---|---|---|---|---|---|---|---|---|"]
    for (figure, side), records in results.by.items():
        for r in records:
            if "rps" not in r:
                continue
            errors = sum(r.get(k, 0) for k in ("errors_connect", "errors_read", "errors_write",
                                               "errors_status", "errors_timeout"))
            requests = r.get("requests")
            lines.append(
                f"| {figure} | {side} | {r['rep']} | {r['rps']:,.0f} | {r['p50_ms']:.2f} ms | "
                f"{r['p99_ms']:.2f} ms | {r['max_ms']:.1f} ms | "
                f"{'—' if requests is None else f'{requests:,}'} | {errors if requests is not None else '—'} |"
            )
    return lines


def commands(results):
    seen, lines = set(), []
    for (figure, side), records in results.by.items():
        for r in records:
            command = r.get("cmd")
            if command and (figure, side) not in seen:
                seen.add((figure, side))
                env = f"BENCH_MODE={r['mode']} " if "mode" in r else ""
                # Files under the repo (the TLS figure's CA) are shown relative to it.
                command = command.replace(os.getcwd() + os.sep, "")
                lines.append(f"- {figure}, {side}: `{env}{command}`")
    return lines


def problems(results):
    found = []
    for (figure, side), records in results.by.items():
        for r in records:
            if "requests" in r:
                errors = {k: r[k] for k in ("errors_connect", "errors_read", "errors_write",
                                            "errors_status", "errors_timeout") if r.get(k)}
                if r["requests"] == 0 or errors:
                    found.append(f"{figure} {side} #{r['rep']}: {r['requests']} requests, errors {errors}")
            elif "rps" in r and not r["rps"]:
                found.append(f"{figure} {side} #{r['rep']}: no requests")
    return found


SECTION_NAMES = {1: "type", 2: "import", 3: "function", 4: "table", 5: "memory", 6: "global",
                 7: "export", 8: "start", 9: "element", 10: "code", 11: "data", 12: "data count"}


def wasm_sections(path):
    """Sizes of the sections of a wasm module, largest first: [(name, bytes)]."""
    def leb128(data, at):
        value = shift = 0
        while True:
            byte = data[at]
            at += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value, at

    with open(path, "rb") as module:
        data = module.read()
    if data[:4] != b"\0asm":
        return []
    sizes = defaultdict(int)
    at = 8
    while at < len(data):
        section_id = data[at]
        size, body = leb128(data, at + 1)
        name = SECTION_NAMES.get(section_id, f"id {section_id}")
        if section_id == 0:
            length, start = leb128(data, body)
            name = "custom " + data[start:start + length].decode(errors="replace")
        sizes[name] += body + size - at
        at = body + size
    return sorted(sizes.items(), key=lambda item: -item[1])


def shown_path(path):
    """A path as the report may show it: relative to the repo, or to the target dir;
    never this machine's absolute paths."""
    path = os.path.abspath(path)
    target = os.environ.get("CARGO_TARGET_DIR")
    if target and path.startswith(os.path.abspath(target) + os.sep):
        return "$CARGO_TARGET_DIR/" + os.path.relpath(path, target)
    if path.startswith(os.getcwd() + os.sep):
        return os.path.relpath(path)
    return os.path.basename(path)


def built_at(path):
    try:
        return datetime.datetime.fromtimestamp(os.path.getmtime(path), datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    except OSError:
        return "unknown"


def machine():
    model = "unknown CPU"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as info:
        kib = int(next(l for l in info if l.startswith("MemTotal")).split()[1])
    return f"{os.cpu_count()} CPUs ({model}), {kib / 1048576:.1f} GiB RAM, Linux {platform.release()}"


SERIAL_FIGURES = ("list_small", "list_large", "search")  # one connection, requests back to back

# Experiments behind design decisions, written by hand with their own method.
DECISIONS = [
    "**One multiplexed connection vs. a pool** (2026-11-25, 10,000 customers, Sentinel "
    "topology, `wrk -t1 -c32 -d6s`, 3 rounds, medians; the experiment round-robined "
    "requests over K multiplexed connections to the master):",
    "",
    "| connections | `GET /get/{id}` req/s | p99 | `POST /set` req/s | p99 |",
    "|---|---|---|---|---|",
    "| 1 (kept) | 49,955 | 1.38-1.80 ms | 28,456 | 1.93-2.27 ms |",
    "| 2 | 39,008 | 2.17-2.57 ms | 24,043 | 2.40-2.78 ms |",
    "| 4 | 44,214 | 2.66-2.85 ms | 25,590 | 2.42-2.59 ms |",
    "",
    "One connection won by 13% (GET) and 11% (SET) over the best pool: on 2 cores the "
    "server is CPU-bound, and one connection pipelines more commands per read and write "
    "system call. With `REDIS_MIN_REPLICAS_ACK` ≥ 1, writes get a second connection so "
    "that `WAIT` never holds up reads.",
    "",
    "**Allocator**: callgrind over 300 page renders showed malloc/free at ~45% of the "
    "server's instructions. With mimalloc as the global allocator (same day, file store "
    "with 100,000 customers, `wrk -t1 -c32 -d5s`, 3 rounds): UI page 5,550 → 7,231 req/s "
    "(+30%), `GET /get` 70,831 → 73,312 req/s (+4%), RSS unchanged (45-48 MB).",
    "",
    "**Multi-key reads**: pages (in any sort order), whole listings (`GET /`) and searches "
    "read the server's in-memory index, caught up from the change stream in one `EVAL` "
    "(pages were one `EVAL` of IDs, records and count until natural ID order and name "
    "sorting needed orders Redis does not keep): `GET /` of 100,000 went from "
    "149 ms (pages of 1,000 by `EVAL`, decoded and re-encoded) to about 44 ms, and search "
    "from 153 ms (a full `HSCAN` pass per request) to about 16 ms.",
    "",
    "**Per-row work in the UI page**: a page's server CPU was a fixed part (the shell, "
    "router, meta tags and headers: about 140 µs, measured on `/new`) and about 9.5 µs "
    "per row. Two changes cut the rows' share. 43ca8c2 looks up the router's hooks once "
    "per page instead of once per row: 301 → 281 µs of server CPU per page of 26 rows. "
    "7b02776 builds the rows as plain HTML with one escaping function (`app/src/html.rs`), "
    "and the table handles their boxes and Delete links for the whole body: 353 → 276 µs, "
    "throughput 5,114 → 6,424 req/s (file store 317 → 248 µs). Each pair is old and new "
    "binaries alternated on one Sentinel topology with 100,000 customers, `wrk -t1 -c32` "
    "page mode, medians of 3; the two pairs ran in different hours.",
    "",
    "**Per-request work in `GET /get/{id}`** (56a6cf3): a heap profile (valgrind dhat, "
    "system allocator) counted about 45 allocations per request and a CPU profile showed "
    "them, with contended locks and reference counts, as the largest share of the "
    "server's own time after the kernel. Cut: the Sentinel tracker hands out "
    "`Arc<Master>` (it cloned an address string and two connections per operation); "
    "request metrics find their handles in one table per route (three lookups under "
    "locks and two handle clones before); the JSON answer sizes its header map once; "
    "request IDs share one buffer; IDs already in NFC are borrowed; connections watch a "
    "child of the shutdown token (all of them polled one shared token's lock). Against "
    "the previous build, alternated on one topology (`wrk -t1 -c32 -d8s`, 3 rounds): "
    "server CPU per request about 15.7 → 14.7 µs (medians), throughput about +6%.",
    "",
    "**Ratios to raw Redis depend on the CPU**: earlier runs were on AMD EPYC machines "
    "(a2a439b, 2dd39bd, 870b407, 2df51f3, 46c83b8), where raw `redis-benchmark -t get` "
    "gave 76-93 k req/s and this server 34-50 k (figure 1: 44-59%). This file's run is on "
    "an Intel Xeon, where raw gives 130-165 k req/s and this server about 60 k: Redis gains "
    "far more on this CPU, so every ratio to raw GET or SET is lower here "
    "(figure 1: 37-40%). The section \"Cost of the edge layers\" compares two builds in the "
    "same run instead (`scripts/bench/layers_ab.sh`).",
    "",
    "**mimalloc without transparent huge pages** (6c982ea, the `no_thp` feature): a "
    "profile of `customer-records import` showed half of its CPU in the kernel zeroing "
    "pages (`clear_page_erms`): mimalloc asked for huge pages, which the kernel zeroed "
    "2 MB at a time, over and over. Without them, importing 300,000 customers took 0.15 s "
    "of the importer's system time instead of 0.9 s, and the import ran at 54-55 k "
    "customers/s instead of 46-49 k. The server gained too: `GET /get/{id}` alternated "
    "on one topology (`wrk -t1 -c32 -d8s`, 3 rounds) gave 59.9, 67.9 and 60.6 k req/s "
    "against 57.2, 61.0 and 60.2 k, with 69-70 MB of RSS against 77-80 MB.",
    "",
    "**No sorted set of IDs** (6c982ea): since the server pages from its in-memory orders, "
    "`{prefix}ids` served only the count (now `HLEN` of the records) and cost a skip-list "
    "insertion per write on the master and each replica. Without it, 300,000 customers "
    "imported in 4.5-4.6 s instead of 5.3-5.4 s (alternated), 1,000,000 at 59 k/s "
    "instead of 47-51 k/s, and the master holds 1,000,000 customers in 505 MB instead of "
    "618 MB. Keeping the per-customer audit history indexes in one hash instead of a "
    "string each was measured too and saved nothing.",
    "",
    "**`GET /get/{id}` sends the record as stored** (fcb5bca): Redis holds each customer "
    "as the JSON the answer carries, so the server checks it is a customer (a parse that "
    "borrows, allocating nothing) and sends it, instead of decoding it into a `Customer` "
    "and encoding it again. Alternated with the build before on one topology "
    "(`wrk -t1 -c32 -d8s`, 4 rounds): 76.9, 73.3, 67.8 and 69.8 k req/s against 69.9, "
    "70.6, 66.4 and 65.7 k, server CPU per request 12.8-15.1 µs against 14.4-15.3 µs.",
]

# What profiling and experiments found for a figure, written by hand (the rest of
# the report is measured). Shown under the figure when its target is missed.
FINDINGS = {
    "page": (
        "Server-side rendering is the bound, not the store: at c=32 the server uses about "
        "150% CPU while the Redis master uses about 11%, and the file store serves the "
        "same page at the same rate. callgrind over 300 renders: about 1 M instructions "
        "per page, of which malloc/free are ~45%; the rest is spread over Leptos's "
        "reactive owner, router and HTML escaping, none above 2%. Switching the server "
        "to mimalloc took the page from 5,550 to 7,231 req/s (median of 3, file store)."
    ),
    "ttw": (
        "Typed key by key, the answer waits for the search's 150 ms pause after the last "
        "key, which the UI issue asks for (one request per pause, not per key); the keys "
        "here come all at once, a typist's best case. The same search put in at once "
        "(pasted, autofilled) is answered without the pause (the row above). Where the "
        "time goes (Chromium traces, December 2026): the HTML is in at about 200 ms; the "
        "main thread then commits the navigation, parses, and styles, lays out and paints "
        "(125-200 ms, of which the 25 rows take about 100 ms), first paint at 500-570 ms; "
        "the list's early search (`app/src/routes/early_search.js`) then fetches the "
        "server's page for the search (about 4.5 KB gzip, one 150 ms round trip, sharing "
        "the link with the module), about 200 ms, and puts its list in place. Tried, not "
        "kept: the stylesheet inline (paint 30-50 ms sooner, working the same: paint is "
        "bound by the main thread, not the stylesheet's round trip); brotli for pages (the "
        "same size as gzip); a `Link: rel=preload` header (DevTools' emulation hands the "
        "headers over with the body)."
    ),
    "wasm": (
        "Steps measured at this build's profile (wasm-bindgen, `wasm-opt -Oz`, gzip -9): "
        "whole-page hydration 608 KB; islands (the list, the customer form, the theme "
        "switch, the import's progress, the live status, Escape on the delete pages) "
        "363 KB; the list starting from the page rendered with it rather than a resource, "
        "and its Undo without `ActionForm`, 355 KB; Unicode's Cf category as 21 ranges "
        "instead of the general-category tables 337 KB; the customer form sending itself "
        "without `ActionForm` 303 KB; island roots not type-erased 281 KB; `Either` "
        "instead of `into_any()` inside islands 256 KB; island props decoded through the "
        "same JSON reader as server functions' answers (`IslandProp`: one decoder per "
        "type instead of two) 248 KB; every island but the list's and the theme "
        "switch's lazy (`#[island(lazy)]`, `cargo leptos build --split`), so the module "
        "every page loads is 188 KB and the other islands' code comes in chunks (81 KB "
        "in all) only on the pages that show them: the form's 39 KB, the live status's "
        "23 KB, the import progress's 14 KB, Escape's 2 KB, and 3 KB shared. (An earlier "
        "try made every island lazy: the list page then had to load its own chunk after "
        "the module, 344 KB in all.) On the wire browsers get brotli written once at "
        "build time (`--precompress`, quality 11), a fifth less than gzip -9; brotli on "
        "the fly at level 6 had saved only a tenth and was not kept. What remained before "
        "the split, by crate (function bodies after "
        "`wasm-opt -Oz`, read from a build keeping names): tachys 112 KB, core 68 KB "
        "(mostly closures of the app's views inlined into it), this app 62 KB, "
        "reactive_graph 59 KB, serde_json 56 KB (a deserialiser for each type an island "
        "receives or a server function returns), wasm_bindgen 29 KB, alloc 19 KB, and "
        "14 KB for formatting an f64, which serde's error messages reach. Then the list "
        "and the theme switch took no props and started from postcard carried in the page "
        "(`app/src/island_start.rs`), the list's server functions answered in postcard, "
        "and its selection became a `Vec` rather than a `BTreeSet`: the module every page "
        "loads reads no JSON and is 144 KB (the JSON reader went to the lazy islands' "
        "chunks)."
    ),
}


def bounds(results, missed, close):
    def cpu_of(figure, side, name):
        values = [r["cpu_pct"][name] for r in results.by[(figure, side)] if name in r.get("cpu_pct", {})]
        return statistics.median(values) if values else None

    lines = []
    if not missed:
        lines.append("Every target was met in this run.")
    for label, figure, ours, raw, ratio_text, (op, threshold, target), unit in missed:
        lines.append(f"- **{label}**: {fmt(ours, unit)} against a target of {target}.")
        facts = []
        if raw is not None:
            facts.append(f"Raw Redis: {fmt(raw, unit)} ({RAW_NOTES.get(figure, 'baseline')}); ours is {ratio_text} that.")
        server, redis_ours, redis_raw = (cpu_of(figure, "ours", "server"),
                                         cpu_of(figure, "ours", "redis"),
                                         cpu_of(figure, "raw", "redis"))
        if server is not None and figure in SERIAL_FIGURES and ours:
            facts.append(
                f"At one connection requests run back to back, so CPU share × p50 estimates where "
                f"a request's time goes: about {server / 100 * ours:.0f} ms of server CPU ({server:.0f}%) "
                f"and {(redis_ours or 0) / 100 * ours:.0f} ms of Redis CPU ({redis_ours or 0:.0f}%), "
                f"which add up to {server + (redis_ours or 0):.0f}% of one core: the two take turns "
                "(one round trip at a time) rather than overlap."
            )
        elif server is not None:
            facts.append(
                f"CPU during our runs: server {server:.0f}%, Redis master {redis_ours or 0:.0f}% "
                "(200% = both cores; the load generator takes the rest)."
            )
        if raw is not None and unit == "ms" and op == "<=" and raw > threshold:
            facts.append(
                f"Raw Redis alone takes {fmt(raw, unit)} for {RAW_NOTES.get(figure, 'the baseline')}, "
                "more than the target: while every such request reads every record from Redis, "
                "faster server code cannot meet it."
            )
        for key in ("rps", "p50_ms"):
            file_value = results.aggregate(f"file_{figure}", "ours", key)
            if file_value is not None and unit == ("req/s" if key == "rps" else "ms") and ours:
                meets = compare(file_value, op, threshold)
                verb = "serves the same request at" if key == "rps" else "answers the same request in"
                fact = (f"The file store {verb} {fmt(file_value, unit)} "
                        f"(target {'met' if meets else 'missed'} there)")
                faster = file_value / ours if key == "rps" else ours / file_value
                if faster >= 1.5:
                    fact += f", {faster:.1f}× better: the gap is in the Redis store's path, not in HTTP or rendering."
                elif faster < 1.2:
                    fact += ", about the same as on Redis: the store is not what bounds it."
                else:
                    fact += "."
                facts.append(fact)
        if figure == "wasm" and setting("WASM") and os.path.exists(setting("WASM")):
            sections = wasm_sections(setting("WASM"))
            total = sum(size for _, size in sections) or 1
            custom = sum(size for name, size in sections if name.startswith("custom"))
            top = ", ".join(f"{n} {b / 1000:,.1f} KB ({100 * b / total:.0f}%)" for n, b in sections[:3])
            facts.append(
                f"Largest sections (raw): {top}; custom sections (names, debug info, producers) "
                f"{custom / 1000:,.1f} KB, so the module is already stripped and its size is code."
            )
        lines += [f"  - {fact}" for fact in facts]
        if figure in FINDINGS:
            lines.append(f"  - Findings: {FINDINGS[figure]}")
    if close:
        lines += ["", "Met, but with less than 10% headroom (may flip on a busier machine):"]
        lines += [f"- {label}: {shown} against {target}." for label, shown, target in close]
    return lines



def partition_section(path):
    """The network-partition tables of RELIABILITY.md (scripts/partition-matrix.sh
    measures them, not this benchmark), so that every figure is here too."""
    try:
        text = open(path).read()
    except OSError:
        return []
    out = ["### Network partitions (from `RELIABILITY.md`, measured by `scripts/partition-matrix.sh`)", ""]
    marked = r"<!-- partition-matrix-(\d+):start -->\n(.*?)<!-- partition-matrix-\1:end -->"
    for _, table in re.findall(marked, text, re.S):
        if table.strip():
            out += [table.strip(), ""]
    out.append("What each case means for an operator: `RELIABILITY.md`.")
    return out

def kept_sections(path):
    """Sections other scripts write into the same file (`scripts/bench/layers_ab.sh`,
    `scripts/bench/million.sh`, `scripts/bench/lighthouse.sh`, `scripts/bench/ui_import.sh`),
    carried over as they were."""
    try:
        text = open(path).read()
    except FileNotFoundError:
        return []
    kept = []
    for name in ("layers", "million", "lighthouse", "ui-import"):
        found = re.search(rf"<!-- {name}:start -->.*?<!-- {name}:end -->", text, re.S)
        if found:
            kept += [found.group(0), ""]
    return kept


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    results = Results(load(argv[0]))
    table_lines, missed, close = table(results)
    imports = {r["figure"]: r for r in results.by[("import_small", "ours")] + results.by[("import_large", "ours")]}
    found = problems(results)

    out = []
    title = "# Benchmarks" if not QUICK else "# Benchmarks (quick smoke run — tiny N, not comparable to the targets)"
    out += [title, ""]
    out += [
        f"Produced by `{setting('COMMAND', 'scripts/bench.sh')}` on {setting('DATE')} "
        f"(commit {setting('GIT', 'unknown')}). Re-run it to refresh this file; it is "
        "generated, edits to the tables are lost.",
        "",
        f"- **Machine**: {machine()}.",
        f"- **Load average** (1/5/15 min) at the start: {setting('LOAD_START')}; at the end: "
        f"{setting('LOAD_END')}. {setting('BUSY_NOTE')}",
        f"- **Concurrency**: {CONC} connections for the throughput figures (1, 2, 4) and for "
        f"raw `redis-benchmark -c {CONC}`; 1 connection for the latency of the big requests "
        "(3, 5). One load-generator thread (`wrk -t1`; `redis-benchmark` is single-threaded) "
        "on the same 2 cores as the server and Redis.",
        f"- **Data**: {thousands(N_SMALL)} and {thousands(N_LARGE)} synthetic customers "
        "(`scripts/bench/gen_customers.py`), loaded with the server's own `import` "
        f"subcommand into a Sentinel topology (master, 2 replicas, 3 sentinels, "
        f"down-after-milliseconds {DOWN_AFTER_MS}) on loopback. Raw Redis runs go to the same master.",
        f"- **Repetitions**: {setting('REPS')} per figure, runs of {setting('TPUT_S')} s (throughput) "
        f"and {setting('LAT_S')} s (latency); {setting('COLD_REPS')} cold starts; "
        f"{setting('FAILOVER_REPS')} failovers, each on a fresh topology. Figures are medians; "
        "each ratio is the median of the per-repetition ratios ours/raw (both sides of a "
        "repetition run back to back), so it need not equal the ratio of the two medians.",
        "- **Units**: KB = 1,000 bytes, MB = 1,000,000 bytes. Throughput ratios are "
        "ours/raw in %; latency, size and time ratios are ours/raw as a factor (× raw).",
        "",
        "## Results",
        "",
    ]
    out += table_lines
    out += ["", "Loading the data through `customer-records import`:"]
    for figure in ("import_small", "import_large"):
        r = imports.get(figure)
        if r:
            rate = r["customers"] / (r["ms"] / 1000) if r["ms"] else 0
            out.append(f"- {int(r['customers']):,} customers: {r['ms'] / 1000:.2f} s, "
                       f"including the process start ({rate:,.0f} customers/s)")
    if found:
        out += ["", "## Problems in this run", ""] + [f"- {p}" for p in found]
    out += ["", "## What bounds each missed figure", ""]
    out += bounds(results, missed, close)
    out += ["", "## Design decisions measured", ""] + DECISIONS
    out += ["", "## Details", "", "### Who was busy (CPU during the runs, medians; 100% = one core)", ""]
    out += cpu_table(results)
    wasm = setting("WASM")
    if wasm and os.path.exists(wasm):
        parts = ", ".join(f"{name} {size / 1000:,.1f} KB" for name, size in wasm_sections(wasm))
        out += ["", "### Builds measured", "",
                f"- server `{shown_path(setting('SERVER_BIN'))}`, built {built_at(setting('SERVER_BIN'))}",
                f"- wasm `{shown_path(wasm)}`, built {built_at(wasm)}; its sections (raw bytes): {parts}"]
    out += ["", "### Sentinel store against the file store (one repetition on the file store)", ""]
    out += file_store_table(results)
    out += ["", "### Failovers", ""]
    out += failover_table(results)
    out += [
        "",
        "Stall: the longest time in which no write completed, from the moment every writer "
        "had its first answer to the end of the stream. Errors: writes answered with anything "
        "but 200, or not at all. Lost: acknowledged writes that `GET /get/{id}` no longer "
        "finds afterwards, checked for those acknowledged from 2 s before the kill until "
        "0.5 s after the writes resumed (the only ones a failover can lose). Replicas behind: "
        "how far each replica's processed replication offset (its own `INFO`) trailed the "
        "master's just before the kill. "
        "With `REDIS_MIN_REPLICAS_ACK=0` a write is acknowledged once the master has it, so "
        "what the promoted replica had not received is lost; on 2 shared cores the replicas "
        "can fall seconds behind an unpaced writer. With `1`, a write is acknowledged only "
        "after `WAIT 1`, so a replica holds it before the client hears success.",
        "",
    ] + partition_section("RELIABILITY.md") + [
        "",
        "### Redis settings (figure 11)",
        "",
        "`REDIS_MIN_REPLICAS_ACK=1` and the default `REDIS_REQUEST_DEADLINE_MS` (10 s) "
        "throughout; `failover` is a planned `SENTINEL FAILOVER`, `kill` a master SIGKILL. "
        "Redis's own defaults are `down-after-milliseconds 30000` and "
        "`repl-diskless-sync-delay 5`; the other figures use 2000 and 0.",
        "",
    ] + ops_table(results) + [
        "",
        "### Every run",
        "",
    ]
    out += runs_table(results)
    out += ["", "### Commands", "", "The load generators, as run (first repetition):", ""]
    out += commands(results)
    out += [
        "",
        "Everything else: `scripts/redis-topology.sh start` (BASE_PORT "
        f"{setting('BASE_PORT')}), `customer-records import FILE`, the release server from "
        "`cargo leptos build --release --precompress --split`, `scripts/bench/coldstart.py` (spawn to first 200, "
        "polling every 0.5 ms), `scripts/bench/failover.py` (4 writer threads, SIGKILL of the "
        f"master after {setting('FAILOVER_BEFORE_S')} s), `/proc/PID/status` for RSS, `gzip -9` for the wasm.",
        "",
    ]
    out += kept_sections(argv[1])
    with open(argv[1], "w") as output:
        output.write("\n".join(out))
    if found:
        print("report: load runs had errors:\n  " + "\n  ".join(found), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
