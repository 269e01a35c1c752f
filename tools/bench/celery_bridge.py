#!/usr/bin/python3
"""The Celery bridge's cost and what it buys: Celery tasks/s through the same redge with
`--celery-bridge on` and `off` (same worker), and the delay from a worker's
`update_state` to the SSE event a browser receives, next to what polling the task's status
every 500 ms (the FastAPI + Celery stack's status route) gives.

    tools/bench/celery_bridge.py                       # defaults below, ~2 minutes
    tools/bench/celery_bridge.py --repeat 3 --tasks 3000

Throughput, for each mode (alternating, `--repeat` times; medians): a fresh
`build/redge --fsync everysec --celery-bridge on|off`, one Celery worker
(`--pool prefork --concurrency C`), then
  - round trips: T producer threads loop `send_task("bapp.add").get()` for `--duration` s
    after a warm-up (what a web backend waiting on a task does);
  - bulk: `--tasks` tasks sent at once, then every result waited for (the worker's
    throughput; Celery's own limit), and redge's CPU time per task meanwhile
    (/proc/<pid>/stat): on a shared 2-CPU machine the steadier figure.
Latency (bridge on), two workloads: "dense", `--latency-tasks` tasks each calling
`update_state(PROGRESS, meta={"i", "t": time.time()})` 25 times 20 ms apart (a progress
bar over a fast loop), and "sparse", tasks with 8 updates 0.3-1.0 s apart (pseudo-random,
the same every run: milestones). For each task an SSE stream is opened as `.delay()`
returns; each progress event's delay is its arrival time minus its `t` (same machine,
same clock). Meanwhile a poller reads the task's result (`GET celery-task-meta-<id>`,
what `AsyncResult(id).info` does) every 500 ms: its delay is when it first sees an update
minus that update's `t`; updates it never sees (a newer one replaced them between two
polls) are counted as missed.

Debian packages only (python3-celery, python3-redis). Prints one table per measurement.
"""

import argparse
import gc
import http.client
import json
import os
import pathlib
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import redis

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from celery_roundtrip import (ROOT, BenchError, Server, first_error, kill_group,  # noqa: E402
                              pct, wait_until)

APP = '''
import os, time
from celery import Celery
URL = os.environ["BENCH_URL"]
app = Celery("bapp", broker=URL, backend=URL)
app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"])

@app.task
def add(x, y):
    return x + y

@app.task(bind=True)
def ticks(self, gaps):
    for i, gap in enumerate(gaps):
        time.sleep(gap)  # the task's work before each update
        self.update_state(state="PROGRESS", meta={"i": i, "t": time.time()})
    return len(gaps)
'''


def start_redge(binary, workdir, bridge):
    log = workdir / "redge.log"
    proc = subprocess.Popen(
        [str(binary), "--resp", "127.0.0.1:0", "--http", "127.0.0.1:0", "--data-dir",
         str(workdir / "data"), "--fsync", "everysec", "--log-level", "warn",
         "--log-format", "text", "--celery-bridge", bridge],
        stdout=subprocess.PIPE, stderr=open(log, "ab"), stdin=subprocess.DEVNULL,
        start_new_session=True)
    line = proc.stdout.readline().decode(errors="replace")
    m = re.match(r"redge ready resp_port=(\d+) http_port=(\d+)", line)
    if not m:
        proc.kill()
        proc.wait()
        raise BenchError(f"redge printed {line!r} instead of its ready line" + first_error(log))
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    server = Server(f"bridge {bridge}", proc, int(m.group(1)), log)
    server.http_port = int(m.group(2))
    return server


def start_worker(server, workdir, concurrency):
    (workdir / "bapp.py").write_text(APP)
    env = dict(os.environ, BENCH_URL=server.url, PYTHONPATH=str(workdir),
               PYTHONDONTWRITEBYTECODE="1")
    log = workdir / "worker.log"
    proc = subprocess.Popen(
        ["/usr/bin/python3", "-m", "celery", "-A", "bapp", "worker", "--loglevel", "WARNING",
         "--hostname", "bench@%h", "--pool", "prefork", "--concurrency", str(concurrency),
         "--without-gossip", "--without-mingle"],
        cwd=workdir, env=env, stdout=open(log, "ab"), stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True)
    client = redis.Redis(port=server.port, socket_timeout=10)
    # Ready once it consumes: its BRPOP connection shows in CLIENT LIST (quiet log level).
    wait_until(lambda: any(c.get("cmd") == "brpop" for c in client.client_list()),
               60, "the Celery worker to consume", proc, log)
    return proc, log


