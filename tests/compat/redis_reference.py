"""Byte-exact comparison with a real redis-server 7.0 for the scripting suites, whose
corpus shares one redge and one reference server per module (differential.py's `differ`
starts a redge per test). The raw exchange returns each reply's exact bytes and reads
replies of any depth iteratively (a script can return one nested 7995 levels deep).
"""

import socket

import pytest

from differential import ReferenceRedis


def start_reference(workdir):
    """A reference redis-server (tests/compat/differential.py) for a module's corpus."""
    workdir.mkdir(parents=True, exist_ok=True)
    return ReferenceRedis(workdir)


def stop_reference(ref):
    """Stops it; a reference server that died during the run fails the test."""
    crashed = ref.proc is not None and ref.proc.poll() is not None
    ref.stop()
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
