"""Strings: SET and its options, TTLs, INCR family, MGET/MSET, APPEND, GETDEL/GETEX."""

import os
import time

import pytest
import redis

from compat_support import Error, wait_until

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def test_set_get_binary_safe_and_large(redge, r):
    assert r.set("k", "v") is True
    assert r.get("k") == "v"
    assert r.get("missing") is None
    rb = redge.client(decode_responses=False)
    key = b"bin\x00key\r\n"
    value = bytes(range(256)) + b"\r\n\x00end"
    assert rb.set(key, value) is True
    assert rb.get(key) == value
    big = os.urandom(1 << 20)
    assert rb.set(b"big", big) is True
    assert rb.get(b"big") == big
    assert r.strlen("big") == 1 << 20
    assert r.set("empty", "") is True
    assert r.get("empty") == ""
    assert r.exists("empty") == 1


def test_set_ex_px_exat_and_ttl_pttl(r):
    assert r.set("ex", "v", ex=100) is True
    assert 99 <= r.ttl("ex") <= 100
    assert 98_000 < r.pttl("ex") <= 100_000
    assert r.set("px", "v", px=5500) is True
    assert 5 <= r.ttl("px") <= 6
    assert 4_000 < r.pttl("px") <= 5500
    assert r.set("exat", "v", exat=int(time.time()) + 200) is True
    assert 195 <= r.ttl("exat") <= 200
    assert r.set("pxat", "v", pxat=int(time.time() * 1000) + 300_000) is True
    assert 295 <= r.ttl("pxat") <= 300
    assert r.setex("setex", 50, "v") is True
    assert 49 <= r.ttl("setex") <= 50
    assert r.get("setex") == "v"
    assert r.psetex("psetex", 50_000, "v") is True
    assert 49 <= r.ttl("psetex") <= 50
    assert r.set("plain", "v") is True
    assert r.ttl("plain") == -1
    assert r.pttl("plain") == -1
    assert r.ttl("missing") == -2
    assert r.pttl("missing") == -2
    # A plain SET drops the TTL.
    assert r.set("ex", "v2") is True
    assert r.ttl("ex") == -1


def test_short_px_expires_and_is_never_returned(r):
    t0 = time.monotonic()
    assert r.set("short", "v", px=300) is True
    # Never touched before they expire: each read path must hide them on its own.
    for name in ("u_keys", "u_scan", "u_mget", "u_exists", "u_ttl"):
        assert r.set(name, "v", px=300) is True
    t_last = time.monotonic()
    assert r.set("stays", "v") is True
    value = r.get("short")
    if time.monotonic() - t0 < 0.28:
        assert value == "v"
    # Expiry observed by polling, bounded.
    wait_until(lambda: r.get("short") is None, timeout=5, what="'short' to expire")
    assert time.monotonic() - t0 >= 0.29, "key expired before its PX deadline"
    assert r.exists("short") == 0
    assert r.ttl("short") == -2
    assert r.pttl("short") == -2
    # Past every deadline (measured after the last SET was acknowledged).
    left = t_last + 0.32 - time.monotonic()
    if left > 0:
        time.sleep(left)
    assert r.keys("u_keys*") == []
    assert list(r.scan_iter(match="u_scan*")) == []
    assert r.mget("u_mget", "stays") == [None, "v"]
    assert r.exists("u_exists") == 0
    assert r.pttl("u_ttl") == -2
    assert r.keys("*") == ["stays"]


def test_set_nx_xx_setnx(r):
    assert r.set("k", "1", nx=True) is True
    assert r.set("k", "2", nx=True) is None
    assert r.get("k") == "1"
    assert r.set("new", "x", xx=True) is None
    assert r.exists("new") == 0
    assert r.set("k", "3", xx=True) is True
    assert r.get("k") == "3"
    assert r.setnx("k", "4") is False
    assert r.setnx("n", "4") is True
    assert r.get("n") == "4"


