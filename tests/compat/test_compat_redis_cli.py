"""redis-cli (Debian's redis-tools) against redge: one-shot commands, --no-raw, a piped
shell-script session, -3 HELLO, --pipe mass insertion, -a with --requirepass, and an
interactive session on a pseudo-terminal (redis-cli 7 reads COMMAND DOCS for hints)."""

import fcntl
import os
import pty
import select
import shutil
import struct
import subprocess
import termios
import time

import pytest

REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"


def cli(server, *args, stdin=None, timeout=30):
    if not os.path.exists(REDIS_CLI):
        pytest.fail("redis-cli not found: install Debian's redis-tools (tools/setup.sh does)")
    proc = subprocess.run(
        [REDIS_CLI, "-h", server.host, "-p", str(server.port), *args],
        input=stdin, capture_output=True, timeout=timeout,
        env={**os.environ, "HOME": str(server.workdir)},  # no ~/.redisclirc, no history
    )
    return proc


def out(server, *args, **kw):
    proc = cli(server, *args, **kw)
    assert proc.returncode == 0, proc
    assert proc.stderr == b"", proc.stderr
    return proc.stdout.decode()


def test_one_shot_commands(redge):
    assert out(redge, "SET", "k", "v") == "OK\n"
    assert out(redge, "GET", "k") == "v\n"
    assert out(redge, "--no-raw", "GET", "k") == '"v"\n'
    assert out(redge, "GET", "missing") == "\n"
    assert out(redge, "--no-raw", "GET", "missing") == "(nil)\n"
    assert out(redge, "RPUSH", "l", "a", "b", "c") == "3\n"
    assert out(redge, "LRANGE", "l", "0", "-1") == "a\nb\nc\n"
    assert out(redge, "--no-raw", "LRANGE", "l", "0", "-1") == '1) "a"\n2) "b"\n3) "c"\n'
    assert out(redge, "--no-raw", "INCR", "n") == "(integer) 1\n"
    assert out(redge, "--no-raw", "LRANGE", "none", "0", "-1") == "(empty array)\n"
    proc = cli(redge, "--no-raw", "INCR", "l")
    assert b"(error) WRONGTYPE Operation against a key holding the wrong kind of value" in (
        proc.stdout + proc.stderr)
    proc = cli(redge, "NOSUCH", "x")
    assert b"ERR unknown command 'NOSUCH', with args beginning with: 'x'" in (
        proc.stdout + proc.stderr)


def test_shell_script_session_piped(redge):
    script = (b"SET a 1\nINCR a\nINCRBY a 10\nGET a\nRPUSH q job1 job2\nBRPOP q 1\n"
              b"GET nothing\nDEL a\nEXISTS a\n")
    assert out(redge, stdin=script) == "OK\n2\n12\n12\n2\nq\njob2\n\n1\n0\n"
    assert out(redge, "--no-raw", stdin=b"SET b 1\nINCR b\nGET nothing\nLRANGE q 0 -1\n") == (
        'OK\n(integer) 2\n(nil)\n1) "job1"\n')
    # A worker-style loop: pop a job with a short timeout, or nothing.
    assert out(redge, "BRPOP", "q", "0.1") == "q\njob1\n"
    t0 = time.monotonic()
    assert out(redge, "BRPOP", "q", "0.1") == "\n"
    assert time.monotonic() - t0 < 5


def test_resp3_hello(redge):
    lines = out(redge, "-3", "HELLO").splitlines()
    assert "server redis" in lines
    assert "proto 3" in lines
    assert "mode standalone" in lines
    assert "role master" in lines
    text = out(redge, "-3", "--no-raw", "HELLO")
    assert '"proto" => (integer) 3' in text
    assert '"server" => "redis"' in text
    assert out(redge, "-3", "--no-raw", "GET", "missing") == "(nil)\n"


def test_pipe_mass_insertion(redge):
    n = 2000
    data = b"".join(
        b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
        % (len(k), k, len(v), v)
        for k, v in ((b"key:%d" % i, b"val:%d" % i) for i in range(n)))
    proc = cli(redge, "--pipe", stdin=data, timeout=60)
    assert proc.returncode == 0, proc
    text = (proc.stdout + proc.stderr).decode()
    assert f"errors: 0, replies: {n}" in text, text
    assert out(redge, "DBSIZE") == f"{n}\n"
    assert out(redge, "GET", "key:1999") == "val:1999\n"


def test_password(redge_factory):
    server = redge_factory("--requirepass", "pw")
    proc = cli(server, "GET", "k")
    assert b"NOAUTH Authentication required." in proc.stdout + proc.stderr
    assert out(server, "-a", "pw", "--no-auth-warning", "SET", "k", "v") == "OK\n"
    assert out(server, "-a", "pw", "--no-auth-warning", "GET", "k") == "v\n"
    proc = cli(server, "-a", "bad", "--no-auth-warning", "GET", "k")
    assert b"WRONGPASS" in proc.stdout + proc.stderr or b"AUTH failed" in proc.stdout + proc.stderr


class Pty:
    """redis-cli on a pseudo-terminal, as a person types into it."""

    def __init__(self, server):
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 200, 0, 0))
        self.proc = subprocess.Popen(
            [REDIS_CLI, "-h", server.host, "-p", str(server.port)],
            stdin=slave, stdout=slave, stderr=slave, close_fds=True,
            env={**os.environ, "TERM": "xterm", "HOME": str(server.workdir)},
        )
        os.close(slave)
        self.screen = b""

    def expect(self, needle, timeout=10):
        """Reads until `needle` shows up after what was consumed so far."""
        deadline = time.monotonic() + timeout
        while needle not in self.screen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"redis-cli never showed {needle!r}; screen: "
                                     f"{self.screen[-2000:]!r}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"redis-cli exited; screen {self.screen[-2000:]!r}")
                self.screen += chunk
        before, _, self.screen = self.screen.partition(needle)
        return before

    def type(self, text):
        os.write(self.master, text)

    def close(self, wait=10):
        try:
            self.proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            pass
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            if self.master is not None:
                os.close(self.master)
                self.master = None


def test_interactive_session_with_hints(redge):
    if not os.path.exists(REDIS_CLI):
        pytest.fail("redis-cli not found: install Debian's redis-tools")
    prompt = f"{redge.host}:{redge.port}> ".encode()
    term = Pty(redge)
    try:
        term.expect(prompt)
        term.type(b"SET ")
        term.expect(b"key value", timeout=5)  # the hint, from COMMAND DOCS
        term.type(b"k v\r")
        term.expect(b"\r\nOK\r\n")
        term.expect(prompt)
        term.type(b"GET k\r")
        term.expect(b'\r\n"v"\r\n')
        term.expect(prompt)
        term.type(b"LPOS ")
        term.expect(b"key element", timeout=5)
        term.type(b"\x15RPUSH l a b\r")  # Ctrl-U clears the line
        term.expect(b"(integer) 2")
        term.expect(prompt)
        term.type(b"quit\r")
        term.close()
        assert term.proc.returncode == 0, "redis-cli did not exit cleanly on quit"
        assert b"(error)" not in term.screen
    finally:
        term.close(wait=0)
