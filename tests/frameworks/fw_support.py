"""Helpers of the frameworks suite: the server under test, subprocesses, condition waits.

The suite runs real frameworks (Celery, channels_redis, Django Channels, python-socketio,
RQ) unchanged against a server that speaks RESP. Which server is chosen by
REDGE_TEST_TARGET:

- unset or `redge`: a real redge process (tests/redge_process.py), the product under test;
- `redis`: a real redis-server (Debian's 7.0, or $REDIS_SERVER) on an ephemeral port with
  a temporary directory and no persistence, so the very same tests are validated against
  the reference implementation.

Every wait is `wait_for(condition, timeout, what)`: the condition is checked until it
holds or the deadline passes; the processes given as `watch` are checked on every round,
so a worker that dies ends the wait at once with its log instead of at the deadline.
"""

import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest
import redis

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import redge_process  # noqa: E402  (tests/ is put on the path just above)

PYTHON = "/usr/bin/python3"
APPS_DIR = pathlib.Path(__file__).resolve().parent / "apps"
TARGETS = ("redge", "redis")
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 10
POLL_INTERVAL_S = 0.05
# How a server answers a command it does not have (Redis's wording, which redge keeps).
UNKNOWN_COMMAND_RE = re.compile(r"unknown command '([^']*)'")


def target_name():
    """`redge` (default) or `redis`, from REDGE_TEST_TARGET; anything else is an error."""
    name = os.environ.get("REDGE_TEST_TARGET", "redge") or "redge"
    if name not in TARGETS:
        raise pytest.UsageError(f"REDGE_TEST_TARGET={name!r}: expected one of {TARGETS}")
    return name


# -- waiting ---------------------------------------------------------------------------
def wait_for(condition, timeout, what, watch=()):
    """Calls condition() until it returns a truthy value (returned) or `timeout` seconds
    pass (the test fails, saying `what` it waited for). Every process in `watch` (Proc)
    must stay alive meanwhile: one that exits fails the test at once, with its log."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        for proc in watch:
            if not proc.alive():
                pytest.fail(
                    f"{proc.name} exited (code {proc.returncode()}) while waiting for "
                    f"{what}{proc.unknown_commands_note()}\n{proc.log_tail()}",
                    pytrace=False,
                )
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}", pytrace=False)
        time.sleep(POLL_INTERVAL_S)


# -- subprocesses ----------------------------------------------------------------------
# Every Proc started and not yet reaped; conftest's report hook appends their logs to
# the report of a failing test.
LIVE_PROCS = []


class Proc:
    """A subprocess in its own session (so a kill reaches its children too) whose stdout
    and stderr go to one log file. Registered in LIVE_PROCS until kill() reaps it."""

    def __init__(self, name, args, cwd, env=None, log_path=None):
        self.name = name
        self.args = [str(a) for a in args]
        self.cwd = pathlib.Path(cwd)
        self.env = dict(os.environ if env is None else env)
        self.env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
        self.env.setdefault("PYTHONUNBUFFERED", "1")
        self.log_path = pathlib.Path(log_path or self.cwd / f"{name}.log")
        self.proc = None

    def start(self):
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                self.args,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        LIVE_PROCS.append(self)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def returncode(self):
        return None if self.proc is None else self.proc.poll()

    def wait_exit(self, timeout):
        """Waits for the process to exit on its own; returns its exit code."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(
                f"{self.name} did not exit within {timeout}s{self.unknown_commands_note()}"
                f"\n{self.log_tail()}",
                pytrace=False,
            )

    def signal_group(self, sig):
        """Sends `sig` to the whole process group (the worker and its pool children)."""
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self):
        """SIGKILLs the process group and reaps the process. Idempotent."""
        if self.proc is None:
            return
        self.signal_group(signal.SIGKILL)
        try:
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass
        if self in LIVE_PROCS:
            LIVE_PROCS.remove(self)

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def unknown_commands(self):
        """The commands the server refused as unknown in this process's whole log, in
        order of first appearance."""
        return list(dict.fromkeys(UNKNOWN_COMMAND_RE.findall(self.log_text())))

    def unknown_commands_note(self):
        names = self.unknown_commands()
        return f"; unknown commands in its log: {', '.join(names)}" if names else ""

    def log_tail(self, n=60):
        lines = self.log_text().splitlines()
        return (f"---- {self.name} log ({self.log_path}), last {min(n, len(lines))} lines "
                f"----\n" + "\n".join(lines[-n:]))


class ProcGroup:
    """The subprocesses of one fixture scope; kill_all() ends every one of them."""

    def __init__(self, workdir):
        self.workdir = pathlib.Path(workdir)
        self.procs = []

    def start(self, name, args, env=None, cwd=None):
        proc = Proc(name, args, cwd or self.workdir, env=env,
                    log_path=self.workdir / f"{name}.log")
        self.procs.append(proc)
        return proc.start()

    def kill_all(self):
        for proc in self.procs:
            proc.kill()


