"""Fixtures of the integration suite: a real redge process with its HTTP and RESP listeners.

Every test gets a fresh redge started as

    $REDGE_BUILD_DIR/redge --resp 127.0.0.1:0 --http 127.0.0.1:0 --data-dir <tmp>
                           --log-level warn [extra flags]

(REDGE_BUILD_DIR defaults to build/ at the top of the repository). The server prints one
stdout line `redge ready resp_port=<N> http_port=<M>` once both listeners are up; the
fixture reads it with a timeout. At teardown the test's clients are closed, the server
gets SIGTERM (SIGKILL after 10 s) and the test fails if the server died on its own, did
not stop, exited non-zero, was killed by a signal or printed more on stdout: a crash never
passes silently.

Fixtures:
- `redge_factory(*extra_flags)` starts a server with extra flags and returns it.
- `redge`: a server with default flags.
- `http`: an integration_support.Http on `redge`.
- `r`: a redis-py client on `redge`.
"""

import os
import pathlib
import re
import selectors
import signal
import subprocess
import threading
import time

import pytest
import redis

import integration_support as sup

READY_RE = re.compile(rb"^redge ready resp_port=(\d+) http_port=(\d+)\r?\n$")
READY_TIMEOUT_S = 30
STOP_TIMEOUT_S = 10


# Every redge started by this suite inherits the raised limit (1,000-stream test).
sup.raise_nofile_limit()


class RedgeServer:
    """One redge process: its ports, an Http helper and the clients the test opened."""

    def __init__(self, binary, workdir, extra_args):
        self.binary = pathlib.Path(binary)
        self.workdir = pathlib.Path(workdir)
        self.data_dir = self.workdir / "data"
        self.extra_args = [str(a) for a in extra_args]
        self.host = "127.0.0.1"
        self.resp_port = None
        self.http_port = None
        self.proc = None
        self.args = []
        self.log_path = self.workdir / "redge.stderr"
        self.extra_stdout = b""
        self._drain = None
        self._log = None
        self._closers = []
        self.http = None

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
                f"'redge ready resp_port=<N> http_port=<M>'\n{self.log_tail()}",
                pytrace=False,
            )
        self.resp_port = int(m.group(1))
        self.http_port = int(m.group(2))
        assert 0 < self.resp_port < 65536 and 0 < self.http_port < 65536
        self.http = sup.Http(self.host, self.http_port)
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
                    self._log.close()
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
        for close in reversed(self._closers):
            try:
                close()
            except Exception:
                pass
        self._closers.clear()

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

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    # -- clients ---------------------------------------------------------------------
    def client(self, **kwargs):
        """A redis-py client on the RESP port (decoded str replies unless told otherwise).

        Workers pass single_connection_client=True so every command of theirs comes from
        one RESP connection (redge tracks lease holders per connection).
        """
        kwargs.setdefault("decode_responses", True)
        kwargs.setdefault("socket_timeout", 20)
        kwargs.setdefault("socket_connect_timeout", 10)
        c = redis.Redis(host=self.host, port=self.resp_port, **kwargs)

        def close():
            c.close()
            c.connection_pool.disconnect()

        self._closers.append(close)
        return c

    def worker(self, name=None, **kwargs):
        """A redis-py client on one dedicated connection, named with CLIENT SETNAME."""
        kwargs.setdefault("single_connection_client", True)
        if name:
            kwargs["client_name"] = name
        return self.client(**kwargs)

    def sse(self, path, headers=None, timeout=sup.DEFAULT_TIMEOUT):
        """An SseClient on this server's HTTP port (closed at teardown)."""
        s = sup.SseClient(self.host, self.http_port, path, headers=headers, timeout=timeout)
        self._closers.append(s.close)
        return s

    def http_with_token(self, token):
        return sup.Http(self.host, self.http_port, token=token)


@pytest.fixture
def redge_factory(tmp_path):
    """Starts redge processes with extra flags; all are stopped and checked at teardown."""
    servers = []

    def start(*extra_args):
        server = RedgeServer(sup.redge_binary(), tmp_path / f"redge{len(servers)}", extra_args)
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
def http(redge):
    return redge.http


@pytest.fixture
def r(redge):
    """A redis-py client on the fresh redge."""
    return redge.client()
