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



# Differential testing against a real Redis 7.0 (tests/compat/differential.py): the
# module-scoped `reference_redis` server, the per-test `differ` pairing it with the test's
# redge, and `same_as_redis(*command)`, the one-line form of differ.same.
from differential import differ, reference_redis  # noqa: E402,F401  (fixtures)


@pytest.fixture
def same_as_redis(differ):  # noqa: F811  (the fixture imported above)
    """same_as_redis(*command) sends the command to redge and to the reference Redis over
    raw connections and asserts byte-identical replies; with pairs_unordered=True the
    reply's items may come in any order (CONFIG GET, HGETALL). Returns the parsed reply."""

    def check(*command, pairs_unordered=False):
        if pairs_unordered:
            return differ.same_unordered(*command)
        return differ.same(*command)

    return check
