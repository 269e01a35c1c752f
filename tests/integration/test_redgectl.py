"""build/redgectl against a real redge: --json output of every command, exit codes, live
events from a RESP worker, and the human progress bar on a pseudo-terminal.

Every wait is bounded: subprocesses run with a timeout, pipes and the pty are read with
select() deadlines, and workers block in BRPOP (woken by the enqueue itself).
"""

import json
import os
import pty
import select
import socket
import subprocess
import threading
import time

import pytest

import integration_support as sup

RUN_TIMEOUT = 20


def redgectl_binary():
    return sup.redge_binary().parent / "redgectl"


@pytest.fixture(autouse=True)
def _need_redgectl():
    if not redgectl_binary().exists():
        pytest.fail(f"redgectl not found at {redgectl_binary()}: build it first "
                    "(cmake --build build --target redgectl)", pytrace=False)


def ctl_env(server, token=None):
    env = dict(os.environ)
    env["REDGE_URL"] = f"http://{server.host}:{server.http_port}"
    env.pop("REDGE_TOKEN", None)
    if token:
        env["REDGE_TOKEN"] = token
    return env


def run(server, *args, token=None, url=None):
    cmd = [str(redgectl_binary())]
    if url:
        cmd += ["--url", url]
    env = ctl_env(server, token) if server else {**os.environ, "REDGE_URL": url}
    return subprocess.run(cmd + list(args), env=env, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT)