def test_set_get_option(r):
    assert r.set("k", "old") is True
    assert r.set("k", "new", get=True) == "old"
    assert r.get("k") == "new"
    assert r.set("fresh", "x", get=True) is None
    assert r.get("fresh") == "x"
    # NX + GET (Redis 7): returns the old value and does not set.
    assert r.set("k", "z", nx=True, get=True) == "new"
    assert r.get("k") == "new"
    r.rpush("list", "a")
    with pytest.raises(redis.ResponseError) as e:
        r.set("list", "x", get=True)
    assert str(e.value) == WRONGTYPE
    assert r.type("list") == "list"
    assert r.lrange("list", 0, -1) == ["a"]


def test_keepttl(r):
    assert r.set("k", "v", ex=100) is True
    assert r.set("k", "v2", keepttl=True) is True
    assert r.get("k") == "v2"
    assert 98 <= r.ttl("k") <= 100
    assert r.set("k", "v3") is True
    assert r.ttl("k") == -1


def test_incr_keeps_ttl(r):
    assert r.set("n", "1", ex=100) is True
    assert r.incr("n") == 2
    assert 98 <= r.ttl("n") <= 100


def test_set_option_errors_exact_text(redge):
    c = redge.raw()
    assert c.call("SET", "k", "v", "EX", "0") == Error("ERR invalid expire time in 'set' command")
    assert c.call("SET", "k", "v", "EX", "-1") == Error("ERR invalid expire time in 'set' command")
    assert c.call("SET", "k", "v", "PX", "0") == Error("ERR invalid expire time in 'set' command")
    assert c.call("SET", "k", "v", "EX", "abc") == Error(
        "ERR value is not an integer or out of range")
    assert c.call("SET", "k", "v", "NX", "XX") == Error("ERR syntax error")
    assert c.call("SET", "k", "v", "EX", "10", "PX", "100") == Error("ERR syntax error")
    assert c.call("SET", "k", "v", "EX", "10", "KEEPTTL") == Error("ERR syntax error")
    assert c.call("SET", "k", "v", "BOGUS") == Error("ERR syntax error")
    assert c.call("SET", "k", "v", "EX") == Error("ERR syntax error")
    assert c.call("SETEX", "k", "0", "v") == Error("ERR invalid expire time in 'setex' command")
    assert c.call("EXISTS", "k") == 0
    assert c.call("SET", "k", "v", "ex", "10") == "OK"  # options are case-insensitive


def test_incr_family(r):
    assert r.incr("n") == 1
    assert r.incrby("n", 10) == 11
    assert r.decr("n") == 10
    assert r.decrby("n", 15) == -5
    assert r.get("n") == "-5"
    assert r.decrby("d", 3) == -3
    assert r.incrby("n", -5) == -10
    assert r.set("f", "10.50") is True
    assert r.incrbyfloat("f", 0.1) == pytest.approx(10.6)
    assert r.get("f") == "10.6"
    assert r.set("g", "5.0e3") is True
    assert r.incrbyfloat("g", 2.0e2) == 5200
    assert r.get("g") == "5200"
    assert r.incrbyfloat("h", -1.5) == -1.5
    assert r.get("h") == "-1.5"
    assert r.set("big", "9223372036854775806") is True
    assert r.incr("big") == 9223372036854775807


def test_incr_errors_exact_text(redge):
    c = redge.raw()
    not_int = Error("ERR value is not an integer or out of range")
    assert c.call("SET", "s", "abc") == "OK"
    assert c.call("INCR", "s") == not_int
    assert c.call("SET", "s", "1.5") == "OK"
    assert c.call("INCR", "s") == not_int
    assert c.call("SET", "s", " 1") == "OK"
    assert c.call("INCR", "s") == not_int
    assert c.call("INCRBY", "n", "x") == not_int
    assert c.call("DECRBY", "n", "1.0") == not_int
    assert c.call("SET", "max", "9223372036854775807") == "OK"
    assert c.call("INCR", "max") == Error("ERR increment or decrement would overflow")
    assert c.call("SET", "min", "-9223372036854775808") == "OK"
    assert c.call("DECR", "min") == Error("ERR increment or decrement would overflow")
    assert c.call("GET", "max") == b"9223372036854775807"
    assert c.call("SET", "s", "abc") == "OK"
    assert c.call("INCRBYFLOAT", "s", "1") == Error("ERR value is not a valid float")
    assert c.call("INCRBYFLOAT", "x", "abc") == Error("ERR value is not a valid float")
    assert c.call("RPUSH", "l", "a") == 1
    wt = Error("WRONGTYPE Operation against a key holding the wrong kind of value")
    assert c.call("INCR", "l") == wt
    assert c.call("DECRBY", "l", "2") == wt
    assert c.call("INCRBYFLOAT", "l", "2") == wt
    assert c.call("EXISTS", "n", "x") == 0


