#!/usr/bin/env python3
"""Failover figure for scripts/bench.sh: a steady stream of `POST /set` from a few
threads while the Redis master is killed with SIGKILL; measures how long writes
stalled and how many failed.

  failover.py RESULTS REP APP_PORT MASTER_PID SENTINEL_PORTS [--before S] [--threads T]
              [--figure NAME] [--master-port PORT --replica-ports P,P --password PW]
              [--disruption kill|failover] [--label TEXT] [--give-up S]

SENTINEL_PORTS is a comma-separated list. NAME labels the records (one per server
setting measured, e.g. `failover` and `failover_acked`). With --master-port, the
replicas' replication lag behind the master (bytes) is sampled just before the kill:
with `REDIS_MIN_REPLICAS_ACK=0` it bounds what the kill can lose. With
`--disruption failover` the master is not killed: the first sentinel is sent
`SENTINEL FAILOVER` instead (a planned switch). TEXT is stored with the records.

Each thread sends one write at a time over a keep-alive connection with distinct
IDs and records when each write started and finished and whether it got a 200.
The master is killed after `--before` seconds; the stream stops 2 s after a write
issued after the kill has succeeded, or 30 s after the kill at the latest.

Figures, appended to RESULTS as JSON lines:
- ours: stall_ms, the longest time in which no write completed; errors, the writes
  that did not get a 200 (or got no answer); resume_ms, from the kill to the first
  success of a write sent after it; max_latency_ms, the slowest single write; lost,
  acknowledged writes that cannot be read back afterwards (checked: those acknowledged
  from 2 s before the kill until 0.5 s after the writes resumed, the only ones a
  failover can lose).
- raw: switch_ms, from the kill to the first +switch-master event of any sentinel,
  the time Redis Sentinel itself needs, which bounds how soon a client that follows
  the sentinels can write again.
"""

import argparse
import http.client
import json
import os
import signal
import socket
import sys
import threading
import time

AFTER_RESUME_S = 2.0
GIVE_UP_S = 30.0
REQUEST_TIMEOUT_S = 15.0


class Writer(threading.Thread):
    def __init__(self, port, rep, index, stop):
        super().__init__(daemon=True)
        self.port, self.rep, self.index, self.stop = port, rep, index, stop
        self.events = []  # (start, end, ok, id, detail)

    def run(self):
        conn = None
        seq = 0
        while not self.stop.is_set():
            seq += 1
            cid = f"failover-{self.rep}-{self.index}-{seq}"
            body = json.dumps({"customerID": cid, "firstName": "Fail", "lastName": "Over"})
            start = time.monotonic()
            ok, detail = False, ""
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT_S)
                conn.request("POST", "/set", body, {"Content-Type": "application/json"})
                response = conn.getresponse()
                text = response.read()
                ok = response.status == 200
                if not ok:
                    detail = f"{response.status} {text[:120]!r}"
            except (OSError, http.client.HTTPException) as error:
                detail = f"{type(error).__name__}: {error}"
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.01)  # a refused connection must not spin
            self.events.append((start, time.monotonic(), ok, cid, detail))
        if conn is not None:
            conn.close()


class SwitchWatcher(threading.Thread):
    """Subscribes to a sentinel's +switch-master channel; notes when the event comes."""

    def __init__(self, port, timeout):
        super().__init__(daemon=True)
        self.port, self.timeout = port, timeout
        self.switched_at = None
        self.ready = threading.Event()

    def run(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout) as conn:
                conn.sendall(b"SUBSCRIBE +switch-master\r\n")
                buffer = b""
                while self.switched_at is None:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    buffer += chunk
                    if b"\r\nsubscribe\r\n" in buffer:
                        self.ready.set()
                    if b"\r\nmessage\r\n" in buffer:
                        self.switched_at = time.monotonic()
        except OSError:
            pass
        finally:
            self.ready.set()


