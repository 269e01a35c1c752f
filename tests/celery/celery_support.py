"""Helpers of the Celery bridge suite: HTTP calls, an SSE reader and a long-poll reader
on a real redge, and Celery workers started as subprocesses.

Every read has a deadline: an SSE read waits on its socket with the time left as its
timeout, a long-poll asks the server to wait (`?wait=`) at most the time left.
"""

import http.client
import json
import pathlib
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "frameworks"))
sys.path.insert(0, str(HERE.parent))

import fw_support  # noqa: E402
from fw_support import PYTHON, wait_for  # noqa: E402

TERMINAL = {"completed", "failed", "canceled", "gone"}
WORKER_READY_S = 60
WAIT_S = 60


class Http:
    """JSON over HTTP/1.1 to redge's HTTP port (a new connection per call)."""

    def __init__(self, host, port):
        self.host, self.port = host, port

    def call(self, method, path, body=None, headers=None, timeout=30):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            data = None if body is None else (
                body if isinstance(body, (bytes, str)) else json.dumps(body))
            hdrs = {"Content-Type": "application/json"} if data is not None else {}
            hdrs.update(headers or {})
            conn.request(method, path, body=data, headers=hdrs)
            res = conn.getresponse()
            raw = res.read()
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = raw.decode("utf-8", "replace")
            return res.status, parsed
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def text(self, path, timeout=30):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request("GET", path)
            res = conn.getresponse()
            return res.status, res.read().decode()
        finally:
            conn.close()


class SseStream:
    """GET /v1/jobs/{id}/events, read event by event. next_event(timeout) returns
    {"id", "event", "data"} or fails the test when nothing arrives in time."""

    def __init__(self, host, port, job_id, after=None, path=None):
        self.conn = http.client.HTTPConnection(host, port, timeout=WAIT_S)
        url = path or f"/v1/jobs/{job_id}/events"
        if after is not None:
            url += f"?after={after}"
        self.conn.request("GET", url, headers={"Accept": "text/event-stream"})
        # http.client forgets the socket of a response that ends the connection; its
        # file still reads from it, with the timeouts set here.
        self.sock = self.conn.sock
        self.res = self.conn.getresponse()
        self.status = self.res.status
        self.ended = False

    def next_event(self, timeout=WAIT_S):
        deadline = time.monotonic() + timeout
        fields = {}
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no SSE event within {timeout}s (partial: {fields})")
            self.sock.settimeout(left)
            try:
                line = self.res.fp.readline()
            except TimeoutError:
                raise AssertionError(f"no SSE event within {timeout}s") from None
            if not line:
                self.ended = True
                raise AssertionError("the SSE stream ended before the next event")
            line = line.decode().rstrip("\r\n")
            if line == "":
                if "event" in fields:
                    return {"id": int(fields["id"]) if "id" in fields else None,
                            "event": fields["event"],
                            "data": json.loads(fields.get("data", "null"))}
                fields = {}
                continue
            if line.startswith(":") or line.startswith("retry:"):
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            fields[name] = fields[name] + "\n" + value if name in fields else value

    def until_terminal(self, timeout=WAIT_S):
        """Every event up to and including the terminal one."""
        deadline = time.monotonic() + timeout
        out = []
        while True:
            e = self.next_event(max(0.0, deadline - time.monotonic()))
            out.append(e)
            if e["event"] in TERMINAL:
                return out

    def close(self):
        self.conn.close()


class LongPoll:
    """GET /v1/jobs/{id}?after=N&wait=S in a loop: the same events as SSE."""

    def __init__(self, http, job_id):
        self.http, self.job_id, self.after = http, job_id, 0

    def next_events(self, timeout=WAIT_S):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no new event for job {self.job_id} within {timeout}s")
            wait = max(0.1, min(10.0, left))
            status, body = self.http.get(f"/v1/jobs/{self.job_id}?after={self.after}&wait={wait:.1f}",
                                         timeout=wait + 30)
            assert status == 200, (status, body)
            events = body.get("events", [])
            if events:
                self.after = events[-1]["id"]
                return events, body

    def until_terminal(self, timeout=WAIT_S):
        deadline = time.monotonic() + timeout
        out = []
        while True:
            events, body = self.next_events(max(0.0, deadline - time.monotonic()))
            out.extend(events)
            if any(e["event"] in TERMINAL for e in events):
                return out, body


def names(events):
    return [e["event"] for e in events]


def start_worker(procs, workdir, url, name, concurrency=2, extra_args=(), **env):
    """A stock `celery worker` on the app in `workdir`, waited for until it logs ready."""
    worker = procs.start(
        f"celery-worker-{name}",
        [PYTHON, "-m", "celery", "-A", "app", "worker", "--loglevel", "INFO",
         "--hostname", f"{name}@%h", "--concurrency", str(concurrency), *extra_args],
        env=fw_support.python_env(workdir, url, **env),
    )
    wait_for(lambda: f"{name}@" in worker.log_text() and " ready." in worker.log_text(),
             WORKER_READY_S, f"Celery worker {name} to log 'ready.'", watch=[worker])
    return worker


def client_app(url):
    """The producer side (a web backend): a Celery app on the same URLs that sends tasks
    by name."""
    from celery import Celery
    app = Celery("producer", broker=url, backend=url)
    app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"])
    return app


def load_tasks(workdir, url):
    """The app module itself (as a web backend imports its tasks), so tests call
    `tasks.steps.delay(...)` exactly as application code does."""
    import importlib.util
    import os
    old = os.environ.get("FW_REDIS_URL")
    os.environ["FW_REDIS_URL"] = url
    try:
        spec = importlib.util.spec_from_file_location("app", pathlib.Path(workdir) / "app.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        if old is None:
            os.environ.pop("FW_REDIS_URL", None)
        else:
            os.environ["FW_REDIS_URL"] = old


def copy_app(workdir):
    dest = pathlib.Path(workdir) / "app.py"
    dest.write_text((HERE / "apps" / "bridge_app.py").read_text())
    return dest
