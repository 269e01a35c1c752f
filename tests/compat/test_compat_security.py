"""RESP listener hardening: an HTTP request sent to the RESP port (cross-protocol
scripting from a web page) is closed before any of its lines runs, as Redis does."""

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
