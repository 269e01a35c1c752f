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

import pathlib
import sys

import pytest
import redis

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import redge_process  # noqa: E402  (tests/ is put on the path just above)

import integration_support as sup  # noqa: E402

# Every redge started by this suite inherits the raised limit (1,000-stream test).
sup.raise_nofile_limit()


class RedgeServer(redge_process.RedgeProcess):
    """One redge process: its ports, an Http helper and the clients the test opened."""

    def __init__(self, binary, workdir, extra_args, nofile=None):
        super().__init__(binary, workdir, extra_args, nofile=nofile)
        self._closers = []
        self.http = None

    def start(self):
        super().start()
        assert 0 < self.resp_port < 65536 and 0 < self.http_port < 65536
        self.http = sup.Http(self.host, self.http_port)
        return self

    def close_clients(self):
        for close in reversed(self._closers):
            try:
                close()
            except Exception:
                pass
        self._closers.clear()

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
    binary = sup.redge_binary()
    yield from redge_process.server_factory(
        lambda workdir, flags, **kw: RedgeServer(binary, workdir, flags, **kw), tmp_path)


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
