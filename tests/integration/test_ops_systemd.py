"""redge under a service manager: the sd_notify protocol over $NOTIFY_SOCKET.

Each test plays systemd: it binds its own AF_UNIX datagram socket (a filesystem path, or
a name in the abstract namespace for NOTIFY_SOCKET=@name), starts redge with
NOTIFY_SOCKET pointing at it and reads the datagrams redge sends. Every wait is bounded
and waits for the datagram itself (socket timeouts), never a sleep standing in for it.

redge is started here rather than through conftest's fixture because the fixture waits
for the stdout ready line, and these tests must see READY=1 on the socket first.
"""

import os
import pathlib
import re
import signal
import selectors
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request
import uuid

import pytest

import integration_support as sup

READY_TIMEOUT_S = 30
STOP_TIMEOUT_S = 10
# Python's socket module lacks SO_TIMESTAMP; 29 on Linux's generic and x86 ABIs (a
# struct timeval of two longs follows as ancillary data).
SO_TIMESTAMP = getattr(socket, "SO_TIMESTAMP", 29)
STATUS_RE = re.compile(r"^serving: http 127\.0\.0\.1:(\d+), resp 127\.0\.0\.1:(\d+)$")


class Manager:
    """The service manager's end: a datagram socket and the messages read from it."""

    def __init__(self, abstract=False):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._dir = None
        if abstract:
            name = f"redge-test-{uuid.uuid4().hex}"
            self.sock.bind(b"\0" + name.encode())
            self.notify_socket = "@" + name
        else:
            # A short directory of its own: sun_path holds 107 bytes, pytest's tmp_path
            # can be longer.
            self._dir = tempfile.TemporaryDirectory(prefix="redge-notify-")
            path = os.path.join(self._dir.name, "notify.sock")
            self.sock.bind(path)
            self.notify_socket = path
        # The kernel stamps each datagram as it arrives, so gaps between pings are measured
        # where redge sent them, not when this (possibly descheduled) test read them.
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMP, 1)
        self.received = []  # (arrival time in s, {key: value}) in arrival order

    def recv(self, timeout):
        """The next datagram as a dict of its assignments; fails after `timeout` s."""
        self.sock.settimeout(timeout)
        try:
            data, ancdata, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(16))
        except socket.timeout:
            raise AssertionError(
                f"no notification within {timeout}s; received so far "
                f"{[m for _, m in self.received]!r}") from None
        arrived = time.time()
        for level, kind, value in ancdata:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMP:
                sec, usec = struct.unpack("qq", value[:16])
                arrived = sec + usec / 1e6
        fields = dict(line.split("=", 1) for line in data.decode().split("\n") if line)
        self.received.append((arrived, fields))
        return fields

    def recv_until(self, key, timeout):
        """Reads datagrams until one sets `key`; returns (that one, the ones before)."""
        deadline = time.monotonic() + timeout
        before = []
        while True:
            msg = self.recv(max(deadline - time.monotonic(), 0.001))
            if key in msg:
                return msg, before
            before.append(msg)

    def assert_silent(self, wait):
        """Nothing arrives for `wait` seconds."""
        self.sock.settimeout(wait)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return
        raise AssertionError(f"unexpected notification {data!r}")

    def close(self):
        self.sock.close()
        if self._dir:
            self._dir.cleanup()


class Service:
    """One redge process started with a notify socket, stopped and checked at teardown."""

    def __init__(self, workdir):
        self.workdir = pathlib.Path(workdir)
        self.proc = None
        self.stderr_path = self.workdir / "redge.stderr"
        self._stdout = b""

    def start(self, env_extra, argv_prefix=(), extra_args=()):
        binary = sup.redge_binary()
        if not binary.exists():
            pytest.fail(f"redge binary not found at {binary}: build it first", pytrace=False)
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items()
               if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}
        env.update(env_extra)
        args = [*argv_prefix, str(binary),
                "--resp", "127.0.0.1:0", "--http", "127.0.0.1:0",
                "--data-dir", str(self.workdir / "data"), "--log-level", "warn", *extra_args]
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=err,
                                         start_new_session=True)
        return self.proc

    def ready_line(self, timeout=READY_TIMEOUT_S):
        """redge's stdout ready line (it prints nothing else), read with a deadline."""
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while not self._stdout.endswith(b"\n"):
                left = deadline - time.monotonic()
                assert left > 0, f"no ready line within {timeout}s\n{self.stderr()}"
                if sel.select(timeout=left):
                    chunk = os.read(self.proc.stdout.fileno(), 4096)
                    assert chunk, f"redge exited before its ready line\n{self.stderr()}"
                    self._stdout += chunk
        return self._stdout.decode()

    def terminate(self):
        """SIGTERM; returns the exit code (fails if redge does not exit in time)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"redge did not exit within {STOP_TIMEOUT_S}s of SIGTERM")

    def stderr(self):
        return self.stderr_path.read_text(errors="replace")

    def cleanup(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc:
            self.proc.stdout.close()


@pytest.fixture
def service(tmp_path):
    s = Service(tmp_path / "svc")
    yield s
    s.cleanup()


@pytest.fixture
def manager():
    m = Manager()
    yield m
    m.close()


def assert_serving(http_port, resp_port):
    """Both listeners accept a connection and answer: PING over RESP, /healthz over HTTP."""
    with socket.create_connection(("127.0.0.1", resp_port), timeout=5) as c:
        c.sendall(b"PING\r\n")
        assert c.recv(64) == b"+PONG\r\n"
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/healthz", timeout=5) as r:
        assert r.status == 200


def ready_ports(msg):
    """The (http, resp) ports from READY=1's STATUS=serving: http ..., resp ...."""
    assert msg.get("READY") == "1", msg
    m = STATUS_RE.match(msg.get("STATUS", ""))
    assert m, f"READY=1 without the serving STATUS: {msg!r}"
    return int(m.group(1)), int(m.group(2))


