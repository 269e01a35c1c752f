"""Fixtures of the compat suite: real redge processes, real Redis clients.

Every test gets a fresh redge (`redge` fixture) started as

    $REDGE_BUILD_DIR/redge --resp 127.0.0.1:0 --http 127.0.0.1:0 --data-dir <tmp>
                           --log-level warn [extra]

by tests/redge_process.py, which also checks at teardown that the server neither crashed
nor misbehaved on SIGTERM. This file adds the Redis clients.

`redge_factory(*extra_args, data_dir=None)` starts servers with extra flags
(--requirepass, ...), optionally on a given data directory (restarts).
"""

import pathlib
import sys

import pytest
import redis

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import redge_process  # noqa: E402  (tests/ is put on the path just above)

import compat_support  # noqa: E402

redge_process.raise_nofile_limit()


class RedgeServer(redge_process.RedgeProcess):
    """One redge process with its RESP port and the clients the test opened on it."""

    def __init__(self, binary, workdir, extra_args, data_dir=None):
        super().__init__(binary, workdir, extra_args, data_dir=data_dir)
        self.password = None
        if "--requirepass" in self.extra_args:
            self.password = self.extra_args[self.extra_args.index("--requirepass") + 1]
        self._clients = []
        self._raws = []

    @property
    def port(self):
        return self.resp_port

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
    """Starts redge processes with extra flags (and data_dir=...); all are stopped and
    checked at teardown."""
    binary = compat_support.redge_binary()
    yield from redge_process.server_factory(
        lambda workdir, flags, data_dir=None: RedgeServer(binary, workdir, flags, data_dir),
        tmp_path)


@pytest.fixture
def redge(redge_factory):
    """A fresh redge with default flags."""
    return redge_factory()


@pytest.fixture
def r(redge):
    """A redis-py client on the fresh redge."""
    return redge.client()


class ReferenceRedis:
    """A real redis-server 7.0 (Debian's) on an ephemeral port, for differential tests:
    the same commands against it and against redge must give the same raw replies."""

    def __init__(self, workdir):
        import socket
        import subprocess
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.host = "127.0.0.1"
        workdir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            ["/usr/bin/redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        compat_support.wait_until(self._up, timeout=20, what="redis-server to accept")
        self._raws = []

    def _up(self):
        try:
            with compat_support.RawConn(self.host, self.port, timeout=2) as c:
                return c.call("PING") == "PONG"
        except OSError:
            return False

    def raw(self, timeout=10):
        conn = compat_support.RawConn(self.host, self.port, timeout=timeout)
        self._raws.append(conn)
        return conn

    def stop(self):
        for c in self._raws:
            c.close()
        self.proc.kill()  # a reference only: no need for its shutdown save
        self.proc.wait(timeout=10)


@pytest.fixture
def reference_redis(tmp_path):
    """A real Redis 7.0 next to redge (see ReferenceRedis)."""
    ref = ReferenceRedis(tmp_path / "reference-redis")
    yield ref
    ref.stop()


@pytest.fixture
def same_as_redis(redge, reference_redis):
    """same_as_redis(*command) sends the command over a raw connection to redge and to a
    real Redis 7.0 and asserts identical replies (error lines included); returns the reply.
    `.redge` and `.redis` are the two raw connections."""
    ours, theirs = redge.raw(), reference_redis.raw()

    def check(*command, pairs_unordered=False):
        """pairs_unordered: the reply is a flat list of pairs whose order Redis leaves to
        its hash tables (CONFIG GET, HGETALL): compared as a dict."""
        mine, ref = ours.call(*command), theirs.call(*command)
        if pairs_unordered and isinstance(mine, list) and isinstance(ref, list):
            assert len(mine) == len(ref) and dict(zip(mine[0::2], mine[1::2])) == dict(
                zip(ref[0::2], ref[1::2])), f"{command!r}: redge {mine!r} != redis {ref!r}"
            return mine
        assert mine == ref, f"{command!r}: redge {mine!r} != redis {ref!r}"
        return mine

    check.redge, check.redis = ours, theirs
    return check