def test_mget_mset(r):
    assert r.mset({"a": "1", "b": "2", "c": "3"}) is True
    r.rpush("list", "x")
    assert r.mget("a", "missing", "b", "list", "c") == ["1", None, "2", None, "3"]
    assert r.mset({"a": "10", "d": "4"}) is True
    assert r.mget(["a", "d"]) == ["10", "4"]


def test_mset_arity_error(redge):
    c = redge.raw()
    assert c.call("MSET", "a") == Error("ERR wrong number of arguments for 'mset' command")
    assert c.call("MSET", "a", "1", "b") == Error(
        "ERR wrong number of arguments for 'mset' command")
    assert c.call("EXISTS", "a", "b") == 0


def test_append_strlen(r):
    assert r.append("k", "Hello") == 5
    assert r.append("k", " World") == 11
    assert r.get("k") == "Hello World"
    assert r.strlen("k") == 11
    assert r.strlen("missing") == 0
    assert r.set("t", "x", ex=100) is True
    assert r.append("t", "y") == 2
    assert 98 <= r.ttl("t") <= 100
    r.rpush("l", "a")
    with pytest.raises(redis.ResponseError) as e:
        r.append("l", "x")
    assert str(e.value) == WRONGTYPE
    with pytest.raises(redis.ResponseError) as e:
        r.strlen("l")
    assert str(e.value) == WRONGTYPE


def test_getdel(r):
    assert r.set("k", "v", ex=100) is True
    assert r.getdel("k") == "v"
    assert r.exists("k") == 0
    assert r.getdel("k") is None
    r.rpush("l", "a")
    with pytest.raises(redis.ResponseError) as e:
        r.getdel("l")
    assert str(e.value) == WRONGTYPE
    assert r.llen("l") == 1


def test_getex(r):
    assert r.set("k", "v") is True
    assert r.getex("k") == "v"
    assert r.ttl("k") == -1
    assert r.getex("k", ex=100) == "v"
    assert 98 <= r.ttl("k") <= 100
    assert r.getex("k", px=50_000) == "v"
    assert 48 <= r.ttl("k") <= 50
    assert r.getex("k", exat=int(time.time()) + 300) == "v"
    assert 295 <= r.ttl("k") <= 300
    assert r.getex("k", persist=True) == "v"
    assert r.ttl("k") == -1
    assert r.getex("missing", ex=10) is None
    assert r.exists("missing") == 0
    r.rpush("l", "a")
    with pytest.raises(redis.ResponseError) as e:
        r.getex("l", ex=10)
    assert str(e.value) == WRONGTYPE


def test_getex_errors_exact_text(redge):
    c = redge.raw()
    assert c.call("SET", "k", "v") == "OK"
    assert c.call("GETEX", "k", "EX", "10", "PX", "100") == Error("ERR syntax error")
    assert c.call("GETEX", "k", "EX", "0") == Error("ERR invalid expire time in 'getex' command")
    assert c.call("GETEX", "k", "BOGUS") == Error("ERR syntax error")
    assert c.call("TTL", "k") == -1


def test_setrange_huge_offset_is_refused_and_server_lives(redge):
    """Redis's string.tcl "SETRANGE with huge offset": an offset whose sum with the value's
    length overflows a 64-bit integer gets the size error (it used to crash redge)."""
    c = redge.raw()
    for offset in ("9223372036854775807", "9223372036854775806", "2147483647"):
        assert c.call("SETRANGE", "K", offset, "A") == Error(
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    assert c.call("EXISTS", "K") == 0
    redge.assert_serving()
