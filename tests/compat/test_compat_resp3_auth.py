"""RESP3 through HELLO 3 over a raw socket (map reply, `_` nulls, `>` pushes), and AUTH
with --requirepass (NOAUTH, WRONGPASS, AUTH, HELLO 3 AUTH)."""

import subprocess

import pytest
import redis

from compat_support import Error, Map, Push, redge_binary

NOAUTH = Error("NOAUTH Authentication required.")
WRONGPASS = Error("WRONGPASS invalid username-password pair or user is disabled.")
HELLO_KEYS = {b"server", b"version", b"proto", b"id", b"mode", b"role", b"modules"}


def check_hello(reply, proto, client_id=None):
    if proto == 3:
        assert isinstance(reply, Map), f"HELLO 3 must answer a RESP3 map, got {reply!r}"
        fields = dict(reply)
    else:
        assert isinstance(reply, list) and not isinstance(reply, Map)
        assert len(reply) == 14
        fields = dict(zip(reply[0::2], reply[1::2]))
    assert set(fields) == HELLO_KEYS
    assert fields[b"server"] == b"redis"
    assert fields[b"proto"] == proto
    assert fields[b"mode"] == b"standalone"
    assert fields[b"role"] == b"master"
    assert fields[b"modules"] == []
    assert fields[b"version"].count(b".") == 2
    if client_id is not None:
        assert fields[b"id"] == client_id


# ---- RESP3 ---------------------------------------------------------------------------


def test_hello3_map_reply_and_nulls(redge, r):
    c = redge.raw()
    client_id = c.call("CLIENT", "ID")
    c.send_command("HELLO", "3")
    assert c.read_bytes(4) == b"%7\r\n"  # a map of 7 pairs, on the wire
    c.buf = b"%7\r\n" + c.buf
    check_hello(c.read_reply(), 3, client_id)
    # Nulls are `_` in RESP3.
    c.send_command("GET", "missing")
    assert c.read_bytes(3) == b"_\r\n"
    c.send_command("LPOP", "missing", "2")
    assert c.read_bytes(3) == b"_\r\n"
    c.send_command("BLPOP", "missing", "0.05")
    assert c.read_bytes(3) == b"_\r\n"
    c.send_command("LINDEX", "missing", "0")
    assert c.read_bytes(3) == b"_\r\n"
    # CONFIG GET is a map in RESP3.
    # (databases: maxclients depends on RLIMIT_NOFILE, see test_compat_server.)
    conf = c.call("CONFIG", "GET", "databases")
    assert isinstance(conf, Map) and conf == {b"databases": b"16"}
    # Ordinary replies are unchanged.
    assert c.call("SET", "k", "v") == "OK"
    assert c.call("GET", "k") == b"v"
    assert c.call("RPUSH", "l", "a", "b") == 2
    assert c.call("LRANGE", "l", "0", "-1") == [b"a", b"b"]
    assert c.call("GET", "l") == Error(
        "WRONGTYPE Operation against a key holding the wrong kind of value")
    # Back to RESP2.
    check_hello(c.call("HELLO", "2"), 2, client_id)
    c.send_command("GET", "missing")
    assert c.read_bytes(5) == b"$-1\r\n"
    c.send_command("LPOP", "missing", "2")
    assert c.read_bytes(5) == b"*-1\r\n"


def test_hello_errors_and_setname(redge):
    c = redge.raw()
    assert c.call("HELLO", "4") == Error("NOPROTO unsupported protocol version")
    assert c.call("HELLO", "1") == Error("NOPROTO unsupported protocol version")
    assert c.call("HELLO", "foo") == Error(
        "ERR Protocol version is not an integer or out of range")
    check_hello(c.call("HELLO"), 2)  # no argument: report, keep RESP2
    check_hello(c.call("HELLO", "3", "SETNAME", "worker-1"), 3)
    assert c.call("CLIENT", "GETNAME") == b"worker-1"


def test_resp3_pubsub_push_messages(redge, r):
    c = redge.raw()
    check_hello(c.call("HELLO", "3"), 3)
    c.send_command("SUBSCRIBE", "ch")
    expected = b">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
    assert c.read_bytes(len(expected)) == expected
    assert r.publish("ch", "hello") == 1
    expected = b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n"
    assert c.read_bytes(len(expected)) == expected
    c.send_command("PSUBSCRIBE", "c*")
    reply = c.read_reply()
    assert isinstance(reply, Push) and reply == [b"psubscribe", b"c*", 2]
    assert r.publish("ch", "both") == 2
    got = [c.read_reply() for _ in range(2)]
    assert all(isinstance(m, Push) for m in got)
    assert sorted(got) == sorted([[b"message", b"ch", b"both"],
                                  [b"pmessage", b"c*", b"ch", b"both"]])
    # In RESP3 any command may run while subscribed, with its ordinary reply.
    assert c.call("SET", "k", "v") == "OK"
    assert c.call("GET", "k") == b"v"
    c.send_command("PING")
    assert c.read_bytes(7) == b"+PONG\r\n"
    # A message pushed between replies does not disturb request/response order.
    assert r.publish("other", "x") == 0
    c.send_command("UNSUBSCRIBE", "ch")
    reply = c.read_reply()
    assert isinstance(reply, Push) and reply == [b"unsubscribe", b"ch", 1]
    c.send_command("PUNSUBSCRIBE", "c*")
    reply = c.read_reply()
    assert isinstance(reply, Push) and reply == [b"punsubscribe", b"c*", 0]
    assert r.publish("ch", "gone") == 0
    assert c.call("ECHO", "done") == b"done"


