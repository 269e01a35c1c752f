"""A real redis-server 7.0 (Debian's /usr/bin/redis-server) for differential tests: the
same commands go to it and to redge, and the raw reply bytes must be identical.

`RealRedis` starts `redis-server --port <free port> --save '' --appendonly no` in a
temporary directory and stops it at close(). `RawReplyConn.call_raw(*args)` returns the
exact bytes of one reply (RESP2 or RESP3), so tests compare the wire, not a client's
decoding of it.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time

from compat_support import RawConn

REDIS_SERVER = os.environ.get("REDIS_SERVER", "/usr/bin/redis-server")


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RawReplyConn(RawConn):
    """RawConn that can also return one reply as the raw bytes received."""

    def call_raw(self, *args, timeout=None):
        self.send_command(*args)
        return self.read_raw(timeout=timeout)

    def read_raw(self, timeout=None):
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        return self._raw(deadline)

    def _raw(self, deadline):
        line = self.read_line(deadline)
        out = line + b"\r\n"
        t, rest = line[:1], line[1:]
        if t in (b"$", b"!", b"="):
            n = int(rest)
            if n >= 0:
                out += self.read_exact(n + 2, deadline)
        elif t in (b"*", b">", b"~", b"%", b"|"):
            n = int(rest)
            if t in (b"%", b"|"):
                n *= 2
            for _ in range(max(n, 0)):
                out += self._raw(deadline)
            if t == b"|":
                out += self._raw(deadline)
        return out


class RealRedis:
    """One redis-server process on a free loopback port."""

    def __init__(self):
        if not os.path.exists(REDIS_SERVER):
            raise RuntimeError(f"{REDIS_SERVER} not found (apt-get install redis-server)")
        self.dir = tempfile.mkdtemp(prefix="redge-real-redis-")
        self.host = "127.0.0.1"
        last_error = None
        for _ in range(5):  # the free port may be taken between the probe and the bind
            self.port = _free_port()
            self.proc = subprocess.Popen(
                [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", self.dir],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    with RawConn(self.host, self.port, timeout=2) as c:
                        if c.call("PING") == "PONG":
                            return
                except OSError as e:
                    last_error = e
                time.sleep(0.02)
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
        raise RuntimeError(f"redis-server did not start: {last_error}")

    def raw(self, timeout=10):
        return RawReplyConn(self.host, self.port, timeout=timeout)

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
