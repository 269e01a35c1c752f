"""Side-by-side runs against a real Redis 7.0: the same commands to redis-server and to
redge, replies compared byte for byte on the wire.

`reference_redis` is a module-scoped fixture: a redis-server (Debian's /usr/bin/redis-server,
7.0) on an ephemeral port, no persistence, killed at module teardown. `differ` (per test)
pairs it with the test's fresh redge and flushes the reference first. Import both into a
test module: `from differential import reference_redis, differ  # noqa: F401`.

    differ.same("HSET", "h", "a", "1")          # identical raw replies
    differ.same_unordered("HKEYS", "h")          # same elements, any order
    differ.same_shape("HRANDFIELD", "h", -5)     # same RESP types and lengths (random)
    differ.same_all([("HGET", "h", "a"), ...])   # a sequence of exact checks

Every check also returns the reply (parsed as compat_support.RawConn does).
"""

import os
import shutil
import socket
import subprocess
import time

import pytest

from compat_support import Closed, RawConn

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ReferenceRedis:
    """A redis-server process on an ephemeral port (no RDB, no AOF)."""

    def __init__(self, workdir):
        self.host = "127.0.0.1"
        self.proc = None
        for _ in range(5):  # another process may take the port between probe and bind
            self.port = _free_port()
            self.proc = subprocess.Popen(
                [REDIS_SERVER, "--port", str(self.port), "--bind", self.host, "--save", "",
                 "--appendonly", "no", "--dir", str(workdir), "--daemonize", "no",
                 "--loglevel", "warning"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if self._wait_ready():
                return
            self.stop()
        raise RuntimeError("redis-server did not start")

    def _wait_ready(self, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with RawConn(self.host, self.port, timeout=2) as c:
                    if c.call("PING") == "PONG":
                        return True
            except (OSError, Closed):
                time.sleep(0.02)
        return False

    def version(self):
        with RawConn(self.host, self.port) as c:
            info = c.call("INFO", "server").decode()
        for line in info.splitlines():
            if line.startswith("redis_version:"):
                return line.split(":", 1)[1].strip()
        return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def read_raw(conn, deadline=None):
    """Exactly the bytes of one reply on `conn` (a RawConn), as received."""
    if deadline is None:
        deadline = time.monotonic() + conn.timeout
    line = conn.read_line(deadline)
    out = line + b"\r\n"
    t, rest = line[:1], line[1:]
    if t in (b"$", b"!", b"="):
        n = int(rest)
        if n >= 0:
            out += conn.read_exact(n + 2, deadline)
    elif t in (b"*", b">", b"~", b"%", b"|"):
        n = int(rest)
        if n > 0:
            for _ in range(n * (2 if t in (b"%", b"|") else 1)):
                out += read_raw(conn, deadline)
        if t == b"|":
            out += read_raw(conn, deadline)
    return out


def parse(raw):
    """Parses raw reply bytes into (type, value) trees; aggregates hold lists of trees."""
    def walk(i):
        j = raw.index(b"\r\n", i)
        t, rest = raw[i:i + 1], raw[i + 1:j]
        i = j + 2
        if t in (b"$", b"!", b"="):
            n = int(rest)
            if n < 0:
                return (t, None), i
            return (t, raw[i:i + n]), i + n + 2
        if t in (b"*", b">", b"~", b"%"):
            n = int(rest)
            if n < 0:
                return (t, None), i
            items = []
            for _ in range(n * (2 if t == b"%" else 1)):
                item, i = walk(i)
                items.append(item)
            return (t, items), i
        return (t, rest), i
    tree, end = walk(0)
    assert end == len(raw), raw
    return tree


def _unordered(tree):
    """A canonical form where the order of aggregate items does not matter (map pairs
    stay pairs)."""
    t, v = tree
    if isinstance(v, list):
        if t == b"%":
            pairs = [(_unordered(v[k]), _unordered(v[k + 1])) for k in range(0, len(v), 2)]
            return (t, tuple(sorted(pairs, key=repr)))
        return (t, tuple(sorted((_unordered(x) for x in v), key=repr)))
    return tree


def _shape(tree):
    t, v = tree
    if isinstance(v, list):
        return (t, len(v), tuple(_shape(x) for x in v))
    return (t, None if t in (b"$", b"=") else v)


class Differ:
    def __init__(self, redge_port, reference):
        self.redge = RawConn("127.0.0.1", redge_port, timeout=20)
        self.ref = RawConn(reference.host, reference.port, timeout=20)

    def close(self):
        self.redge.close()
        self.ref.close()

    def both(self, *args):
        """Sends `args` to both servers; returns (redge_raw, redis_raw)."""
        self.redge.send_command(*args)
        self.ref.send_command(*args)
        return read_raw(self.redge), read_raw(self.ref)

    def same(self, *args):
        got, want = self.both(*args)
        assert got == want, f"{args!r}:\n redge {got[:400]!r}\n redis {want[:400]!r}"
        return parse(got)

    def same_unordered(self, *args):
        got, want = self.both(*args)
        g, w = _unordered(parse(got)), _unordered(parse(want))
        assert g == w, f"{args!r} (any order):\n redge {got[:400]!r}\n redis {want[:400]!r}"
        return parse(got)

    def same_shape(self, *args):
        got, want = self.both(*args)
        g, w = _shape(parse(got)), _shape(parse(want))
        assert g == w, f"{args!r} (shape):\n redge {got[:400]!r}\n redis {want[:400]!r}"
        return parse(got)

    def same_all(self, commands):
        for cmd in commands:
            self.same(*cmd)


@pytest.fixture(scope="module")
def reference_redis(tmp_path_factory):
    if not os.path.exists(REDIS_SERVER):
        pytest.fail(f"{REDIS_SERVER} is missing (tools/setup.sh installs redis-server)")
    ref = ReferenceRedis(tmp_path_factory.mktemp("redis-ref"))
    assert ref.version().startswith("7.0."), ref.version()
    yield ref
    ref.stop()


@pytest.fixture
def differ(redge, reference_redis):
    with RawConn(reference_redis.host, reference_redis.port) as c:
        assert c.call("FLUSHALL") == "OK"
    d = Differ(redge.port, reference_redis)
    yield d
    d.close()