def copy_app(name, workdir, as_name=None):
    """Copies tests/frameworks/apps/<name>.py into workdir (as <as_name>.py)."""
    dest = pathlib.Path(workdir) / f"{as_name or name}.py"
    shutil.copyfile(APPS_DIR / f"{name}.py", dest)
    return dest


def python_env(workdir, url, **extra):
    """The environment of a framework subprocess: the app directory on sys.path and the
    server's URL in FW_REDIS_URL."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(workdir)
    env["FW_REDIS_URL"] = url
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    env.update({k: str(v) for k, v in extra.items()})
    return env


# -- the server under test ---------------------------------------------------------------
class Target:
    """What the tests see of the server: host, port, url, name, clients, log tail."""

    name = "?"
    host = "127.0.0.1"

    def __init__(self):
        self._clients = []

    @property
    def port(self):
        raise NotImplementedError

    @property
    def url(self):
        return f"redis://{self.host}:{self.port}/0"

    def client(self, **kwargs):
        """A redis-py client, decoded replies unless told otherwise; closed at stop."""
        kwargs.setdefault("decode_responses", True)
        kwargs.setdefault("socket_timeout", 20)
        kwargs.setdefault("socket_connect_timeout", 10)
        c = redis.Redis(host=self.host, port=self.port, **kwargs)
        self._clients.append(c)
        return c

    def close_clients(self):
        for c in self._clients:
            try:
                c.close()
                c.connection_pool.disconnect()
            except Exception:
                pass
        self._clients.clear()


class RedgeTarget(Target):
    """A real redge process (tests/redge_process.py): ephemeral ports, fresh data dir."""

    name = "redge"

    def __init__(self, workdir, extra_args=()):
        super().__init__()
        self.process = redge_process.RedgeProcess(
            redge_process.redge_binary(), workdir, list(extra_args))

    @property
    def port(self):
        return self.process.resp_port

    def start(self):
        self.process.start()
        return self

    def log_tail(self, n=40):
        return self.process.log_tail(n)

    def running(self):
        return self.process.running()

    def stop(self):
        self.close_clients()
        return self.process.stop()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisTarget(Target):
    """A real redis-server on an ephemeral port: temp dir, `--save '' --appendonly no`.
    redis-server cannot bind port 0 and report it, so a free port is picked and the start
    retried on another one if someone takes it first."""

    name = "redis"

    def __init__(self, workdir):
        super().__init__()
        self.binary = os.environ.get("REDIS_SERVER", "/usr/bin/redis-server")
        self.workdir = pathlib.Path(workdir)
        self.log_path = self.workdir / "redis-server.log"
        self._port = None
        self.proc = None

    @property
    def port(self):
        return self._port

    def start(self):
        if not shutil.which(self.binary):
            pytest.fail(f"{self.binary} not found (apt-get install redis-server)",
                        pytrace=False)
        self.workdir.mkdir(parents=True, exist_ok=True)
        for _ in range(5):
            port = _free_port()
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    [self.binary, "--port", str(port), "--bind", "127.0.0.1",
                     "--save", "", "--appendonly", "no", "--dir", str(self.workdir),
                     "--daemonize", "no"],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True)
            if self._wait_ready(port):
                self._port = port
                return self
            self._kill()
        pytest.fail(f"redis-server did not start\n{self.log_tail()}", pytrace=False)

    def _wait_ready(self, port):
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False  # e.g. the port was taken in between: try another
            try:
                with redis.Redis(host=self.host, port=port, socket_timeout=2) as c:
                    if c.info("server")["process_id"] == self.proc.pid:
                        return True
                    return False  # someone else's server on that port
            except redis.exceptions.ConnectionError:
                time.sleep(POLL_INTERVAL_S)
        return False

    def _kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=40):
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no redis-server log)"
        return "redis-server log (last lines):\n" + "\n".join(lines[-n:])

    def stop(self):
        self.close_clients()
        if self.proc is None:
            return None
        problem = None
        rc = self.proc.poll()
        if rc is not None:
            problem = f"redis-server exited on its own during the test (code {rc})"
        else:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._kill()
                problem = f"redis-server did not exit within {STOP_TIMEOUT_S}s of SIGTERM"
        self.proc = None
        return problem and problem + "\n" + self.log_tail()


def make_target(workdir):
    """An unstarted target of the kind REDGE_TEST_TARGET asks for."""
    if target_name() == "redis":
        return RedisTarget(workdir)
    return RedgeTarget(workdir)
