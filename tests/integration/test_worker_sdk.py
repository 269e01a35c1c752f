"""The worker SDK (worker/worker.h) through its two programs: `redge-worker` (runs a
command per job) and `worker_example` (an SDK handler), against a real redge.

Every wait is bounded and waits for the thing itself: an SSE event, a job state, a log
line, a process group emptying (polled from /proc: it has no other notification).
"""

import os
import pathlib
import signal
import socket
import subprocess

import pytest

import integration_support as sup

BUILD = sup.redge_binary().parent
WORKER_STOP_TIMEOUT_S = 15


class WorkerProcess:
    """One redge-worker / worker_example process with its stderr in a file."""

    def __init__(self, args, log_path):
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self._log, start_new_session=True)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def wait_log(self, text, timeout=sup.DEFAULT_TIMEOUT):
        return sup.wait_until(lambda: text in self.log(), timeout=timeout, interval=0.02,
                              what=f"{text!r} in {self.log_path.name}")

    def stop(self):
        """SIGTERM, then the process must exit 0 and print nothing on stdout."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=WORKER_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = "timeout"
        out = self.proc.stdout.read()
        self.proc.stdout.close()
        self._log.close()
        if rc != 0 or out:
            return f"{self.proc.args[0]} exit {rc}, stdout {out[:300]!r}\n{self.log()[-3000:]}"
        return None


@pytest.fixture
def workers(tmp_path):
    """start(kind, server_or_url, *args) -> WorkerProcess; all stopped and checked after."""
    started = []

    def start(program, url, *args):
        binary = BUILD / program
        if not binary.exists():
            pytest.fail(f"{binary} not built", pytrace=False)
        if not isinstance(url, str):
            url = f"http://{url.host}:{url.http_port}"
        log = tmp_path / f"{program}{len(started)}.stderr"
        w = WorkerProcess([str(binary), "--url", url, *args], log)
        started.append(w)
        return w

    yield start
    failures = [m for m in (w.stop() for w in started) if m]
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)


def run_to_end(server, queue, payload, timeout=sup.DEFAULT_TIMEOUT):
    """Enqueues a job and returns its id and its events up to the terminal one."""
    job = sup.enqueue(server.http, queue, payload)
    with server.sse(f"/v1/jobs/{job['id']}/events", timeout=timeout) as stream:
        return job["id"], stream.until_terminal(timeout)


def types(events):
    return [e.type for e in events]


def live_group_members(pgid):
    """Pids of processes (zombies excluded) in process group `pgid`."""
    pids = []
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            pids.append(int(stat.parent.name))
    return pids


# A command that prints its process group id, starts a grandchild and waits forever.
HANG = ["sh", "-c", "echo pgid=$$; sleep 300 & wait"]


def command(script):
    return ["--", "sh", "-c", script]


def test_command_success_events_and_result(redge_factory, workers):
    server = redge_factory()
    workers("redge-worker", server, "--queue", "chat", "--concurrency", "4",
            *command('cat >/dev/null; echo \'{"event":"progress","p":0.5}\'; echo hello; '
                     'echo \'{"answer":42}\''))
    _, events = run_to_end(server, "chat", {"q": 1})
    assert types(events) == ["queued", "started", "progress", "chunk", "completed"], events
    assert events[2].json == {"event": "progress", "p": 0.5}
    assert events[3].json == {"text": "hello"}
    assert events[4].json == {"result": {"answer": 42}}


def test_command_output_nested_too_deep_is_text(redge_factory, workers):
    """A line nesting deeper than redge accepts is sent as text (before: redge-worker
    crashed building and dumping it)."""
    server = redge_factory()
    deep = "[" * 100000 + "]" * 100000
    workers("redge-worker", server, "--queue", "q",
            *command("cat >/dev/null; python3 -c \"print('[' * 100000 + ']' * 100000)\""))
    _, events = run_to_end(server, "q", {"n": 1}, timeout=30)
    assert types(events) == ["queued", "started", "chunk", "completed"], events
    assert events[2].json == {"text": deep}
    assert events[3].json == {"result": {"output": deep + "\n"}}


def test_command_reads_payload_and_plain_output_is_the_result(redge_factory, workers):
    server = redge_factory()
    workers("redge-worker", server, "--queue", "q", *command("cat; echo done"))
    _, events = run_to_end(server, "q", {"text": "hi"})
    assert types(events) == ["queued", "started", "chunk", "chunk", "completed"], events
    # The payload line is JSON: held back, then a chunk once "done" followed it.
    assert events[2].json == {"text": '{"text":"hi"}'}
    assert events[4].json == {"result": {"output": '{"text":"hi"}\ndone\n'}}


def test_command_failure_fails_the_job(redge_factory, workers):
    server = redge_factory()
    w = workers("redge-worker", server, "--queue", "q", *command("echo oops >&2; exit 3"))
    job_id, events = run_to_end(server, "q", {})
    assert types(events) == ["queued", "started", "failed"], events
    assert events[-1].json == {"error": "exit code 3: oops"}
    w.wait_log(f"job {job_id} stderr: oops")


def test_command_failure_with_retry_until_max_attempts(redge_factory, workers):
    server = redge_factory("--max-attempts", "2")
    workers("redge-worker", server, "--queue", "q", "--retry-on-failure",
            *command("exit 1"))
    _, events = run_to_end(server, "q", {})
    assert types(events) == ["queued", "started", "retrying", "started", "failed"], events
    assert events[2].json["attempt"] == 2
    assert events[-1].json == {"error": "exit code 1"}


def test_command_timeout_kills_the_process_group(redge_factory, workers):
    server = redge_factory()
    workers("redge-worker", server, "--queue", "q", "--timeout", "1", "--", *HANG)
    job = sup.enqueue(server.http, "q", {})
    with server.sse(f"/v1/jobs/{job['id']}/events") as stream:
        events = stream.until_terminal()
    assert types(events) == ["queued", "started", "chunk", "failed"], events
    assert events[-1].json == {"error": "timeout"}
    pgid = int(events[2].json["text"].split("=")[1])
    sup.wait_until(lambda: not live_group_members(pgid), timeout=5,
                   what=f"process group {pgid} to be gone")


def test_cancel_kills_the_command(redge_factory, workers):
    # A short lease: heartbeats (lease/3) are how the worker learns of the cancel.
    server = redge_factory("--lease-timeout", "1.5")
    w = workers("redge-worker", server, "--queue", "q", "--", *HANG)
    job = sup.enqueue(server.http, "q", {})
    with server.sse(f"/v1/jobs/{job['id']}/events") as stream:
        started = stream.events(3)
        assert types(started) == ["queued", "started", "chunk"], started
        assert server.http.delete(f"/v1/jobs/{job['id']}").status == 200
        assert types(stream.until_terminal()) == ["canceled"]
    pgid = int(started[2].json["text"].split("=")[1])
    w.wait_log(f"job {job['id']}: canceled, killing process group {pgid}")
    sup.wait_until(lambda: not live_group_members(pgid), timeout=5,
                   what=f"process group {pgid} to be gone")
    assert sup.get_job(server.http, job["id"])["state"] == "canceled"


def test_heartbeats_keep_a_long_job_leased(redge_factory, workers):
    server = redge_factory("--lease-timeout", "0.5")
    workers("redge-worker", server, "--queue", "q",
            *command('sleep 1.6; echo \'{"slept":true}\''))
    _, events = run_to_end(server, "q", {})
    assert types(events) == ["queued", "started", "completed"], events
    assert events[-1].json == {"result": {"slept": True}}


def test_sdk_example_completes_a_job(redge_factory, workers):
    server = redge_factory()
    workers("worker_example", server, "--queue", "demo")
    _, events = run_to_end(server, "demo", {"text": "a b c"})
    assert types(events) == ["queued", "started", "chunk", "chunk", "chunk", "progress",
                             "completed"], events
    assert [e.json["text"] for e in events[2:5]] == ["a", "b", "c"]
    assert events[-1].json == {"result": {"words": 3, "attempt": 1}}


def test_sdk_example_sees_cancel(redge_factory, workers):
    server = redge_factory("--lease-timeout", "1.5")
    w = workers("worker_example", server, "--queue", "demo")
    job = sup.enqueue(server.http, "demo", {"sleep_s": 30})
    with server.sse(f"/v1/jobs/{job['id']}/events") as stream:
        assert types(stream.events(3)) == ["queued", "started", "progress"]
        assert server.http.delete(f"/v1/jobs/{job['id']}").status == 200
        assert types(stream.until_terminal()) == ["canceled"]
    w.wait_log(f"job {job['id']}: saw the cancel")


def test_sdk_example_fail_retries(redge_factory, workers):
    server = redge_factory("--max-attempts", "2")
    workers("worker_example", server, "--queue", "demo")
    _, events = run_to_end(server, "demo", {"fail": True})
    assert types(events) == ["queued", "started", "progress", "retrying", "started",
                             "progress", "failed"], events
    assert events[-1].json == {"error": "asked to fail"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_worker_reconnects_after_redge_restart(redge_factory, workers, tmp_path):
    port = free_port()
    data = tmp_path / "shared-data"
    flags = ("--http", f"127.0.0.1:{port}", "--data-dir", str(data))
    first = redge_factory(*flags)
    w = workers("redge-worker", f"http://127.0.0.1:{port}", "--queue", "q",
                "--lease-wait", "2", *command("echo ok"))
    job_id, events = run_to_end(first, "q", {})
    assert types(events)[-1] == "completed", events
    # The stream sees the completion when it commits, the worker when its reply arrives:
    # stopping redge in between (seen under ASan) leaves the worker retrying the complete,
    # not leasing.
    w.wait_log(f"job {job_id}: completed")
    assert first.stop() is None
    # The worker now backs off against a closed port...
    w.wait_log("lease on q failed")
    second = redge_factory(*flags)
    assert second.http_port == port
    # ...and takes the new server's job once it is back (backoff is capped at 5 s).
    _, events = run_to_end(second, "q", {"n": 2}, timeout=15)
    assert types(events) == ["queued", "started", "chunk", "completed"], events



def test_worker_finishes_a_job_across_a_redge_restart(redge_factory, workers, tmp_path):
    """redge stops while a command runs and the command ends while it is down: the
    completion is retried (with backoff) until a new redge on the same port and data
    takes it."""
    port = free_port()
    flags = ("--http", f"127.0.0.1:{port}", "--data-dir", str(tmp_path / "shared-data"))
    fifo = tmp_path / "release"
    os.mkfifo(fifo)
    first = redge_factory(*flags)
    w = workers("redge-worker", f"http://127.0.0.1:{port}", "--queue", "q",
                "--lease-wait", "2",
                *command(f"cat >/dev/null; echo go; cat {fifo} >/dev/null; echo '{{\"r\":1}}'"))
    job = sup.enqueue(first.http, "q", {})
    with first.sse(f"/v1/jobs/{job['id']}/events") as stream:
        assert types(stream.events(3)) == ["queued", "started", "chunk"]
    assert first.stop() is None
    fd = os.open(fifo, os.O_WRONLY)  # the command is parked reading it
    os.write(fd, b"release\n")
    os.close(fd)
    w.wait_log(f"job {job['id']}: complete failed")
    second = redge_factory(*flags)
    done = sup.wait_state(second.http, job["id"], sup.TERMINAL_STATES, timeout=20)
    assert done["state"] == "completed", done
    assert done["result"] == {"r": 1}
    # The lease (and its token) survived the restart: no retry, the same attempt.
    events = sup.get_job(second.http, job["id"], after=0)["events"]
    assert [e["event"] for e in events] == ["queued", "started", "chunk", "completed"], events


def test_sigterm_lets_the_running_job_finish(redge_factory, workers, tmp_path):
    server = redge_factory()
    fifo = tmp_path / "release"
    os.mkfifo(fifo)
    w = workers("redge-worker", server, "--queue", "q",
                *command(f"cat >/dev/null; echo go; cat {fifo} >/dev/null; echo '{{\"r\":1}}'"))
    job = sup.enqueue(server.http, "q", {})
    with server.sse(f"/v1/jobs/{job['id']}/events") as stream:
        assert types(stream.events(3)) == ["queued", "started", "chunk"]
        w.proc.send_signal(signal.SIGTERM)
        w.wait_log("stopping (running jobs may finish)")
        fd = os.open(fifo, os.O_WRONLY)
        os.write(fd, b"release\n")
        os.close(fd)
        events = stream.until_terminal()
    assert types(events) == ["completed"], events
    assert w.proc.wait(timeout=WORKER_STOP_TIMEOUT_S) == 0


def test_stop_grace_hands_the_job_back(redge_factory, workers):
    server = redge_factory()
    w = workers("redge-worker", server, "--queue", "q", "--stop-grace", "0.3", "--", *HANG)
    job = sup.enqueue(server.http, "q", {})
    with server.sse(f"/v1/jobs/{job['id']}/events") as stream:
        started = stream.events(3)
        assert types(started) == ["queued", "started", "chunk"]
        w.proc.send_signal(signal.SIGTERM)
        retrying = stream.next_event()
    assert retrying.type == "retrying", retrying
    assert retrying.json["attempt"] == 2
    assert w.proc.wait(timeout=WORKER_STOP_TIMEOUT_S) == 0
    pgid = int(started[2].json["text"].split("=")[1])
    sup.wait_until(lambda: not live_group_members(pgid), timeout=5,
                   what=f"process group {pgid} to be gone")
    assert sup.get_job(server.http, job["id"])["state"] == "queued"
