"""The parts of the whole-system crash test (test_crash_system.py): the redge under test,
restarted on the same data directory after every SIGKILL, and the clients that keep
working across the restarts: HTTP producers, legacy RESP workers (BRPOP + SET of the
response key), HTTP workers (lease, events, complete), SSE readers that resume with
Last-Event-ID, and a RESP client running MULTI/EXEC blocks.

Every client records only what redge acknowledged (a 202, an OK, a 200, an event that
arrived whole), with the time of the acknowledgement, so the checks compare what redge
promised with what it kept. A client whose connection breaks waits for the next server
generation on a condition variable (no polling), then reconnects.
"""

import http.client
import json
import pathlib
import random
import sys
import threading
import time

import redis

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "integration"))
import redge_process  # noqa: E402
from integration_support import (Http, SseClient, StreamEnded,  # noqa: E402
                                 TERMINAL_EVENTS)

RESP_QUEUE = "rq"
HTTP_QUEUE = "hq"


class ServerDown(Exception):
    """The server went away under a client (it will come back)."""


class Cluster:
    """One redge data directory; the process is SIGKILLed and restarted on it. Clients
    ask for the current ports and wait for the next generation after a failure."""

    def __init__(self, tmp_path, flags):
        self.tmp_path = tmp_path
        self.data_dir = tmp_path / "data"
        self.flags = list(flags)
        self.cond = threading.Condition()
        self.gen = 0
        self.up = False
        self.finished = False  # the test is over: waiting clients give up
        self.server = None
        self.kill_times = []   # time.time() of each SIGKILL
        self.restart_seconds = []

    def start(self):
        t0 = time.monotonic()
        server = redge_process.RedgeProcess(
            redge_process.redge_binary(), self.tmp_path / f"run{self.gen}", self.flags,
            data_dir=self.data_dir).start()
        with self.cond:
            self.server = server
            self.gen += 1
            self.up = True
            self.cond.notify_all()
        self.restart_seconds.append(time.monotonic() - t0)
        return server

    def kill(self):
        with self.cond:
            self.up = False
            server = self.server
        self.kill_times.append(time.time())
        server.kill_on_purpose()

    def stop(self):
        """Ends the test: SIGTERM (a clean stop is checked) and releases waiting clients."""
        with self.cond:
            self.finished = True
            self.up = False
            self.cond.notify_all()
        return self.server.stop()

    def endpoint(self, after_gen=0, timeout=60):
        """(gen, resp_port, http_port) of a running server newer than `after_gen` when the
        caller saw `after_gen` fail; raises ServerDown once the test is over."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not self.finished and not (self.up and self.gen > after_gen):
                left = deadline - time.monotonic()
                assert left > 0, f"no server generation after {after_gen} within {timeout}s"
                self.cond.wait(left)
            if self.finished:
                raise ServerDown("test over")
            return self.gen, self.server.resp_port, self.server.http_port

    def current_gen(self):
        with self.cond:
            return self.gen if self.up else -1


class Ledger:
    """What redge acknowledged, shared by all clients (one lock)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.jobs = {}          # id -> (queue, payload, ack time)
        self.completions = {}   # id -> (result, ack time)
        self.sse = {}           # id -> [(event id, type, data)] received whole, in order
        self.sse_reconnects = 0
        # Atomic blocks by kind ("txn": MULTI/EXEC, "lua": EVAL): n -> ack time, and every
        # n sent (acknowledged or not).
        self.blocks_acked = {"txn": {}, "lua": {}}
        self.blocks_tried = {"txn": set(), "lua": set()}
        self.errors = []        # unexpected answers (not a dead connection)
        self.producer_sent = 0

    def note_error(self, what):
        with self.lock:
            if len(self.errors) < 50:
                self.errors.append(what)


def _http(cluster, after_gen=0):
    gen, _, port = cluster.endpoint(after_gen)
    return gen, Http("127.0.0.1", port)


