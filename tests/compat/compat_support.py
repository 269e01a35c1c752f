"""Helpers of the compat suite: a raw RESP2/RESP3 socket client and bounded waits.

The raw client exists so tests can see exactly what is on the wire: error lines, RESP3
types (maps, `_` nulls, `>` pushes) and what happens after malformed input.
"""

import os
import pathlib
import socket
import time

from redge_process import redge_binary  # noqa: F401  (shared with the other suite)



class Error(str):
    """An error reply ('-...' or '!...'), returned rather than raised; str is the line."""

    def __repr__(self):
        return f"Error({str.__repr__(self)})"


class Map(dict):
    """A RESP3 map ('%')."""


class Push(list):
    """A RESP3 push ('>')."""


class Set(list):
    """A RESP3 set ('~')."""


class Closed(Exception):
    """The server closed the connection."""


class RawConn:
    """A blocking socket that speaks RESP by hand.

    Replies: simple string -> str, bulk -> bytes, integer -> int, null -> None,
    array -> list, error -> Error, map -> Map, push -> Push, set -> Set,
    double -> float, boolean -> bool, verbatim -> bytes (without the format prefix).
    """

    def __init__(self, host, port, timeout=10, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.timeout = timeout

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # -- sending ---------------------------------------------------------------------
    @staticmethod
    def encode(*args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if isinstance(a, str):
                a = a.encode()
            elif isinstance(a, (int, float)):
                a = str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def send(self, data):
        self.sock.sendall(data)

    def send_command(self, *args):
        self.sock.sendall(self.encode(*args))

    def call(self, *args, timeout=None):
        self.send_command(*args)
        return self.read_reply(timeout=timeout)

    # -- receiving -------------------------------------------------------------------
    def _fill(self, deadline=None):
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("timed out")
            self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        finally:
            if deadline is not None:
                self.sock.settimeout(self.timeout)
        if not chunk:
            raise Closed("server closed the connection")
        self.buf += chunk

    def read_line(self, deadline=None):
        while b"\r\n" not in self.buf:
            self._fill(deadline)
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def read_exact(self, n, deadline=None):
        while len(self.buf) < n:
            self._fill(deadline)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_bytes(self, n, timeout=None):
        """Exactly n raw bytes."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        return self.read_exact(n, deadline)

    def read_reply(self, timeout=None):
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        return self._read(deadline)

    def _read(self, deadline):
        line = self.read_line(deadline)
        if not line:
            raise AssertionError("empty reply line")
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            return Error(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"(":
            return int(rest)
        if t == b",":
            return float(rest.decode())
        if t == b"#":
            assert rest in (b"t", b"f"), line
            return rest == b"t"
        if t == b"_":
            assert rest == b"", line
            return None
        if t in (b"$", b"!", b"="):
            n = int(rest)
            if n < 0:
                return None
            data = self.read_exact(n + 2, deadline)
            assert data[-2:] == b"\r\n", data[-10:]
            data = data[:-2]
            if t == b"!":
                return Error(data.decode())
            if t == b"=":
                return data[4:]
            return data
        if t in (b"*", b">", b"~"):
            n = int(rest)
            if n < 0:
                return None
            items = [self._read(deadline) for _ in range(n)]
            if t == b">":
                return Push(items)
            if t == b"~":
                return Set(items)
            return items
        if t == b"%":
            n = int(rest)
            m = Map()
            for _ in range(n):
                k = self._read(deadline)
                if isinstance(k, list):
                    k = tuple(k)
                m[k] = self._read(deadline)
            return m
        if t == b"|":  # attribute: skip it, return the reply it annotates
            n = int(rest)
            for _ in range(2 * n):
                self._read(deadline)
            return self._read(deadline)
        raise AssertionError(f"unknown RESP type in line {line!r}")

    def read_until_close(self, timeout=10):
        """Everything the server still sends until it closes; raises if it does not."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._fill(deadline)
            except Closed:
                data, self.buf = self.buf, b""
                return data
            except ConnectionResetError:
                data, self.buf = self.buf, b""
                return data
            except socket.timeout:
                raise AssertionError(
                    f"server did not close the connection within {timeout}s "
                    f"(received {self.buf[:300]!r})"
                ) from None

    def assert_no_reply(self, wait=0.2):
        """Nothing arrives within `wait` seconds (used only where nothing must happen)."""
        self.sock.settimeout(wait)
        try:
            chunk = self.sock.recv(65536)
        except (socket.timeout, BlockingIOError):
            chunk = None
        finally:
            self.sock.settimeout(self.timeout)
        assert chunk is None and not self.buf, f"unexpected data {self.buf + (chunk or b'')!r}"


def wait_until(predicate, timeout=10.0, interval=0.01, what="condition"):
    """Polls predicate() until it is truthy; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def blocked_clients(client):
    return int(client.info("clients")["blocked_clients"])


def wait_blocked(client, n, timeout=10.0):
    """Waits until INFO clients reports exactly n blocked clients."""
    wait_until(lambda: blocked_clients(client) == n, timeout=timeout,
               what=f"blocked_clients == {n}")
