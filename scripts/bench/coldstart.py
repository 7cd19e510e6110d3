#!/usr/bin/env python3
"""Cold start for scripts/bench.sh: spawns a server REPS times and measures the time
from spawning it to its first good answer, polling about every half millisecond.

  coldstart.py RESULTS FIGURE SIDE REPS PORT http PATH -- COMMAND...
  coldstart.py RESULTS FIGURE SIDE REPS PORT redis -   -- COMMAND...

`http` waits for a 200 to `GET PATH`; `redis` waits for +PONG to an inline PING.
Each spawn is stopped (SIGTERM, then SIGKILL) before the next. With BENCH_PREPARE
set, that shell command runs (untimed) before each spawn, e.g. to lay out files. One JSON line per
spawn is appended to RESULTS with `start_ms`.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time

GIVE_UP_S = 30


def answered(port, protocol, path):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
            if protocol == "http":
                conn.sendall(
                    f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
                )
                return conn.recv(64).startswith(b"HTTP/1.1 200")
            conn.sendall(b"PING\r\n")
            return conn.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def stop(process):
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def main(argv):
    if len(argv) < 9 or argv[7] != "--":
        sys.exit(__doc__)
    results, figure, side, reps, port, protocol, path = argv[:7]
    command = argv[8:]
    reps, port = int(reps), int(port)
    if answered(port, protocol, path):
        sys.exit(f"coldstart: something already answers on port {port}")
    prepare = os.environ.get("BENCH_PREPARE")
    for rep in range(1, reps + 1):
        if prepare:
            subprocess.run(prepare, shell=True, check=True)
        start = time.monotonic()
        log = tempfile.TemporaryFile()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            while not answered(port, protocol, path):
                if process.poll() is not None or time.monotonic() - start > GIVE_UP_S:
                    log.seek(0)
                    sys.stderr.write(log.read().decode(errors="replace")[-2000:])
                    sys.exit(f"coldstart: {command[0]} gave no good answer on port {port}")
                time.sleep(0.0005)
            elapsed_ms = (time.monotonic() - start) * 1000
        finally:
            stop(process)
            log.close()
        record = {"figure": figure, "side": side, "rep": rep, "start_ms": round(elapsed_ms, 2)}
        with open(results, "a") as out:
            out.write(json.dumps(record) + "\n")
        print(f"[bench]   {figure} {side} #{rep}: {elapsed_ms:.1f} ms", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