def test_resp3_aborted_exec_is_null(redge, r):
    c = redge.raw()
    check_hello(c.call("HELLO", "3"), 3)
    assert c.call("WATCH", "k") == "OK"
    r.set("k", "other")
    assert c.call("MULTI") == "OK"
    assert c.call("SET", "k", "mine") == "QUEUED"
    c.send_command("EXEC")
    assert c.read_bytes(3) == b"_\r\n"
    assert c.call("MULTI") == "OK"
    assert c.call("GET", "k") == "QUEUED"
    assert c.call("GET", "nope") == "QUEUED"
    assert c.call("EXEC") == [b"other", None]


# ---- AUTH ------------------------------------------------------------------------------


@pytest.fixture
def secured(redge_factory):
    return redge_factory("--requirepass", "s3cret pass")


def test_noauth_before_auth_wrongpass_then_works(secured):
    c = secured.raw()
    assert c.call("GET", "k") == NOAUTH
    assert c.call("SET", "k", "v") == NOAUTH
    assert c.call("PING") == NOAUTH
    assert c.call("AUTH", "wrong") == WRONGPASS
    assert c.call("AUTH", "default", "wrong") == WRONGPASS
    assert c.call("GET", "k") == NOAUTH
    assert c.call("AUTH", "s3cret pass") == "OK"
    assert c.call("SET", "k", "v") == "OK"
    assert c.call("GET", "k") == b"v"
    # A second connection is not authenticated by the first.
    c2 = secured.raw()
    assert c2.call("GET", "k") == NOAUTH
    assert c2.call("AUTH", "default", "s3cret pass") == "OK"
    assert c2.call("GET", "k") == b"v"


def test_hello3_auth(secured):
    c = secured.raw()
    reply = c.call("HELLO", "3")
    assert isinstance(reply, Error) and reply.startswith(
        "NOAUTH HELLO must be called with the client already authenticated")
    assert c.call("HELLO", "3", "AUTH", "default", "bad") == WRONGPASS
    assert c.call("GET", "k") == NOAUTH
    check_hello(c.call("HELLO", "3", "AUTH", "default", "s3cret pass"), 3)
    c.send_command("GET", "k")
    assert c.read_bytes(3) == b"_\r\n"  # authenticated and speaking RESP3


def test_redis_py_with_and_without_password(secured):
    good = secured.client(password="s3cret pass")
    assert good.set("k", "v") is True
    assert good.get("k") == "v"
    with pytest.raises(redis.AuthenticationError):
        secured.client().get("k")
    with pytest.raises(redis.ResponseError) as e:
        secured.client(password="nope").get("k")
    assert "WRONGPASS" in str(e.value)


def test_unauthenticated_big_multibulk_is_refused(secured):
    c = secured.raw()
    c.send(b"*2000000\r\n")
    assert c.read_until_close() == b"-ERR Protocol error: unauthenticated multibulk length\r\n"
    secured.assert_serving()


def test_auth_without_requirepass(redge):
    c = redge.raw()
    assert c.call("AUTH", "x") == Error(
        "ERR AUTH <password> called without any password configured for the default "
        "user. Are you sure your configuration is correct?")
    assert c.call("PING") == "PONG"


def test_non_loopback_listener_requires_password(redge_factory, tmp_path):
    binary = redge_binary()
    proc = subprocess.run(
        [str(binary), "--resp", "0.0.0.0:0", "--data-dir", str(tmp_path / "refused"),
         "--log-level", "warn"],
        stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    assert proc.returncode != 0
    assert b"requirepass" in proc.stderr and b"--insecure" in proc.stderr, proc.stderr
    assert b"redge ready" not in proc.stdout
    # With a password it listens on every interface, and asks for it (over loopback).
    server = redge_factory("--resp", "0.0.0.0:0", "--requirepass", "pw")
    c = server.raw()
    assert c.call("GET", "k") == NOAUTH
    assert c.call("AUTH", "pw") == "OK"
    assert c.call("GET", "k") is None