class Worker(threading.Thread):
    """A client thread that runs `step` until stopped, reconnecting after failures."""

    def __init__(self, cluster, ledger, name, stop):
        super().__init__(name=name, daemon=True)
        self.cluster, self.ledger, self.stop_event = cluster, ledger, stop
        self.failure = None

    def run(self):
        try:
            gen = 0
            while not self.stop_event.is_set():
                try:
                    gen = self.connect(gen)
                    while not self.stop_event.is_set():
                        self.step()
                except ServerDown:
                    return
                except (OSError, redis.ConnectionError, redis.TimeoutError, AssertionError,
                        http.client.HTTPException) as e:
                    # A dead server (expected) or a stall: wait for the next generation
                    # if this one is gone, else retry on it.
                    self.on_disconnect(e)
                    if self.cluster.current_gen() == gen:
                        gen -= 1  # same server still up: reconnect to it
        except ServerDown:
            return
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.failure = e

    def connect(self, after_gen):
        raise NotImplementedError

    def step(self):
        raise NotImplementedError

    def on_disconnect(self, error):
        pass


class Producer(Worker):
    """POSTs jobs to both queues at a steady pace; records each 202."""

    def __init__(self, cluster, ledger, name, stop, rate, rng):
        super().__init__(cluster, ledger, name, stop)
        self.interval = 1.0 / rate
        self.rng = rng
        self.n = 0

    def connect(self, after_gen):
        gen, self.http = _http(self.cluster, after_gen)
        return gen

    def step(self):
        self.n += 1
        queue = RESP_QUEUE if self.n % 2 else HTTP_QUEUE
        payload = {"producer": self.name, "n": self.n, "pad": "x" * self.rng.randint(0, 200)}
        with self.ledger.lock:
            self.ledger.producer_sent += 1
        reply = self.http.post(f"/v1/queues/{queue}/jobs", json=payload, timeout=5)
        if reply.status == 202:
            with self.ledger.lock:
                self.ledger.jobs[reply.json()["id"]] = (queue, payload, time.time())
        elif reply.status != 503:  # 503: the store refused a write; the client may retry
            self.ledger.note_error(f"enqueue: {reply!r}")
        # Pacing of the load, not a wait for anything.
        self.stop_event.wait(self.interval)


class RespWorker(Worker):
    """A legacy Redis worker: BRPOP, PUBLISH progress, SET the response key. A completion
    counts as acknowledged once the SET returned and a read shows the job completed with
    this result (a SET by a holder whose lease expired is ignored by design)."""

    def connect(self, after_gen):
        gen, resp_port, http_port = self.cluster.endpoint(after_gen)
        self.r = redis.Redis(host="127.0.0.1", port=resp_port, client_name=self.name,
                             single_connection_client=True, socket_timeout=5,
                             socket_connect_timeout=5, decode_responses=True)
        self.http = Http("127.0.0.1", http_port)
        return gen

    def step(self):
        popped = self.r.brpop(f"redge:queue:{RESP_QUEUE}", timeout=1)
        if popped is None:
            return
        envelope = json.loads(popped[1])
        job_id = envelope["id"]
        self.r.publish(f"redge:progress:{job_id}", json.dumps({"event": "chunk", "text": "a"}))
        result = {"answer": envelope["payload"].get("n"), "by": self.name}
        assert self.r.set(f"redge:response:{job_id}", json.dumps(result), ex=3600)
        reply = self.http.get(f"/v1/jobs/{job_id}", timeout=5)
        if reply.status == 200:
            job = reply.json()
            if job["state"] == "completed" and job.get("result") == result:
                with self.ledger.lock:
                    self.ledger.completions[job_id] = (result, time.time())

    def on_disconnect(self, error):
        try:
            self.r.close()
        except Exception:  # noqa: BLE001
            pass


class HttpWorker(Worker):
    """An HTTP worker: lease, one event, complete; a 200 `completed` is the ack."""

    def connect(self, after_gen):
        gen, self.http = _http(self.cluster, after_gen)
        return gen

    def step(self):
        reply = self.http.post(f"/v1/queues/{HTTP_QUEUE}/lease", params={"wait": 1},
                               json={"worker": self.name}, timeout=5)
        if reply.status == 204:
            return
        if reply.status != 200:
            if reply.status != 503:
                self.ledger.note_error(f"lease: {reply!r}")
            return
        job = reply.json()
        headers = {"X-Lease-Token": job["lease_token"]}
        reply = self.http.post(f"/v1/jobs/{job['id']}/events", json={"event": "chunk", "i": 1},
                               headers=headers, timeout=5)
        if reply.status != 200:
            return  # the lease was lost in a restart; someone else will finish the job
        result = {"answer": job["payload"].get("n"), "by": self.name}
        reply = self.http.post(f"/v1/jobs/{job['id']}/complete", json={"result": result},
                               headers=headers, timeout=5)
        if reply.status == 200 and reply.json()["state"] == "completed":
            with self.ledger.lock:
                self.ledger.completions[job["id"]] = (result, time.time())


