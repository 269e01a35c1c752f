#!/usr/bin/python3
"""Celery round trips per second through redge and through redis-server, same worker,
same machine.

    tools/bench/celery_roundtrip.py                  # 8 threads, 10 s per server
    tools/bench/celery_roundtrip.py --duration 30 --repeat 3
    tools/bench/celery_roundtrip.py --only redis     # validate the harness alone

For each server (a fresh redis-server with `--save '' --appendonly yes --appendfsync
everysec`, and a fresh `build/redge --fsync everysec`, both on loopback ports chosen at
start), it starts the same Celery worker

    /usr/bin/python3 -m celery -A rtapp worker --pool prefork --concurrency C

on broker and backend redis://127.0.0.1:PORT/0 with a one-task app (`add(x, y)`),
waits for it to log `ready.`, then runs T producer threads that each loop
`app.send_task("rtapp.add", (x, y)).get()` (what `add.delay(x, y).get()` sends, from a
process that does not import the task module) for a warm-up and then for the measured
duration. It prints the round trips per second and the round-trip latency (p50, p99)
of each server and the ratio redge/redis. A server that fails (redge without a command
Celery needs: the worker stops on `ERR unknown command`, or a producer call raises) is
reported with its error instead of a rate; the script goes on and exits 1 only when
nothing could be measured. Debian packages only: python3-celery, python3-redis, redis-server.
"""

import argparse
import gc
import os
import pathlib
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import redis

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
APP = '''
import os
from celery import Celery
URL = os.environ["RT_URL"]
app = Celery("rtapp", broker=URL, backend=URL)
app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"])

@app.task
def add(x, y):
    return x + y
'''
UNKNOWN_RE = re.compile(r"unknown command '([^']*)'")


class BenchError(Exception):
    """A server could not be measured; the message says why."""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(cond, timeout, what, proc=None, log=None):
    deadline = time.monotonic() + timeout
    while not cond():
        if proc is not None and proc.poll() is not None:
            raise BenchError(f"{what}: the process exited (code {proc.returncode})"
                             + first_error(log))
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout}s waiting for {what}" + first_error(log))
        time.sleep(0.05)


def first_error(log):
    """The commands a log says the server refused as unknown (else its last line)."""
    if log is None:
        return ""
    path = pathlib.Path(log)
    text = path.read_text(errors="replace") if path.exists() else ""
    unknown = list(dict.fromkeys(m.group(1) for m in UNKNOWN_RE.finditer(text)))
    if unknown:
        return f"; unknown commands in the log: {', '.join(unknown)}"
    lines = [line for line in text.splitlines() if line.strip()]
    return f"; last log line: {lines[-1][:200]}" if lines else ""


