"""RESP listener hardening: an HTTP request sent to the RESP port (cross-protocol
scripting from a web page) is closed before any of its lines runs, as Redis does."""

import time

import pytest

from compat_support import wait_until

HTTP_ATTACK = (
    b"POST / HTTP/1.1\r\n"
    b"Host: 127.0.0.1:6379\r\n"
    b"Content-Type: text/plain\r\n"
    b"Content-Length: 52\r\n"
    b"\r\n"
    b"SET pwned 1\r\n"
    b"LPUSH redge:queue:demo injected\r\n"
)


@pytest.mark.parametrize("first_line", [b"POST / HTTP/1.1\r\n", b"post /x HTTP/1.0\r\n",
                                        b"Host: example.com\r\n", b"HOST: x\r\n"])
def test_http_request_on_resp_port_is_closed_unexecuted(redge, r, first_line):
    c = redge.raw()
    c.send(first_line + HTTP_ATTACK.split(b"\r\n", 1)[1])
    assert c.read_until_close(timeout=5) == b""  # closed, not a single reply
    assert r.get("pwned") is None
    assert r.llen("redge:queue:demo") == 0
    redge.assert_serving()


def test_http_request_is_closed_before_auth_too(redge_factory):
    server = redge_factory("--requirepass", "secret")
    c = server.raw()
    c.send(HTTP_ATTACK)
    assert c.read_until_close(timeout=5) == b""  # no NOAUTH replies either
    server.assert_serving()


def test_cross_protocol_attempts_are_logged_once_a_minute(redge, r):
    for _ in range(5):
        c = redge.raw()
        c.send(HTTP_ATTACK)
        assert c.read_until_close(timeout=5) == b""

    def lines():
        text = redge.log_path.read_text(errors="replace")
        return [line for line in text.splitlines() if "cross-protocol" in line]

    wait_until(lambda: len(lines()) >= 1, timeout=5, what="the cross-protocol log line")
    assert len(lines()) == 1, lines()
    assert "127.0.0.1" in lines()[0]


def test_post_as_a_key_or_argument_is_fine(redge, r):
    assert r.set("post", "host:") is True
    assert r.get("post") == "host:"
    assert r.execute_command("ECHO", "POST") == "POST"


# --- Failed AUTH: per-address backoff, logs without the password ------------------------

WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."


def timed_call(conn, *args):
    started = time.monotonic()
    reply = conn.call(*args, timeout=15)
    return reply, time.monotonic() - started


def test_failed_auth_is_slowed_per_address(redge_factory):
    server = redge_factory("--requirepass", "s3cret-pass")
    c = server.raw()
    took = []
    for i in range(8):
        reply, elapsed = timed_call(c, "AUTH", f"guess-{i}")
        assert reply == WRONGPASS, reply
        took.append(elapsed)
    assert sum(took[:5]) < 0.5, took  # five free failures
    assert took[5] >= 0.09 and took[6] >= 0.19 and took[7] >= 0.39, took
    # HELLO AUTH counts and is held the same way.
    reply, elapsed = timed_call(c, "HELLO", "3", "AUTH", "default", "guess-hello")
    assert reply == WRONGPASS and elapsed >= 0.7, (reply, elapsed)
    # The right password is never held.
    reply, elapsed = timed_call(server.raw(), "AUTH", "s3cret-pass")
    assert reply == "OK" and elapsed < 0.5, (reply, elapsed)


def test_pipelined_and_parallel_guesses_are_slowed_too(redge_factory):
    """The issue's 10,000 wrong passwords in 0.03 s: now one reply per interval."""
    server = redge_factory("--requirepass", "s3cret-pass")
    c = server.raw()
    c.send(b"".join(c.encode("AUTH", f"guess-{i}") for i in range(100)))
    started = time.monotonic()
    for _ in range(8):
        assert c.read_reply(timeout=15) == WRONGPASS
    assert time.monotonic() - started >= 0.6
    # Ten more connections of the same address: their failures are released one after the
    # other (>= 2 s for ten), not all at once.
    conns = [server.raw() for _ in range(10)]
    started = time.monotonic()
    for conn in conns:
        conn.send_command("AUTH", "parallel-guess")
    for conn in conns:
        assert conn.read_reply(timeout=20) == WRONGPASS
    assert time.monotonic() - started >= 2.0


def test_failed_auth_is_logged_rate_limited_without_the_password(redge_factory):
    server = redge_factory("--requirepass", "s3cret-pass")
    c = server.raw()
    for i in range(7):
        assert c.call("AUTH", f"leaked-guess-{i}", timeout=15) == WRONGPASS

    def lines():
        text = server.log_path.read_text(errors="replace")
        return [line for line in text.splitlines() if "authentication failed" in line]

    wait_until(lambda: lines(), timeout=5, what="an 'authentication failed' log line")
    assert len(lines()) == 1, lines()  # one line per address per 10 s
    assert "127.0.0.1" in lines()[0] and "resp" in lines()[0]
    log = server.log_path.read_text(errors="replace")
    assert "leaked-guess" not in log and "s3cret-pass" not in log