class SseReader(Worker):
    """Follows acknowledged jobs one after another to their terminal event, resuming with
    Last-Event-ID whenever the stream breaks; keeps the events that arrived whole."""

    def __init__(self, cluster, ledger, name, stop, rng, claimed):
        super().__init__(cluster, ledger, name, stop)
        self.rng, self.claimed = rng, claimed
        self.job = None
        self.events = []

    def connect(self, after_gen):
        gen, _, self.port = self.cluster.endpoint(after_gen)
        return gen

    def step(self):
        if self.job is None:
            with self.ledger.lock:
                free = [j for j in self.ledger.jobs if j not in self.claimed]
                if not free:
                    job = None
                else:
                    job = self.rng.choice(free)
                    self.claimed.add(job)
            if job is None:
                self.stop_event.wait(0.05)  # pacing: nothing acknowledged yet
                return
            self.job, self.events = job, []
        headers = {"Last-Event-ID": str(self.events[-1][0])} if self.events else None
        stream = SseClient("127.0.0.1", self.port, f"/v1/jobs/{self.job}/events",
                           headers=headers, timeout=5)
        try:
            while True:
                try:
                    ev = stream.next_event(timeout=5)
                except StreamEnded:
                    with self.ledger.lock:
                        self.ledger.sse_reconnects += 1
                    return  # resume on the next step
                self.events.append((ev.id, ev.type, ev.data))
                if ev.type in TERMINAL_EVENTS:
                    with self.ledger.lock:
                        self.ledger.sse[self.job] = list(self.events)
                    self.job = None
                    return
        finally:
            stream.sock.close()

    def on_disconnect(self, error):
        with self.ledger.lock:
            self.ledger.sse_reconnects += 1


class BlockClient(Worker):
    """Four writes that must commit together, numbered N, in one of two forms:
    kind "txn": MULTI; INCR txn:count; SET txn:a:N; RPUSH txn:list N; SET txn:b:N; EXEC.
    kind "lua": one EVAL making the same four writes under the prefix lua:.
    Each N is recorded as tried before it is sent and as acknowledged once it answered."""

    SCRIPT = ("redis.call('incr', KEYS[1]); redis.call('set', KEYS[2], ARGV[1]); "
              "redis.call('rpush', KEYS[3], ARGV[1]); redis.call('set', KEYS[4], ARGV[1]); "
              "return 1")

    def __init__(self, cluster, ledger, name, stop, kind):
        super().__init__(cluster, ledger, name, stop)
        self.kind = kind
        self.n = 0

    def connect(self, after_gen):
        gen, resp_port, _ = self.cluster.endpoint(after_gen)
        self.r = redis.Redis(host="127.0.0.1", port=resp_port, single_connection_client=True,
                             socket_timeout=5, socket_connect_timeout=5)
        return gen

    def step(self):
        self.n += 1
        n, p = self.n, self.kind
        with self.ledger.lock:
            self.ledger.blocks_tried[p].add(n)
        if p == "txn":
            pipe = self.r.pipeline(transaction=True)
            pipe.incr("txn:count").set(f"txn:a:{n}", n).rpush("txn:list", n)
            pipe.set(f"txn:b:{n}", n).execute()
        else:
            self.r.eval(self.SCRIPT, 4, "lua:count", f"lua:a:{n}", "lua:list", f"lua:b:{n}", n)
        with self.ledger.lock:
            self.ledger.blocks_acked[p][n] = time.time()

    def on_disconnect(self, error):
        try:
            self.r.close()
        except Exception:  # noqa: BLE001
            pass


def list_jobs(http, queue):
    """Every job record of `queue`, through the paged listing."""
    out, cursor = [], None
    while True:
        params = {"queue": queue, "limit": 1000}
        if cursor:
            params["cursor"] = cursor
        reply = http.get("/v1/jobs", params=params, timeout=30)
        assert reply.status == 200, reply
        body = reply.json()
        out.extend(body["jobs"])
        cursor = body["next_cursor"]
        if not cursor:
            return out


def new_rng(seed):
    return random.Random(seed)
