"""The wire protocol over raw sockets: malformed input gets Redis's exact
`-ERR Protocol error: ...` line and a close, and the server keeps serving everyone else;
inline commands as telnet sends them; pipelining; commands split across many writes."""

import random
import socket
import threading

import pytest
import redis

from compat_support import RawConn

MALFORMED = [
    ("bad multibulk length", b"*abc\r\n", "invalid multibulk length"),
    ("multibulk length over range", b"*99999999999\r\n", "invalid multibulk length"),
    ("binary garbage after '*'", b"*\xff\xfegarbage\r\n", "invalid multibulk length"),
    ("bad bulk length", b"*1\r\n$abc\r\n", "invalid bulk length"),
    ("negative bulk length", b"*1\r\n$-5\r\n", "invalid bulk length"),
    ("bulk length over 512 MB", b"*1\r\n$999999999999\r\n", "invalid bulk length"),
    ("'$' expected", b"*1\r\nfoo\r\n", "expected '$', got 'f'"),
    ("'$' expected, integer given", b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n:1\r\n",
     "expected '$', got ':'"),
    ("unbalanced double quotes", b'SET "foo bar\r\n', "unbalanced quotes in request"),
    ("unbalanced single quotes", b"SET 'foo\r\n", "unbalanced quotes in request"),
    ("closing quote followed by a character", b'SET k "a"b\r\n',
     "unbalanced quotes in request"),
    ("inline line too long", b"x" * 70000, "too big inline request"),
    ("multibulk count line too long", b"*" + b"1" * 70000, "too big mbulk count string"),
    ("bulk count line too long", b"*1\r\n$" + b"1" * 70000, "too big bulk count string"),
]


@pytest.mark.parametrize("payload,reason", [(p, r) for _, p, r in MALFORMED],
                         ids=[name for name, _, _ in MALFORMED])
def test_malformed_input_gets_protocol_error_and_close(redge, payload, reason):
    bystander = redge.client()
    bystander.set("k", "v")
    c = redge.raw()
    c.send(payload)
    got = c.read_until_close(timeout=10)
    assert got == f"-ERR Protocol error: {reason}\r\n".encode()
    redge.assert_serving()
    assert bystander.get("k") == "v"


def test_commands_before_the_error_are_answered(redge):
    c = redge.raw()
    c.send(b"*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*x\r\n")
    assert c.read_until_close() == (
        b"+PONG\r\n+OK\r\n-ERR Protocol error: invalid multibulk length\r\n")
    with redge.raw() as c2:
        assert c2.call("GET", "k") == b"v"


def test_config_set_proto_max_bulk_len_applies_to_the_next_request(redge):
    r = redge.client()
    c = redge.raw()  # connected before the change: the new limit applies to it too
    assert r.config_set("proto-max-bulk-len", "1mb") is True
    big = 1024 * 1024 + 1
    c.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n" % big)
    assert c.read_until_close() == b"-ERR Protocol error: invalid bulk length\r\n"
    assert r.set("k", "x" * (1024 * 1024)) is True  # at the limit
    # Below Redis's 1 MiB floor: refused with Redis's text, the limit unchanged.
    with pytest.raises(redis.ResponseError, match="argument must be between 1048576 and"):
        r.config_set("proto-max-bulk-len", "1000")
    assert r.config_set("proto-max-bulk-len", "4mb") is True
    assert r.set("k", "x" * big) is True
    assert r.strlen("k") == big


def test_oversized_bulk_against_small_proto_max_bulk_len(redge_factory):
    server = redge_factory("--proto-max-bulk-len", "1024")
    r = server.client()
    # At the limit: accepted.
    assert r.set("k", "x" * 1024) is True
    assert r.strlen("k") == 1024
    c = server.raw()
    c.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1025\r\n")
    assert c.read_until_close() == b"-ERR Protocol error: invalid bulk length\r\n"
    c2 = server.raw()
    c2.send(b"*2\r\n$3\r\nGET\r\n$2000\r\n" + b"y" * 2000 + b"\r\n")
    assert c2.read_until_close() == b"-ERR Protocol error: invalid bulk length\r\n"
    server.assert_serving()
    assert r.strlen("k") == 1024


