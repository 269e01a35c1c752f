"""One real redge process for the Python suites (tests/compat, tests/integration).

`RedgeProcess` starts

    $REDGE_BUILD_DIR/redge --resp 127.0.0.1:0 --http 127.0.0.1:0 --data-dir <dir>
                           --log-level warn [extra flags]

reads the one stdout line `redge ready resp_port=<N> http_port=<M>` (with a timeout) to
learn its ports, keeps draining stdout, and at stop() sends SIGTERM (SIGKILL after 10 s)
and reports every way the process misbehaved: it died on its own, did not stop, exited
non-zero, was killed by a signal, or printed more on stdout. A crash never passes
silently. The suites' conftests subclass it to add their clients (`close_clients`).
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

READY_RE = re.compile(rb"^redge ready resp_port=(-?\d+) http_port=(-?\d+)\r?\n$")
READY_TIMEOUT_S = 30
STOP_TIMEOUT_S = 10


def redge_binary():
    """build/redge, or $REDGE_BUILD_DIR/redge."""
    root = pathlib.Path(__file__).resolve().parent.parent
    return pathlib.Path(os.environ.get("REDGE_BUILD_DIR", root / "build")) / "redge"


def time_scale():
    """How many times slower than a release build the binaries under test run. The
    sanitizer suites of tools/test.sh set REDGE_TEST_TIME_SCALE (3 under ASan); tests
    multiply their timing bounds by it, never their functional checks."""
    return float(os.environ.get("REDGE_TEST_TIME_SCALE", "1"))


def every_test_must_run():
    """True under CI (.ci/run sets REDGE_REQUIRE_ALL=1; CI=true counts too): there a test
    that cannot run for want of a package, a browser, node or root fails instead of
    skipping, so a missing dependency can never pass as green."""
    return os.environ.get("REDGE_REQUIRE_ALL") == "1" or os.environ.get("CI") == "true"


def skip_unless_ci(reason):
    """Skips the calling test with `reason`, or fails it when every test must run."""
    import pytest
    if every_test_must_run():
        pytest.fail(f"{reason} (under CI every test must run: install what is missing)")
    pytest.skip(reason)


def sanitized_build():
    """Whether the binaries under test are a sanitizer build (tools/test.sh sets
    REDGE_SANITIZED=1 for its ASan+UBSan suite). A few tests measure what a sanitizer
    changes (RSS, with ASan's shadow memory and quarantine) or starve the process of file
    descriptors, which the sanitizer runtime itself needs (UBSan probes memory through a
    pipe, reports are files): those run in the regular suite and are skipped there."""
    return os.environ.get("REDGE_SANITIZED") == "1"


def raise_nofile_limit(want=16384):
    """Raises RLIMIT_NOFILE of this process (and so of every redge started after it) to
    `want` or the hard limit; returns the (soft, hard) limits afterwards."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


class RedgeProcess:
    """The process, its ports and its stderr log (workdir/redge.stderr)."""

    def __init__(self, binary, workdir, extra_args, data_dir=None, nofile=None):
        self.binary = pathlib.Path(binary)
        self.workdir = pathlib.Path(workdir)
        self.data_dir = pathlib.Path(data_dir) if data_dir else self.workdir / "data"
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
        # (soft, hard) RLIMIT_NOFILE for the server process, or None to inherit ours.
        self.nofile = nofile

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
            preexec_fn=(lambda: resource.setrlimit(resource.RLIMIT_NOFILE, self.nofile))
            if self.nofile else None,
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

    def _release(self):
        if self._drain:
            self._drain.join(timeout=5)
        self.proc.stdout.close()
        self._log.close()
        self.proc = None

    def log_tail(self, n=40):
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no stderr log)"
        return "redge stderr (last lines):\n" + "\n".join(lines[-n:])

    def close_clients(self):
        """Closes what the test opened; subclasses that hand out clients override it."""

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
        self._release()
        if self.extra_stdout.strip():
            problems.append(
                "redge printed more than its one ready line on stdout: "
                f"{self.extra_stdout[:500]!r}"
            )
        if problems:
            return "; ".join(problems) + f" (args {self.args})\n" + self.log_tail()
        return None

    def kill_on_purpose(self):
        """SIGKILLs the server as a crash test does; stop() then expects nothing more."""
        self.close_clients()
        self.proc.kill()
        self.proc.wait()
        self._release()

    def running(self):
        return self.proc is not None and self.proc.poll() is None


def server_factory(make, tmp_path):
    """The body of a `redge_factory` fixture: yields start(*flags, **kw) -> started server
    made by make(workdir, flags, **kw); stops and checks every server at teardown."""
    servers = []

    def start(*extra_args, **kwargs):
        server = make(tmp_path / f"redge{len(servers)}", extra_args, **kwargs)
        servers.append(server)
        return server.start()

    yield start
    failures = [msg for msg in (s.stop() for s in servers) if msg]
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)