def stdout_ports(service):
    """The (http, resp) ports from redge's stdout ready line."""
    line = service.ready_line()
    m = re.match(r"^redge ready resp_port=(\d+) http_port=(\d+)\n$", line)
    assert m, f"stdout is {line!r}"
    return int(m.group(2)), int(m.group(1))


def run_ready_stop(service, manager):
    """READY=1 once both listeners serve, then SIGTERM: STOPPING=1 and exit 0."""
    service.start({"NOTIFY_SOCKET": manager.notify_socket})
    msg = manager.recv(READY_TIMEOUT_S)
    http_port, resp_port = ready_ports(msg)
    # The moment READY=1 is in, both ports must serve: no retry, no wait.
    assert_serving(http_port, resp_port)
    assert (http_port, resp_port) == stdout_ports(service)
    # Without WATCHDOG_USEC there are no pings, and nothing else until shutdown.
    manager.assert_silent(0.3)

    rc = service.terminate()
    stopping, before = manager.recv_until("STOPPING", STOP_TIMEOUT_S)
    assert stopping == {"STOPPING": "1"}
    assert before == [], f"unexpected notifications before STOPPING=1: {before!r}"
    assert rc == 0, f"redge exited with {rc}\n{service.stderr()}"
    assert [m for _, m in manager.received if "READY" in m] == [msg], "READY=1 sent twice"


def test_ready_after_listeners_then_stopping_on_sigterm(service, manager):
    run_ready_stop(service, manager)


def test_abstract_namespace_socket(service):
    manager = Manager(abstract=True)
    try:
        assert manager.notify_socket.startswith("@")
        run_ready_stop(service, manager)
    finally:
        manager.close()


def test_watchdog_pings_until_shutdown(service, manager):
    # 200 ms: redge pings every 100 ms (half the interval, as sd_watchdog_enabled advises).
    service.start({"NOTIFY_SOCKET": manager.notify_socket, "WATCHDOG_USEC": "200000"})
    ready_ports(manager.recv(READY_TIMEOUT_S))
    ready_at = manager.received[-1][0]
    pings = []
    for _ in range(8):
        msg = manager.recv(2.0)
        assert msg == {"WATCHDOG": "1"}, msg
        pings.append(manager.received[-1][0])
    # The first ping follows READY=1 at once (systemd arms the watchdog on READY=1), then
    # one every ~100 ms. A burst (gaps near 0) would mean a busy loop; a gap of 200 ms
    # or more would let systemd's watchdog fire.
    assert pings[0] - ready_at < 0.1
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    assert 0.08 <= sum(gaps) / len(gaps) <= 0.13, f"ping gaps {gaps}"
    assert max(gaps) < 0.2, f"ping gaps {gaps}"

    rc = service.terminate()
    _, before = manager.recv_until("STOPPING", STOP_TIMEOUT_S)
    assert all(m == {"WATCHDOG": "1"} for m in before), before
    # The ping thread is stopped before STOPPING=1 is sent: nothing follows it.
    manager.assert_silent(0.3)
    assert rc == 0, f"redge exited with {rc}\n{service.stderr()}"


def test_watchdog_pid_of_this_process(service, manager):
    # WATCHDOG_PID must name redge itself; `exec` keeps the shell's pid for redge.
    service.start(
        {"NOTIFY_SOCKET": manager.notify_socket, "WATCHDOG_USEC": "200000"},
        argv_prefix=("/bin/sh", "-c", 'WATCHDOG_PID=$$ exec "$@"', "sh"))
    ready_ports(manager.recv(READY_TIMEOUT_S))
    assert manager.recv(2.0) == {"WATCHDOG": "1"}
    assert manager.recv(2.0) == {"WATCHDOG": "1"}
    assert service.terminate() == 0
    manager.recv_until("STOPPING", STOP_TIMEOUT_S)


@pytest.mark.parametrize("watchdog_env", [
    # The variables were meant for another process (e.g. inherited from a parent the
    # manager watches): redge must not ping on its behalf.
    {"WATCHDOG_USEC": "200000", "WATCHDOG_PID": str(os.getpid())},
    {"WATCHDOG_USEC": "200000", "WATCHDOG_PID": "not-a-pid"},
    # Values sd_watchdog_enabled rejects too.
    {"WATCHDOG_USEC": "0"},
    {"WATCHDOG_USEC": "200ms"},
], ids=["other-pid", "bad-pid", "zero-usec", "bad-usec"])
def test_no_watchdog_pings_unless_meant_for_redge(service, manager, watchdog_env):
    service.start({"NOTIFY_SOCKET": manager.notify_socket, **watchdog_env})
    ready_ports(manager.recv(READY_TIMEOUT_S))
    manager.assert_silent(0.5)  # five ping periods
    assert service.terminate() == 0
    _, before = manager.recv_until("STOPPING", STOP_TIMEOUT_S)
    assert before == []


def test_unreachable_notify_socket_is_ignored(service):
    # No one listens there: every send fails, redge logs that at debug, serves and stops
    # as usual.
    with tempfile.TemporaryDirectory(prefix="redge-notify-") as d:
        service.start({"NOTIFY_SOCKET": os.path.join(d, "nobody.sock"),
                       "WATCHDOG_USEC": "200000"}, extra_args=("--log-level", "debug"))
        assert_serving(*stdout_ports(service))
        assert service.terminate() == 0, service.stderr()
    log = service.stderr()
    assert "systemd notify: send failed" in log and "READY=1" in log, log[-2000:]