def client_app(server):
    from celery import Celery
    app = Celery("bclient", broker=server.url, backend=server.url)
    app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"])
    return app


def close_app(app):
    gc.collect()
    try:
        app.close()
    except Exception:
        pass


def round_trips(app, args):
    phase = {}
    latencies, errors, lock = [], [], threading.Lock()

    def producer(tid):
        i = 0
        try:
            while time.monotonic() < phase["stop_at"]:
                t0 = time.monotonic()
                got = app.send_task("bapp.add", args=(tid, i)).get(timeout=30)
                t1 = time.monotonic()
                if got != tid + i:
                    raise BenchError(f"add({tid}, {i}) returned {got!r}")
                if t0 >= phase["measure_from"] and t1 <= phase["stop_at"]:
                    with lock:
                        latencies.append(t1 - t0)
                i += 1
        except Exception as e:
            with lock:
                errors.append(e)

    phase["measure_from"] = time.monotonic() + args.warmup
    phase["stop_at"] = phase["measure_from"] + args.duration
    threads = [threading.Thread(target=producer, args=(t,)) for t in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise BenchError(f"a producer failed: {errors[0]!r}"[:300])
    return len(latencies) / args.duration, latencies


def cpu_seconds(pid):
    """User + system CPU time of a process (/proc/<pid>/stat)."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bulk(app, args):
    t0 = time.monotonic()
    results = [app.send_task("bapp.add", args=(i, 1)) for i in range(args.tasks)]
    sent = time.monotonic()
    for i, r in enumerate(results):
        if r.get(timeout=120) != i + 1:
            raise BenchError(f"add({i}, 1) returned a wrong value")
    done = time.monotonic()
    return args.tasks / (done - t0), args.tasks / (sent - t0)


def throughput_run(bridge, args, tmp):
    workdir = pathlib.Path(tempfile.mkdtemp(prefix=f"bridge-{bridge}-", dir=tmp))
    server = worker = app = None
    try:
        server = start_redge(args.redge, workdir, bridge)
        worker, wlog = start_worker(server, workdir, args.concurrency)
        app = client_app(server)
        rate, lat = round_trips(app, args)
        cpu0 = cpu_seconds(server.proc.pid)
        bulk_rate, send_rate = bulk(app, args)
        cpu_per_task = (cpu_seconds(server.proc.pid) - cpu0) / args.tasks
        if worker.poll() is not None:
            raise BenchError("the worker exited during the run" + first_error(wlog))
        return rate, lat, bulk_rate, send_rate, cpu_per_task
    finally:
        if app is not None:
            close_app(app)
        if worker is not None:
            kill_group(worker)
        if server is not None:
            server.stop()


def sse_progress(host, port, job_id, n, timeout, out):
    """Reads the task's SSE stream; appends (arrival time, data) per progress event."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", f"/v1/jobs/{job_id}/events")
        res = conn.getresponse()
        if res.status != 200:
            raise BenchError(f"SSE answered {res.status}")
        event = data = None
        while True:
            line = res.fp.readline()
            if not line:
                return
            line = line.decode().rstrip("\r\n")
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data = line[5:].strip()
            elif line == "" and event:
                if event == "progress":
                    out.append((time.time(), json.loads(data)))
                if event in ("completed", "failed", "canceled"):
                    return
                event = data = None
    finally:
        conn.close()


def latency_run(args, tmp, gaps_per_task):
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="latency-", dir=tmp))
    server = worker = app = None
    sse_delays, poll_delays, missed, seen_total = [], [], 0, 0
    try:
        server = start_redge(args.redge, workdir, "on")
        worker, _ = start_worker(server, workdir, 1)
        app = client_app(server)
        backend = redis.Redis(port=server.port, socket_timeout=10)
        for gaps in gaps_per_task:
            updates = len(gaps)
            res = app.send_task("bapp.ticks", args=(gaps,))
            got = []
            reader = threading.Thread(target=sse_progress, args=(
                "127.0.0.1", server.http_port, res.id, updates, 60, got))
            reader.start()
            # The status route a FastAPI app polls every 500 ms.
            first_seen = {}
            while True:
                raw = backend.get(f"celery-task-meta-{res.id}")
                now = time.time()
                meta = json.loads(raw) if raw else {}
                r = meta.get("result")
                if meta.get("status") == "PROGRESS" and r["i"] not in first_seen:
                    first_seen[r["i"]] = now - r["t"]
                if meta.get("status") == "SUCCESS":
                    break
                time.sleep(0.5)
            reader.join(60)
            if len(got) != updates:
                raise BenchError(f"SSE delivered {len(got)} of {updates} progress events")
            sse_delays += [arrival - d["t"] for arrival, d in got]
            poll_delays += list(first_seen.values())
            seen_total += len(first_seen)
            missed += updates - len(first_seen)
        return sse_delays, poll_delays, missed, seen_total
    finally:
        if app is not None:
            close_app(app)
        if worker is not None:
            kill_group(worker)
        if server is not None:
            server.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=8, help="round-trip producers (8)")
    ap.add_argument("--duration", type=float, default=10.0, help="measured seconds (10)")
    ap.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first (2)")
    ap.add_argument("--tasks", type=int, default=2000, help="bulk tasks (2000)")
    ap.add_argument("--concurrency", type=int, default=4, help="worker processes (4)")
    ap.add_argument("--repeat", type=int, default=2, help="runs per mode, median (2)")
    ap.add_argument("--latency-tasks", type=int, default=10,
                    help="tasks of each latency workload (10)")
    ap.add_argument("--redge", default=str(ROOT / os.environ.get("BUILD_DIR", "build") / "redge"))
    args = ap.parse_args()
    if not pathlib.Path(args.redge).exists():
        sys.exit(f"celery_bridge: {args.redge} not built")
    print(f"Celery through redge, bridge on vs off: worker prefork -c {args.concurrency}, "
          f"{os.cpu_count()} CPUs, repeat {args.repeat}")
    tmp = tempfile.mkdtemp(prefix="celery-bridge-bench-")
    runs = {"on": [], "off": []}
    try:
        for r in range(args.repeat):
            for bridge in ("on", "off"):
                rate, lat, bulk_rate, send_rate, cpu = throughput_run(bridge, args, tmp)
                runs[bridge].append((rate, lat, bulk_rate, send_rate, cpu))
                print(f"  run {r + 1} bridge {bridge}: {rate:.0f} round trips/s, bulk "
                      f"{bulk_rate:.0f} tasks/s (sent at {send_rate:.0f}/s), redge CPU "
                      f"{cpu * 1e6:.0f} us/task")
        print(f"\n{'bridge':<7} {'round trips/s':>14} {'p50 ms':>8} {'p99 ms':>8} "
              f"{'bulk tasks/s':>13} {'send/s':>8} {'redge CPU us/task':>18}")
        med = {}
        for bridge in ("on", "off"):
            rs = runs[bridge]
            lat = [x for r in rs for x in r[1]]
            med[bridge] = (statistics.median(r[0] for r in rs),
                           statistics.median(r[2] for r in rs))
            print(f"{bridge:<7} {med[bridge][0]:>14.0f} {pct(lat, 50) * 1e3:>8.2f} "
                  f"{pct(lat, 99) * 1e3:>8.2f} {med[bridge][1]:>13.0f} "
                  f"{statistics.median(r[3] for r in rs):>8.0f} "
                  f"{statistics.median(r[4] for r in rs) * 1e6:>18.0f}")
        print(f"on/off: round trips {med['on'][0] / med['off'][0]:.2f}, "
              f"bulk {med['on'][1] / med['off'][1]:.2f}")

        rng = random.Random(13)
        workloads = {
            "dense (25 x 20 ms)": [[0.02] * 25 for _ in range(args.latency_tasks)],
            "sparse (8 x 0.3-1 s)": [[round(rng.uniform(0.3, 1.0), 3) for _ in range(8)]
                                     for _ in range(args.latency_tasks)],
        }
        print(f"\nupdate_state -> reader, {args.latency_tasks} tasks per workload")
        print(f"{'workload':<21} {'reader':<22} {'p50 ms':>8} {'p99 ms':>8} {'updates seen':>13}")
        for name, gaps in workloads.items():
            sse, poll, missed, seen = latency_run(args, tmp, gaps)
            print(f"{name:<21} {'SSE (redge bridge)':<22} {pct(sse, 50) * 1e3:>8.2f} "
                  f"{pct(sse, 99) * 1e3:>8.2f} {len(sse):>8}/{len(sse)}")
            print(f"{name:<21} {'500 ms status polling':<22} {pct(poll, 50) * 1e3:>8.2f} "
                  f"{pct(poll, 99) * 1e3:>8.2f} {seen:>8}/{missed + seen}")
    except BenchError as e:
        print(f"celery_bridge: {e}")
        sys.exit(1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