def info_replication(port, password):
    """The fields of a node's `INFO replication`."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
        def command(*words):
            conn.sendall(f"*{len(words)}\r\n".encode() + b"".join(
                f"${len(w.encode())}\r\n{w}\r\n".encode() for w in words))
        if password:
            command("AUTH", password)
        command("INFO", "replication")
        reply = b""
        while b"master_repl_offset:" not in reply or not reply.endswith(b"\r\n\r\n"):
            chunk = conn.recv(65536)
            if not chunk:
                break
            reply += chunk
    return dict(line.split(":", 1) for line in reply.decode(errors="replace").splitlines()
                if ":" in line)


def replica_lag_bytes(master_port, replica_ports, password):
    """Bytes of the replication stream each replica has not processed yet, read
    from the replicas themselves (the master's view is only as fresh as their
    once-a-second acknowledgements)."""
    replicas = [int(info_replication(port, password).get("slave_repl_offset", 0))
                for port in replica_ports]
    master = int(info_replication(master_port, password).get("master_repl_offset", 0))
    return sorted(max(master - offset, 0) for offset in replicas)


def read_back_missing(port, ids):
    """IDs among `ids` that GET /get/{id} does not find."""
    missing = []
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
    for cid in ids:
        conn.request("GET", f"/get/{cid}")
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            missing.append(cid)
    conn.close()
    return missing


def longest_gap(times, start, end):
    """The longest interval in [start, end] containing none of the sorted `times`."""
    points = [start] + [t for t in times if start <= t <= end] + [end]
    gaps = [(b - a, a) for a, b in zip(points, points[1:])]
    return max(gaps) if gaps else (0.0, start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("rep", type=int)
    parser.add_argument("app_port", type=int)
    parser.add_argument("master_pid", type=int)
    parser.add_argument("sentinel_ports")
    parser.add_argument("--before", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--figure", default="failover")
    parser.add_argument("--master-port", type=int)
    parser.add_argument("--replica-ports", default="")
    parser.add_argument("--password", default="")
    parser.add_argument("--disruption", choices=("kill", "failover"), default="kill")
    parser.add_argument("--label", default="")
    parser.add_argument("--give-up", type=float, default=GIVE_UP_S)
    args = parser.parse_args()

    watchers = [SwitchWatcher(int(port), args.give_up + 10) for port in args.sentinel_ports.split(",")]
    for watcher in watchers:
        watcher.start()
    for watcher in watchers:
        watcher.ready.wait(5)
    stop = threading.Event()
    writers = [Writer(args.app_port, args.rep, i, stop) for i in range(args.threads)]
    began = time.monotonic()
    for writer in writers:
        writer.start()
    time.sleep(args.before)

    lags = None
    if args.master_port:
        try:
            replica_ports = [int(p) for p in args.replica_ports.split(",") if p]
            lags = replica_lag_bytes(args.master_port, replica_ports, args.password)
        except OSError as error:
            print(f"[bench]   failover #{args.rep}: replica lag not sampled: {error}", file=sys.stderr)
    killed_at = time.monotonic()
    if args.disruption == "kill":
        os.kill(args.master_pid, signal.SIGKILL)
        print(f"[bench]   {args.figure} #{args.rep}: killed master pid {args.master_pid}", file=sys.stderr)
    else:
        first_sentinel = int(args.sentinel_ports.split(",")[0])
        with socket.create_connection(("127.0.0.1", first_sentinel), timeout=5) as conn:
            conn.sendall(b"SENTINEL FAILOVER mymaster\r\n")
            reply = conn.recv(256)
        print(f"[bench]   {args.figure} #{args.rep}: SENTINEL FAILOVER: {reply.strip()!r}", file=sys.stderr)
    resumed_at = None
    while time.monotonic() - killed_at < args.give_up:
        if resumed_at is None:
            # Scan a snapshot of each list; appends from the writer threads are safe.
            done = [e for w in writers for e in list(w.events) if e[2] and e[0] >= killed_at]
            if done:
                resumed_at = min(e[1] for e in done)
        if resumed_at is not None and time.monotonic() - resumed_at >= AFTER_RESUME_S:
            break
        time.sleep(0.05)
    stop.set()
    for writer in writers:
        writer.join(REQUEST_TIMEOUT_S + 5)
    ended = time.monotonic()

    events = sorted((e for w in writers for e in w.events), key=lambda e: e[1])
    successes = [e[1] for e in events if e[2]]
    failures = [e for e in events if not e[2]]
    # Steady state starts once every thread has had one answer; the stream ends at `ended`.
    steady_from = max(
        (min((e[1] for e in w.events), default=began) for w in writers), default=began
    )
    stall, stall_from = longest_gap(successes, steady_from, ended)
    slowest = max((e[1] - e[0] for e in events), default=0.0)
    # Only writes acknowledged shortly before the kill can be lost (not yet replicated);
    # the ones after the switch went to the new master.
    check_until = (resumed_at or ended) + 0.5
    recent = [e[3] for e in events if e[2] and killed_at - 2.0 <= e[1] <= check_until]
    missing = read_back_missing(args.app_port, recent) if resumed_at is not None else recent

    ms = lambda seconds: round(seconds * 1000, 1)  # noqa: E731
    ours = {
        "figure": args.figure, "side": "ours", "rep": args.rep,
        "stall_ms": ms(stall), "stall_from_kill_ms": ms(stall_from - killed_at),
        "errors": len(failures), "writes": len(events), "acked": len(successes),
        "resume_ms": ms(resumed_at - killed_at) if resumed_at is not None else None,
        "max_latency_ms": ms(slowest),
        "checked": len(recent), "lost": len(missing),
        "error_samples": sorted({e[4] for e in failures})[:5],
        "replica_lag_bytes": lags,
        "disruption": args.disruption, "label": args.label,
    }
    switched = [w.switched_at for w in watchers if w.switched_at is not None]
    raw = {
        "figure": args.figure, "side": "raw", "rep": args.rep,
        "switch_ms": ms(min(switched) - killed_at) if switched else None,
        "last_switch_ms": ms(max(switched) - killed_at) if switched else None,
    }
    with open(args.results, "a") as out:
        out.write(json.dumps(ours) + "\n")
        out.write(json.dumps(raw) + "\n")
    print(
        f"[bench]   {args.figure} #{args.rep}: stall {ours['stall_ms']} ms, errors {ours['errors']}, "
        f"resumed after {ours['resume_ms']} ms, sentinel switch after {raw['switch_ms']} ms, "
        f"{ours['acked']} writes acknowledged, {ours['lost']} of {ours['checked']} checked lost",
        file=sys.stderr,
    )
    if resumed_at is None:
        sys.exit(f"failover: writes did not resume within {args.give_up:.0f} s of the {args.disruption}")


if __name__ == "__main__":
    main()
