"""A real redis-server 7.0 (Debian's /usr/bin/redis-server) on an ephemeral port, and a raw
RESP exchange that returns each reply's exact bytes: the reference the scripting suites
compare redge with, reply for reply, byte for byte.

The server runs with no persistence in the test's temporary directory and is stopped at
teardown; a crash of it is reported (the comparison would be meaningless).
"""

import pathlib
import shutil
import socket
import subprocess
import time

import pytest

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RealRedis:
    def __init__(self, workdir):
        self.workdir = pathlib.Path(workdir)
        self.proc = None
        self.port = None

    def start(self):
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not pathlib.Path(REDIS_SERVER).exists():
            pytest.fail(f"{REDIS_SERVER} not found: tools/setup.sh installs redis-server",
                        pytrace=False)
        for _ in range(5):  # the port picked may be taken by the time redis binds it
            port = free_port()
            self.proc = subprocess.Popen(
                [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(self.workdir), "--daemonize", "no",
                 "--logfile", str(self.workdir / "redis.log")],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                        s.sendall(b"PING\r\n")
                        if s.recv(16).startswith(b"+PONG"):
                            self.port = port
                            return self
                except OSError:
                    time.sleep(0.02)
            self.stop()
        pytest.fail("could not start a reference redis-server", pytrace=False)

    def stop(self):
        if self.proc is None:
            return
        crashed = self.proc.poll() is not None
        if not crashed:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if crashed:
            pytest.fail("the reference redis-server died during the test", pytrace=False)


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def read_reply(f):
    """Reads one complete reply (any RESP2/RESP3 type, any nesting, iteratively) and
    returns its raw bytes."""
    data = bytearray()
    pending = 1
    while pending:
        line = f.readline()
        if not line:
            raise ConnectionError("connection closed")
        data += line
        pending -= 1
        t = line[:1]
        if t in (b"$", b"="):
            n = int(line[1:-2])
            if n >= 0:
                data += f.read(n + 2)
        elif t in (b"*", b"~", b">", b"%", b"|"):
            n = int(line[1:-2])
            if t in (b"%", b"|"):
                n *= 2
            if t == b"|":
                n += 1
            pending += max(n, 0)
        elif t not in (b"+", b"-", b":", b"_", b"#", b",", b"("):
            raise ValueError(f"not a RESP reply: {line!r}")
    return bytes(data)


def exchange(port, commands, timeout=20):
    """Sends each command on one fresh connection and returns the raw replies."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        f = s.makefile("rb")
        out = []
        for c in commands:
            s.sendall(encode(c))
            out.append(read_reply(f))
        return out


RESET = [["flushall"], ["function", "flush"], ["script", "flush"]]


def compare(redis_port, redge_port, commands):
    """Runs `commands` on both servers after a reset; returns a description of the first
    different reply, or None. HELLO replies (they carry the client id) are not compared."""
    for port in (redis_port, redge_port):
        exchange(port, RESET)
    want = exchange(redis_port, commands)
    got = exchange(redge_port, commands)
    for cmd, w, g in zip(commands, want, got):
        if cmd[0].lower() == "hello":
            continue
        if w != g:
            return f"command {cmd!r}:\n  redis: {w[:800]!r}\n  redge: {g[:800]!r}"
    return None