class Server:
    """A started server process: name, port, its log and how to stop it."""

    def __init__(self, name, proc, port, log):
        self.name, self.proc, self.port, self.log = name, proc, port, log

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_redis(binary, workdir):
    for _ in range(5):
        port = free_port()
        log = workdir / "redis.log"
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "everysec", "--dir", str(workdir),
             "--daemonize", "no"],
            stdout=open(log, "ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        server = Server("redis", proc, port, log)

        def pid_matches():
            try:
                with redis.Redis(port=port, socket_timeout=2) as c:
                    return c.info("server")["process_id"] == proc.pid
            except redis.exceptions.ConnectionError:
                return False
        try:
            wait_until(pid_matches, 20, "redis-server to accept connections", proc, log)
            return server
        except BenchError:
            server.stop()
    raise BenchError("redis-server did not start" + first_error(log))


def start_redge(binary, workdir):
    if not pathlib.Path(binary).exists():
        raise BenchError(f"{binary} not built (cmake --build build -j2 --target redge)")
    log = workdir / "redge.log"
    proc = subprocess.Popen(
        [str(binary), "--resp", "127.0.0.1:0", "--http", "127.0.0.1:0", "--data-dir",
         str(workdir / "data"), "--fsync", "everysec", "--log-level", "warn",
         "--log-format", "text"],
        stdout=subprocess.PIPE, stderr=open(log, "ab"), stdin=subprocess.DEVNULL,
        start_new_session=True)
    line = proc.stdout.readline().decode(errors="replace")  # redge prints it at once
    m = re.match(r"redge ready resp_port=(\d+)", line)
    if not m:
        proc.kill()
        proc.wait()
        raise BenchError(f"redge printed {line!r} instead of its ready line" + first_error(log))
    # Keep draining stdout so redge never blocks on it.
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    return Server("redge", proc, int(m.group(1)), log)


def start_worker(server, workdir, args):
    (workdir / "rtapp.py").write_text(APP)
    env = dict(os.environ, RT_URL=server.url, PYTHONPATH=str(workdir),
               PYTHONDONTWRITEBYTECODE="1")
    log = workdir / "worker.log"
    proc = subprocess.Popen(
        ["/usr/bin/python3", "-m", "celery", "-A", "rtapp", "worker", "--loglevel", "INFO",
         "--hostname", f"rt-{server.name}@%h", "--pool", "prefork",
         "--concurrency", str(args.concurrency), "--without-gossip", "--without-mingle"],
        cwd=workdir, env=env, stdout=open(log, "ab"), stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until(lambda: " ready." in log.read_text(errors="replace"), 60,
                   f"the Celery worker on {server.name} to log 'ready.'", proc, log)
    except BenchError:
        kill_group(proc)
        raise
    return proc, log


def kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def measure(server, args):
    """Round trips/s and latencies (seconds) through `server`, or BenchError."""
    from celery import Celery

    app = Celery("rtclient", broker=server.url, backend=server.url)
    app.conf.update(task_serializer="json", result_serializer="json",
                    accept_content=["json"])
    phase = {"measure_from": None, "stop_at": None}
    latencies, errors, lock = [], [], threading.Lock()

    def producer(tid):
        i = 0
        try:
            while True:
                now = time.monotonic()
                if now >= phase["stop_at"]:
                    return
                t0 = time.monotonic()
                got = app.send_task("rtapp.add", args=(tid, i)).get(timeout=args.timeout)
                t1 = time.monotonic()
                if got != tid + i:
                    raise BenchError(f"add({tid}, {i}) returned {got!r}")
                if t0 >= phase["measure_from"] and t1 <= phase["stop_at"]:
                    with lock:
                        latencies.append(t1 - t0)
                i += 1
        except Exception as e:  # reported, not raised: the other server still runs
            with lock:
                errors.append(e)

    start = time.monotonic()
    phase["measure_from"] = start + args.warmup
    phase["stop_at"] = phase["measure_from"] + args.duration
    threads = [threading.Thread(target=producer, args=(t,)) for t in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # A collected AsyncResult unsubscribes from its result channel: collect the ones
    # left in reference cycles now, while the server still runs.
    gc.collect()
    try:
        app.close()
    except Exception:
        pass
    if errors:
        e = errors[0]
        text = f"{type(e).__name__}: {e}"
        m = UNKNOWN_RE.search(text)
        raise BenchError(f"a producer failed: {m.group(0) if m else text[:300]}")
    if not latencies:
        raise BenchError("no round trip completed in the measured window")
    # Round trips that started and ended inside the window, over the window.
    return len(latencies) / args.duration, latencies


def run_one(name, args, tmp):
    workdir = pathlib.Path(tempfile.mkdtemp(prefix=f"{name}-", dir=tmp))
    server = worker = None
    try:
        server = (start_redis(args.redis_server, workdir) if name == "redis"
                  else start_redge(args.redge, workdir))
        worker, wlog = start_worker(server, workdir, args)
        try:
            rate, lat = measure(server, args)
        except BenchError as e:
            raise BenchError(f"{e}" + first_error(wlog))
        if worker.poll() is not None:
            raise BenchError("the worker exited during the run" + first_error(wlog))
        return rate, lat
    finally:
        if worker is not None:
            kill_group(worker)
        if server is not None:
            alive = server.proc.poll() is None
            server.stop()
            if not alive:
                print(f"  {name}: the server died during the run{first_error(server.log)}")


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=8, help="producer threads (8)")
    ap.add_argument("--duration", type=float, default=10.0, help="measured seconds (10)")
    ap.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first (2)")
    ap.add_argument("--concurrency", type=int, default=8, help="worker processes (8)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per server, median (1)")
    ap.add_argument("--timeout", type=float, default=30.0, help="per .get() (30 s)")
    ap.add_argument("--only", choices=("redge", "redis"), help="measure one server only")
    ap.add_argument("--redge", default=str(ROOT / os.environ.get("BUILD_DIR", "build") / "redge"))
    ap.add_argument("--redis-server", default=os.environ.get("REDIS_SERVER",
                                                             "/usr/bin/redis-server"))
    args = ap.parse_args()
    if not shutil.which(args.redis_server) and args.only != "redge":
        sys.exit(f"celery_roundtrip: {args.redis_server} not found (apt-get install redis-server)")

    names = [args.only] if args.only else ["redis", "redge"]
    print(f"Celery round trips: {args.threads} threads x add.delay(x, y).get(), worker prefork "
          f"-c {args.concurrency}, {args.duration:g} s measured after {args.warmup:g} s "
          f"warm-up, {os.cpu_count()} CPUs, repeat {args.repeat}")
    results = {n: [] for n in names}
    failures = {}
    tmp = tempfile.mkdtemp(prefix="celery-roundtrip-")
    try:
        for r in range(args.repeat):
            for name in names:  # alternate, so drift on a shared machine hits both
                if name in failures:
                    continue
                try:
                    rate, lat = run_one(name, args, tmp)
                    results[name].append((rate, lat))
                    print(f"  run {r + 1} {name}: {rate:.0f} round trips/s")
                except BenchError as e:
                    failures[name] = str(e)
                    print(f"  run {r + 1} {name}: error: {e}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"\n{'server':<8} {'round trips/s':>14} {'p50 ms':>8} {'p99 ms':>8}")
    rates = {}
    for name in names:
        if name in failures:
            print(f"{name:<8} {'error':>14}   {failures[name]}")
            continue
        rates[name] = statistics.median(rate for rate, _ in results[name])
        lat = [x for _, run in results[name] for x in run]
        print(f"{name:<8} {rates[name]:>14.0f} {pct(lat, 50) * 1e3:>8.2f} "
              f"{pct(lat, 99) * 1e3:>8.2f}")
    if "redge" in rates and "redis" in rates:
        print(f"ratio redge/redis: {rates['redge'] / rates['redis']:.2f}")
    elif len(names) == 2:
        print("ratio redge/redis: n/a")
    sys.exit(0 if rates else 1)


if __name__ == "__main__":
    main()