def spawn(server, *args, **kw):
    return subprocess.Popen([str(redgectl_binary()), *args], env=ctl_env(server),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def read_line(proc, timeout=sup.DEFAULT_TIMEOUT):
    """One stdout line of a running redgectl, waiting at most `timeout` seconds."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, f"redgectl printed nothing within {timeout}s"
    line = proc.stdout.readline()
    assert line, f"redgectl closed stdout (stderr: {proc.stderr.read()})"
    return json.loads(line)


def resp_worker(server, queue, result=None, error=None, progress=0.5, name="ctl-worker"):
    """A legacy RESP worker in a thread: takes one job, reports progress, then completes it
    (or fails it with `error`). Returns the thread; join() it after the client exits."""
    w = server.worker(name)

    def work():
        popped = w.brpop(f"redge:queue:{queue}", timeout=RUN_TIMEOUT)
        assert popped is not None, "no job reached the worker"
        job_id = json.loads(popped[1])["id"]
        w.publish(f"redge:progress:{job_id}", json.dumps({"progress": progress}))
        value = {"isError": True, "content": error} if error else result
        w.set(f"redge:response:{job_id}", json.dumps(value), ex=60)

    t = threading.Thread(target=work, daemon=True)
    t.start()
    return t


def event_lines(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------

def test_help_lists_every_command():
    out = subprocess.run([str(redgectl_binary()), "--help"], capture_output=True, text=True,
                         timeout=RUN_TIMEOUT)
    assert out.returncode == 0
    for word in ("status", "jobs", "show", "trace", "tail", "enqueue", "cancel", "retry",
                 "--json", "--url", "--token", "REDGE_URL", "REDGE_TOKEN", "--wait"):
        assert word in out.stdout, word


def test_status_show_trace_cancel_json(redge):
    job = sup.enqueue(redge.http, "ctl", {"n": 1})
    job_id = job["id"]

    status = run(redge, "--json", "status")
    assert status.returncode == 0, status.stderr
    queues = {q["queue"]: q for q in json.loads(status.stdout)["queues"]}
    assert queues["ctl"]["depth"] == 1 and queues["ctl"]["running"] == 0
    assert queues["ctl"]["oldest_age_ms"] >= 0

    show = run(redge, "--json", "show", job_id)
    assert show.returncode == 0, show.stderr
    body = json.loads(show.stdout)
    assert body["id"] == job_id and body["state"] == "queued" and body["queue"] == "ctl"

    trace = run(redge, "trace", job_id, "--json")  # options may follow the arguments
    assert trace.returncode == 0, trace.stderr
    steps = json.loads(trace.stdout)["timeline"]
    assert steps[0]["what"] == "enqueued" and steps[0]["queue"] == "ctl"

    cancel = run(redge, "--json", "cancel", job_id)
    assert cancel.returncode == 0, cancel.stderr
    assert json.loads(cancel.stdout)["state"] == "canceled"

    again = run(redge, "--json", "cancel", job_id)
    assert again.returncode == 1
    assert "already canceled" in again.stderr and again.stdout == ""


def test_enqueue_wait_json_follows_a_resp_worker(redge):
    worker = resp_worker(redge, "ctlq", result={"answer": 42})
    out = run(redge, "--json", "enqueue", "ctlq", '{"question": "six times seven"}', "--wait")
    worker.join(timeout=RUN_TIMEOUT)
    assert out.returncode == 0, out.stderr
    events = event_lines(out.stdout)
    assert [e["event"] for e in events] == ["queued", "started", "progress", "completed"]
    assert [e["id"] for e in events] == [1, 2, 3, 4]
    assert len({e["job"] for e in events}) == 1
    assert events[1]["data"]["worker"] == "ctl-worker"
    assert events[2]["data"] == {"progress": 0.5}
    assert events[3]["data"]["result"] == {"answer": 42}
    job = sup.get_job(redge.http, events[0]["job"])
    assert job["state"] == "completed" and job["result"] == {"answer": 42}


def test_enqueue_wait_exits_1_when_the_job_fails(redge):
    worker = resp_worker(redge, "ctlfail", error="model exploded")
    out = run(redge, "--json", "enqueue", "ctlfail", "{}", "--wait")
    worker.join(timeout=RUN_TIMEOUT)
    assert out.returncode == 1, (out.stdout, out.stderr)
    last = event_lines(out.stdout)[-1]
    assert last["event"] == "failed" and last["data"]["error"] == "model exploded"


def test_enqueue_wait_exits_1_when_the_job_is_canceled(redge):
    proc = spawn(redge, "--json", "enqueue", "ctlcancel", "[1, 2]", "--wait")
    try:
        first = read_line(proc)  # the stream is live once the queued event arrived
        assert first["event"] == "queued"
        assert run(redge, "cancel", first["job"]).returncode == 0
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
    finally:
        proc.kill()
    assert proc.returncode == 1, err
    assert event_lines(out)[-1]["event"] == "canceled"


def test_tail_json_prints_live_events(redge):
    job_id = sup.enqueue(redge.http, "ctltail", {"x": 1})["id"]
    proc = spawn(redge, "--json", "tail", job_id)
    try:
        assert read_line(proc)["event"] == "queued"  # replayed, then the stream is live
        worker = resp_worker(redge, "ctltail", result="done")
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
        worker.join(timeout=RUN_TIMEOUT)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert [e["event"] for e in event_lines(out)] == ["started", "progress", "completed"]
    assert event_lines(out)[-1]["data"]["result"] == "done"


class CuttingProxy:
    """A TCP proxy in front of redge's HTTP port that cuts its first connection right after
    the first SSE event went through, as a restarting proxy or a flaky network would, and
    records every request head it forwarded."""

    def __init__(self, server):
        self.upstream = (server.host, server.http_port)
        self.requests = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(RUN_TIMEOUT)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client, len(self.requests)),
                             daemon=True).start()

    def _serve(self, client, index):
        with client, socket.create_connection(self.upstream, timeout=RUN_TIMEOUT) as up:
            client.settimeout(RUN_TIMEOUT)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            self.requests.append(head.decode())
            up.sendall(head)
            seen = b""
            while True:
                chunk = up.recv(65536)
                if not chunk:
                    return
                client.sendall(chunk)
                seen += chunk
                at = seen.find(b"event: queued")
                if index == 0 and at >= 0 and b"\n\n" in seen[at:]:
                    return  # closes both sockets mid-stream

    def close(self):
        self.listener.close()


def test_tail_resumes_with_last_event_id_after_a_dropped_stream(redge):
    job_id = sup.enqueue(redge.http, "ctlresume", {"x": 1})["id"]
    proxy = CuttingProxy(redge)
    proc = spawn(redge, "--json", "--url", proxy.url, "tail", job_id)
    try:
        assert read_line(proc)["event"] == "queued"
        # The cut stream is resumed (after the server's `retry:` delay) from event 1.
        sup.wait_until(lambda: len(proxy.requests) >= 2, what="a reconnect")
        assert "last-event-id: 1\r\n" in proxy.requests[1].lower(), proxy.requests[1]
        worker = resp_worker(redge, "ctlresume", result="resumed")
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
        worker.join(timeout=RUN_TIMEOUT)
    finally:
        proc.kill()
        proxy.close()
    assert proc.returncode == 0, err
    events = event_lines(out)
    assert [e["event"] for e in events] == ["started", "progress", "completed"]
    assert [e["id"] for e in events] == [2, 3, 4]


def test_unknown_job_exits_1_with_the_server_message(redge):
    message = redge.http.get("/v1/jobs/nope").json()["error"]["message"]
    for args in (["show", "nope"], ["trace", "nope"], ["tail", "nope"], ["cancel", "nope"]):
        out = run(redge, "--json", *args)
        assert out.returncode == 1, args
        assert message in out.stderr, (args, out.stderr)


def test_unreachable_server_exits_3_naming_the_url():
    url = f"http://127.0.0.1:{free_port()}"
    for args in (["status"], ["show", "x"], ["tail", "x"], ["enqueue", "q", "{}", "--wait"]):
        out = run(None, *args, url=url)
        assert out.returncode == 3, (args, out.stderr)
        assert url in out.stderr, out.stderr


def test_token_from_env_and_flag(redge_factory):
    server = redge_factory("--http-token", "s3cret")
    refused = run(server, "status")
    assert refused.returncode == 1 and "unauthorized" in refused.stderr
    assert run(server, "--json", "status", token="s3cret").returncode == 0
    assert run(server, "--token", "s3cret", "--json", "status").returncode == 0


def test_bad_usage_exits_2(redge):
    for args in ([], ["frobnicate"], ["show"], ["enqueue", "q", "{not json"], ["--bogus"],
                 ["retry"], ["jobs", "--limit", "0"], ["jobs", "extra"]):
        assert run(redge, *args).returncode == 2, args


def test_jobs_json_lists_with_filters_and_limit(redge):
    ids = sorted(sup.enqueue(redge.http, "ctlj", {"n": i})["id"] for i in range(3))
    time.sleep(0.002)  # a later millisecond: listed after them
    other = sup.enqueue(redge.http, "ctlk", {"n": 9})["id"]
    assert redge.http.delete(f"/v1/jobs/{ids[2]}").status == 200

    out = run(redge, "--json", "jobs")
    assert out.returncode == 0, out.stderr
    assert [j["id"] for j in json.loads(out.stdout)] == ids + [other]

    out = run(redge, "jobs", "--queue", "ctlj", "--state", "queued", "--json")
    assert out.returncode == 0, out.stderr
    assert [j["id"] for j in json.loads(out.stdout)] == ids[:2]

    out = run(redge, "--json", "jobs", "--queue", "ctlj", "--limit", "1")
    assert out.returncode == 0, out.stderr
    assert [j["id"] for j in json.loads(out.stdout)] == ids[:1]

    table = run(redge, "jobs", "--queue=ctlj")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["ID", "QUEUE", "STATE", "ATTEMPT", "CREATED"]
    assert [line.split()[0] for line in lines[1:]] == ids
    assert lines[3].split()[2] == "canceled"

    bad = run(redge, "jobs", "--state", "sleeping")
    assert bad.returncode == 1 and "state must be one of" in bad.stderr


def test_retry_json_requeues_a_failed_job(redge):
    worker = resp_worker(redge, "ctlr", error="nope")
    job_id = sup.enqueue(redge.http, "ctlr", {"r": 1})["id"]
    worker.join(RUN_TIMEOUT)
    sup.wait_state(redge.http, job_id, "failed")

    out = run(redge, "--json", "retry", job_id)
    assert out.returncode == 0, out.stderr
    job = json.loads(out.stdout)
    assert job["id"] == job_id and job["state"] == "queued" and job["attempt"] == 2

    human = run(redge, "retry", job_id)  # now queued: the server refuses
    assert human.returncode == 1 and "conflict" in human.stderr, human.stderr


def test_human_progress_bar_on_a_terminal(redge):
    master, slave = pty.openpty()
    worker = resp_worker(redge, "ctltty", progress=0.5, result={"ok": True})
    proc = subprocess.Popen([str(redgectl_binary()), "enqueue", "ctltty", '{"t": 1}', "--wait"],
                            env=ctl_env(redge), stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    output = b""
    deadline = time.monotonic() + RUN_TIMEOUT
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], deadline - time.monotonic())
            if not ready:
                break
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
        assert proc.wait(timeout=RUN_TIMEOUT) == 0, output
    finally:
        proc.kill()
        os.close(master)
        worker.join(timeout=RUN_TIMEOUT)
    text = output.decode(errors="replace")
    assert "[###############---------------]  50%" in text, text
    for word in ("enqueued", "queued", "started", "completed"):
        assert word in text, (word, text)
