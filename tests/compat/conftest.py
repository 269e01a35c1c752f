"""Fixtures of the compat suite: real redge processes, real Redis clients.

Every test gets a fresh redge (`redge` fixture) started as

    $REDGE_BUILD_DIR/redge --resp 127.0.0.1:0 --data-dir <tmp> --log-level warn [extra]

(REDGE_BUILD_DIR defaults to ../../build relative to this file). The server prints one
stdout line `redge ready resp_port=<N>` once it listens; the fixture reads it (with a
timeout) to learn the port. At teardown the server gets SIGTERM (SIGKILL after 10 s) and
the test fails if the server had died on its own, did not stop, exited non-zero or was
killed by a signal: a crash never passes silently.

`redge_factory(*extra_args, data_dir=None)` starts servers with extra flags
(--requirepass, ...), optionally on a given data directory (restarts).
"""

import os
import pathlib
import re
import resource
import selectors
import signal
import subprocess
import threading
import time

import pytest
import redis

import compat_support

READY_RE = re.compile(rb"^redge ready resp_port=(\d+)[^\r\n]*\r?\n$")
READY_TIMEOUT_S = 30
STOP_TIMEOUT_S = 10


def _raise_nofile_limit(want=8192):
    """Raises RLIMIT_NOFILE of this process (and so of every redge it starts)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    if soft == resource.RLIM_INFINITY or soft >= want:
        return
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


_raise_nofile_limit()


class RedgeServer:
    """One redge process with its RESP port and the clients the test opened on it."""

    def __init__(self, binary, workdir, extra_args, data_dir=None):
        self.binary = pathlib.Path(binary)
        self.workdir = pathlib.Path(workdir)
        self.data_dir = pathlib.Path(data_dir) if data_dir else self.workdir / "data"
        self.extra_args = [str(a) for a in extra_args]
        self.password = None
        if "--requirepass" in self.extra_args:
            self.password = self.extra_args[self.extra_args.index("--requirepass") + 1]
        self.host = "127.0.0.1"
        self.port = None
        self.proc = None
        self.log_path = self.workdir / "redge.stderr"
        self.extra_stdout = b""
        self._clients = []
        self._raws = []
        self._drain = None

    # -- lifecycle -------------------------------------------------------------------
    def start(self):
        if not self.binary.exists():
            pytest.fail(
                f"redge binary not found at {self.binary}: build it first "
                "(cmake --build build --target redge) or set REDGE_BUILD_DIR",
                pytrace=False,
            )
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.args = [
            str(self.binary),
            "--resp", "127.0.0.1:0",
            "--http", "127.0.0.1:0",
            "--data-dir", str(self.data_dir),
            "--log-level", "warn",
            *self.extra_args,
        ]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            self.args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
            start_new_session=True,
        )
        line = self._read_ready_line()
        m = READY_RE.match(line)
        if not m:
            self._kill()
            pytest.fail(
                f"redge's first stdout line is {line!r}, expected "
                f"'redge ready resp_port=<N>'\n{self.log_tail()}",
                pytrace=False,
            )
        self.port = int(m.group(1))
        assert 0 < self.port < 65536
        self._drain = threading.Thread(target=self._drain_stdout, daemon=True)
        self._drain.start()
        return self

    def _read_ready_line(self):
        fd = self.proc.stdout.fileno()
        sel = selectors.DefaultSelector()
        sel.register(fd, selectors.EVENT_READ)
        buf = b""
        deadline = time.monotonic() + READY_TIMEOUT_S
        try:
            while b"\n" not in buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._kill()
                    pytest.fail(
                        f"redge printed no ready line within {READY_TIMEOUT_S}s "
                        f"(got {buf!r})\n{self.log_tail()}",
                        pytrace=False,
                    )
                if not sel.select(timeout=left):
                    continue
                chunk = os.read(fd, 4096)
                if not chunk:
                    rc = self.proc.wait(timeout=STOP_TIMEOUT_S)
                    pytest.fail(
                        f"redge exited (code {rc}) before printing its ready line "
                        f"(stdout {buf!r}); args {self.args}\n{self.log_tail()}",
                        pytrace=False,
                    )
                buf += chunk
        finally:
            sel.close()
        line, _, rest = buf.partition(b"\n")
        self.extra_stdout += rest
        return line + b"\n"

    def _drain_stdout(self):
        fd = self.proc.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.extra_stdout += chunk

    def _kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, n=40):
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no stderr log)"
        return "redge stderr (last lines):\n" + "\n".join(lines[-n:])

    def close_clients(self):
        for c in self._clients:
            try:
                c.close()
                c.connection_pool.disconnect()
            except Exception:
                pass
        for raw in self._raws:
            raw.close()
        self._clients.clear()
        self._raws.clear()

    def stop(self):
        """Stops the server; returns a failure message, or None if all went well."""
        if self.proc is None:
            return None
        self.close_clients()
        problems = []
        rc = self.proc.poll()
        if rc is not None:
            problems.append(f"redge exited on its own during the test (code {rc})")
        else:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                rc = None
                problems.append(f"redge did not exit within {STOP_TIMEOUT_S}s of SIGTERM")
        if rc is not None and rc < 0:
            problems.append(f"redge was killed by signal {signal.Signals(-rc).name}")
        elif rc:
            problems.append(f"redge exited with code {rc}")
        if self._drain:
            self._drain.join(timeout=5)
        self.proc.stdout.close()
        self._log.close()
        if self.extra_stdout.strip():
            problems.append(
                "redge printed more than its one ready line on stdout: "
                f"{self.extra_stdout[:500]!r}"
            )
        self.proc = None
        if problems:
            return "; ".join(problems) + f" (args {self.args})\n" + self.log_tail()
        return None

    def kill_on_purpose(self):
        """SIGKILLs the server as a crash test does; teardown then expects nothing more."""
        self.close_clients()
        self.proc.kill()
        self.proc.wait()
        if self._drain:
            self._drain.join(timeout=5)
        self.proc.stdout.close()
        self._log.close()
        self.proc = None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    # -- clients ---------------------------------------------------------------------
    def client(self, **kwargs):
        """A redis-py client (decoded str replies unless told otherwise)."""
        kwargs.setdefault("decode_responses", True)
        kwargs.setdefault("socket_timeout", 20)
        kwargs.setdefault("socket_connect_timeout", 10)
        c = redis.Redis(host=self.host, port=self.port, **kwargs)
        self._clients.append(c)
        return c

    def raw(self, timeout=10):
        """A raw socket speaking RESP by hand (compat_support.RawConn)."""
        conn = compat_support.RawConn(self.host, self.port, timeout=timeout)
        self._raws.append(conn)
        return conn

    def assert_serving(self):
        """The process is alive and a brand-new connection gets PONG."""
        assert self.running(), "redge is not running any more\n" + self.log_tail()
        with compat_support.RawConn(self.host, self.port, timeout=10) as c:
            if self.password is not None:
                assert c.call("AUTH", self.password) == "OK"
            assert c.call("PING") == "PONG"


@pytest.fixture
def redge_factory(tmp_path):
    """Starts redge processes with extra flags; all are stopped and checked at teardown."""
    servers = []

    def start(*extra_args, data_dir=None):
        server = RedgeServer(compat_support.redge_binary(), tmp_path / f"redge{len(servers)}",
                             extra_args, data_dir=data_dir)
        servers.append(server)
        return server.start()

    yield start
    failures = [msg for msg in (s.stop() for s in servers) if msg]
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)


@pytest.fixture
def redge(redge_factory):
    """A fresh redge with default flags."""
    return redge_factory()


@pytest.fixture
def r(redge):
    """A redis-py client on the fresh redge."""
    return redge.client()