def test_inline_commands_as_telnet_sends_them(redge):
    c = redge.raw()
    c.send(b"PING\r\n")
    assert c.read_bytes(7) == b"+PONG\r\n"
    c.send(b"PING\n")  # a bare LF ends an inline command too
    assert c.read_bytes(7) == b"+PONG\r\n"
    c.send(b"\r\n\r\n  \r\nPING\r\n")  # empty lines are ignored
    assert c.read_bytes(7) == b"+PONG\r\n"
    c.send(b'SET "my key" "hello world"\r\nGET "my key"\r\n')
    assert c.read_reply() == "OK"
    assert c.read_reply() == b"hello world"
    c.send(b'ECHO "tab\\there\\x41"\r\n')
    assert c.read_reply() == b"tab\thereA"
    c.send(b"SET k 'it\\'s'\r\nGET k\r\n")
    assert c.read_reply() == "OK"
    assert c.read_reply() == b"it's"
    c.send(b"set   spaced    value  \r\nget spaced\r\n")
    assert c.read_reply() == "OK"
    assert c.read_reply() == b"value"
    c.send(b"nosuch a b\r\n")
    assert c.read_reply() == "ERR unknown command 'nosuch', with args beginning with: 'a' 'b' "
    c.send(b"QUIT\r\n")
    assert c.read_until_close() == b"+OK\r\n"


def test_empty_and_null_multibulk_are_skipped(redge):
    c = redge.raw()
    c.send(b"*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n")
    assert c.read_bytes(7) == b"+PONG\r\n"
    c.assert_no_reply(0.1)


def test_pipelined_commands_answered_in_order(redge):
    c = redge.raw(timeout=30)
    n = 10_000
    payload = b"".join(RawConn.encode("INCR", "counter") for _ in range(n))
    sender = threading.Thread(target=c.sock.sendall, args=(payload,))
    sender.start()
    expected = b"".join(b":%d\r\n" % i for i in range(1, n + 1))
    assert c.read_bytes(len(expected), timeout=30) == expected
    sender.join(timeout=30)
    assert c.call("GET", "counter") == str(n).encode()


def test_command_split_across_many_writes(redge):
    c = redge.raw()
    value = bytes(random.Random(7).getrandbits(8) for _ in range(100_000))
    data = RawConn.encode("SET", "big", value)
    for i in range(0, len(data), 997):
        c.send(data[i:i + 997])
    assert c.read_reply() == "OK"
    # Byte by byte for a small one.
    for b in RawConn.encode("GET", "big"):
        c.send(bytes([b]))
    assert c.read_reply() == value


def test_client_closing_mid_command_does_not_hurt(redge):
    for partial in (b"*3\r\n$3\r\nSET\r\n$1\r\nk", b"*2\r\n$3\r\nGET\r\n$10\r\nabc",
                    b"PING", b"*5\r\n"):
        s = socket.create_connection((redge.host, redge.port), timeout=10)
        s.sendall(partial)
        s.close()
    redge.assert_serving()
    with redge.raw() as c:
        assert c.call("EXISTS", "k") == 0


def test_random_garbage_never_kills_the_server(redge):
    """Seeded random byte strings on many connections: the server answers or closes, but
    never crashes or stops serving others."""
    rng = random.Random(20240601)
    bystander = redge.raw()
    assert bystander.call("SET", "alive", "yes") == "OK"
    prefixes = [b"", b"*", b"$", b"*2\r\n", b"*2\r\n$", b"*1\r\n$3\r\n", b'"', b"'"]
    for i in range(60):
        body = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 3000)))
        data = rng.choice(prefixes) + body
        if rng.random() < 0.5:
            data += b"\r\n"
        s = socket.create_connection((redge.host, redge.port), timeout=5)
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            s.settimeout(0.2)
            try:
                while s.recv(65536):
                    pass
            except (socket.timeout, ConnectionResetError):
                pass
        finally:
            s.close()
        if i % 10 == 9:
            assert bystander.call("GET", "alive") == b"yes"
    redge.assert_serving()
    assert bystander.call("GET", "alive") == b"yes"
