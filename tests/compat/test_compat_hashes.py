"""Hashes: every Redis 7.0 hash command through redis-py and raw RESP2/RESP3, and side by
side with a real redis-server 7.0 (differential.py): same bytes for the same commands,
bad input included."""

import pytest
import redis

from compat_support import Error, Map


WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def test_hset_family_and_reads(r):
    assert r.hset("h", "a", "1") == 1
    assert r.hset("h", mapping={"a": "2", "b": "3", "c": ""}) == 2
    assert r.hget("h", "a") == "2"
    assert r.hget("h", "c") == ""
    assert r.hget("h", "zz") is None
    assert r.hget("missing", "a") is None
    assert r.hsetnx("h", "a", "9") == 0
    assert r.hsetnx("h", "d", "4") == 1
    assert r.execute_command("HMSET", "h", "e", "5", "f", "6") is True
    assert r.hmget("h", "a", "zz", "f") == ["2", None, "6"]
    assert r.hmget("missing", "a", "b") == [None, None]
    assert r.hlen("h") == 6
    assert r.hlen("missing") == 0
    assert r.hstrlen("h", "a") == 1
    assert r.hstrlen("h", "zz") == 0
    assert r.hstrlen("missing", "a") == 0
    assert r.hexists("h", "a") is True
    assert r.hexists("h", "zz") is False
    assert r.hexists("missing", "a") is False
    assert r.hgetall("h") == {"a": "2", "b": "3", "c": "", "d": "4", "e": "5", "f": "6"}
    assert sorted(r.hkeys("h")) == list("abcdef")
    assert sorted(r.hvals("h")) == ["", "2", "3", "4", "5", "6"]
    assert r.hgetall("missing") == {}
    assert r.hkeys("missing") == []
    assert r.hvals("missing") == []
    assert r.type("h") == "hash"


def test_hdel_deletes_the_emptied_hash(r):
    r.hset("h", mapping={"a": "1", "b": "2"})
    assert r.hdel("h", "a", "zz", "a") == 1
    assert r.hdel("h", "zz") == 0
    assert r.hdel("missing", "a") == 0
    assert r.hdel("h", "b", "c") == 1
    assert r.exists("h") == 0
    assert r.type("h") == "none"
    assert r.hset("h", "n", "1") == 1
    assert r.hgetall("h") == {"n": "1"}


def test_binary_fields_and_values(redge):
    rb = redge.client(decode_responses=False)
    field, value = b"f\x00\r\n\xff", bytes(range(256))
    assert rb.hset(b"h\x00", field, value) == 1
    assert rb.hget(b"h\x00", field) == value
    assert rb.hgetall(b"h\x00") == {field: value}
    big = b"x" * (1 << 20)
    assert rb.hset(b"big", b"v", big) == 1
    assert rb.hstrlen(b"big", b"v") == 1 << 20
    assert rb.hget(b"big", b"v") == big


def test_hincrby_and_hincrbyfloat(redge, r):
    assert r.hincrby("h", "n", 5) == 5
    assert r.hincrby("h", "n", -7) == -2
    assert r.hincrbyfloat("h", "f", 1.23) == pytest.approx(1.23)
    c = redge.raw()
    assert c.call("HINCRBYFLOAT", "h", "x", "1.23") == b"1.23"
    assert c.call("HINCRBYFLOAT", "h", "x", "0.77") == b"2"
    assert c.call("HINCRBYFLOAT", "h", "x", "-0.1") == b"1.9"
    # long double arithmetic, printed as Redis 7.0 prints it (%.17Lf, trailing zeros cut)
    assert c.call("HINCRBYFLOAT", "h", "x", "1e3") == b"1001.90000000000000002"
    r.hset("h", mapping={"s": " 11", "max": "9223372036854775807"})
    assert c.call("HINCRBY", "h", "s", "1") == Error("ERR hash value is not an integer")
    assert c.call("HINCRBY", "h", "max", "1") == Error(
        "ERR increment or decrement would overflow")
    assert c.call("HINCRBY", "h", "n", "1.5") == Error(
        "ERR value is not an integer or out of range")
    assert c.call("HINCRBYFLOAT", "h", "s", "1") == Error("ERR hash value is not a float")
    assert c.call("HINCRBYFLOAT", "h", "x", "abc") == Error("ERR value is not a valid float")
    assert c.call("HINCRBYFLOAT", "fresh", "x", "+inf") == Error(
        "ERR value is NaN or Infinity")
    assert r.exists("fresh") == 0
    r.hset("h", "huge", "1e4932")
    assert c.call("HINCRBYFLOAT", "h", "huge", "1e4932") == Error(
        "ERR increment would produce NaN or Infinity")
    assert r.hget("h", "huge") == "1e4932"


def test_hrandfield(redge, r):
    assert r.hrandfield("missing") is None
    assert r.hrandfield("missing", 5) == []
    fields = {f"f{i}": str(i) for i in range(10)}
    r.hset("h", mapping=fields)
    assert r.hrandfield("h") in fields
    assert r.hrandfield("h", 0) == []
    assert sorted(r.hrandfield("h", 100)) == sorted(fields)
    some = r.hrandfield("h", 4)
    assert len(set(some)) == 4 and set(some) <= set(fields)
    rep = r.hrandfield("h", -25)
    assert len(rep) == 25 and set(rep) <= set(fields)
    flat = r.hrandfield("h", -5, withvalues=True)
    assert len(flat) == 10
    for f, v in zip(flat[::2], flat[1::2]):
        assert fields[f] == v
    c = redge.raw()
    assert c.call("HRANDFIELD", "h", "-9223372036854775808") == Error(
        "ERR value is out of range, value must between -9223372036854775807 and "
        "9223372036854775807")
    assert c.call("HRANDFIELD", "h", "-9223372036854770000", "WITHVALUES") == Error(
        "ERR value is out of range")
    assert c.call("HRANDFIELD", "h", "1", "WITHVALUE") == Error("ERR syntax error")
    assert c.call("HRANDFIELD", "h", "1", "WITHVALUES", "x") == Error("ERR syntax error")
    # A negative count redge cannot hold in one reply is refused (Redis would try).
    assert c.call("HRANDFIELD", "h", "-10000001").startswith("ERR value is out of range")
    # RESP3: WITHVALUES pairs are nested.
    assert c.call("HELLO", "3")[b"proto"] == 3
    pairs = c.call("HRANDFIELD", "h", "3", "WITHVALUES")
    assert len(pairs) == 3 and all(len(p) == 2 and fields[p[0].decode()] == p[1].decode()
                                   for p in pairs)
    assert len(c.call("HRANDFIELD", "h", "-3")) == 3
    assert c.call("HRANDFIELD", "missing") is None


def test_hgetall_is_a_map_in_resp3(redge):
    c = redge.raw()
    c.call("HSET", "h", "a", "1", "b", "2")
    assert c.call("HGETALL", "h") == [b"a", b"1", b"b", b"2"]
    c.call("HELLO", "3")
    assert c.call("HGETALL", "h") == Map({b"a": b"1", b"b": b"2"})
    assert c.call("HGETALL", "missing") == Map()
    assert c.call("HKEYS", "h") == [b"a", b"b"]


def test_hscan_iter_and_pages(redge, r):
    small = {f"k{i}": str(i) for i in range(30)}
    r.hset("small", mapping=small)
    cursor, page = r.hscan("small", 0, count=5)
    assert cursor == 0 and page == small  # a small hash comes in one page, as in Redis
    big = {f"key:{i}": "v" * 70 + str(i) for i in range(1000)}
    r.hset("big", mapping=big)
    assert dict(r.hscan_iter("big")) == big
    assert dict(r.hscan_iter("big", count=7)) == big
    matched = dict(r.hscan_iter("big", match="key:1*"))
    assert matched == {k: v for k, v in big.items() if k.startswith("key:1")}
    cursor, page = r.hscan("big", 0, count=10)
    assert cursor != 0 and len(page) == 10
    assert r.hscan("missing", 0) == (0, {})
    c = redge.raw()
    assert c.call("HSCAN", "big", "abc") == Error("ERR invalid cursor")
    assert c.call("HSCAN", "big", "0", "COUNT", "0") == Error("ERR syntax error")
    assert c.call("HSCAN", "big", "0", "TYPE", "string") == Error("ERR syntax error")
    assert c.call("HSCAN", "missing", "0", "COUNT", "0") == [b"0", []]


def test_wrongtype_everywhere(redge, r):
    r.set("s", "v")
    c = redge.raw()
    for cmd in (["HSET", "s", "f", "v"], ["HSETNX", "s", "f", "v"], ["HMSET", "s", "f", "v"],
                ["HGET", "s", "f"], ["HMGET", "s", "f"], ["HDEL", "s", "f"], ["HLEN", "s"],
                ["HSTRLEN", "s", "f"], ["HEXISTS", "s", "f"], ["HKEYS", "s"], ["HVALS", "s"],
                ["HGETALL", "s"], ["HINCRBY", "s", "f", "1"], ["HINCRBYFLOAT", "s", "f", "1"],
                ["HRANDFIELD", "s"], ["HRANDFIELD", "s", "2"], ["HSCAN", "s", "0"]):
        assert c.call(*cmd) == Error(WRONGTYPE), cmd
    assert r.get("s") == "v"
    r.hset("h", "f", "v")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.lpush("h", "x")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.get("h")


def test_ttl_is_kept_by_writes_and_transactions(r):
    r.hset("h", "a", "1")
    r.expire("h", 100)
    r.hset("h", "b", "2")
    r.hincrby("h", "n", 1)
    r.hdel("h", "a")
    assert 95 <= r.ttl("h") <= 100
    with r.pipeline(transaction=True) as p:
        p.hset("t", "x", "1").hincrby("t", "x", 5).hgetall("t")
        assert p.execute() == [1, 6, {"x": "6"}]


def test_command_info_matches_redis(differ):
    for name in ("hset", "hsetnx", "hmset", "hget", "hmget", "hdel", "hlen", "hstrlen",
                 "hexists", "hkeys", "hvals", "hgetall", "hincrby", "hincrbyfloat",
                 "hrandfield", "hscan"):
        got, want = (parse_info(raw) for raw in differ.both("COMMAND", "INFO", name))
        assert got == want, name


def parse_info(raw):
    """name, arity, flags, first key, last key, step of one COMMAND INFO entry."""
    from differential import parse
    entry = parse(raw)[1][0][1]
    return [entry[0], entry[1], sorted(x[1] for x in entry[2][1]), entry[3], entry[4],
            entry[5]]


def test_differential_arguments_and_errors(differ):
    d = differ
    d.same_all([
        ("HSET", "h"), ("HSET", "h", "a"), ("HSET", "h", "a", "1", "b"),
        ("HSET", "h", "a", "1", "b", "2", "a", "3"), ("HMSET", "h", "c", "3"),
        ("HMSET", "h", "c"), ("HSETNX", "h", "a", "x"), ("HSETNX", "h", "z", "26"),
        ("HSETNX", "h", "z"), ("HGET", "h", "a"), ("HGET", "h", "nope"), ("HGET", "nokey", "a"),
        ("HGET", "h"), ("HMGET", "h", "a", "nope", "b"), ("HMGET", "nokey", "a"), ("HMGET", "h"),
        ("HLEN", "h"), ("HLEN", "nokey"), ("HLEN", "h", "x"), ("HSTRLEN", "h", "a"),
        ("HSTRLEN", "h", "nope"), ("HEXISTS", "h", "a"), ("HEXISTS", "h", "nope"),
        ("HEXISTS", "nokey", "a"), ("HDEL", "h"), ("HDEL", "h", "nope"), ("HDEL", "nokey", "a"),
        ("HINCRBY", "h", "n", "10"), ("HINCRBY", "h", "n", "-11"), ("HINCRBY", "h", "n", "abc"),
        ("HINCRBY", "h", "n", "1.5"), ("HINCRBY", "h", "n", " 1"),
        ("HINCRBY", "h", "n", "9223372036854775808"), ("HINCRBY", "h", "a", "1"),
        ("HSET", "h", "big", "9223372036854775800"), ("HINCRBY", "h", "big", "8"),
        ("HINCRBY", "h", "big", "7"), ("HINCRBY", "nokey", "n", "x"),
        ("HINCRBYFLOAT", "h", "f", "1.5"), ("HINCRBYFLOAT", "h", "f", "abc"),
        ("HINCRBYFLOAT", "h", "f", "inf"), ("HINCRBYFLOAT", "h", "f", "-inf"),
        ("HINCRBYFLOAT", "h", "f", "nan"), ("HINCRBYFLOAT", "h", "f", "1e5000"),
        ("HINCRBYFLOAT", "h", "f", "0x10"), ("HINCRBYFLOAT", "h", "f", " 1"),
        ("HINCRBYFLOAT", "h", "f", "3.0e-2"), ("HINCRBYFLOAT", "h", "f", "-1.53"),
        ("HINCRBYFLOAT", "h", "f", ""), ("HSET", "h", "s", "x"), ("HINCRBYFLOAT", "h", "s", "1"),
        ("HGET", "h", "f"), ("HGET", "h", "n"),
        ("HRANDFIELD", "nokey"), ("HRANDFIELD", "nokey", "5"), ("HRANDFIELD", "nokey", "-5"),
        ("HRANDFIELD", "nokey", "5", "WITHVALUES"), ("HRANDFIELD", "h", "0"),
        ("HRANDFIELD", "h", "0", "WITHVALUES"), ("HRANDFIELD", "h", "abc"),
        ("HRANDFIELD", "h", "-9223372036854775808"), ("HRANDFIELD", "h", "9223372036854775808"),
        ("HRANDFIELD", "h", "4611686018427387904", "WITHVALUES"),
        ("HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"),
        ("HRANDFIELD", "h", "1", "WITHSCORES"), ("HRANDFIELD", "h", "1", "WITHVALUES", "1"),
        ("HRANDFIELD", "h", "abc", "WITHVALUES"), ("HRANDFIELD", "h", "abc", "x"),
        ("HRANDFIELD",), ("HSCAN", "h"), ("HSCAN", "h", "x"), ("HSCAN", "h", " 0"),
        ("HSCAN", "h", "0", "COUNT"), ("HSCAN", "h", "0", "COUNT", "0"),
        ("HSCAN", "h", "0", "COUNT", "-1"), ("HSCAN", "h", "0", "COUNT", "x"),
        ("HSCAN", "h", "0", "MATCH"), ("HSCAN", "h", "0", "TYPE", "hash"),
        ("HSCAN", "h", "0", "FOO", "bar"), ("HSCAN", "nokey", "0"),
        ("HSCAN", "nokey", "x"), ("HSCAN", "nokey", "0", "COUNT", "0", "BAD"),
        ("HSCAN", "h", "18446744073709551616"),
        ("HKEYS", "nokey"), ("HVALS", "nokey"), ("HGETALL", "nokey"),
        ("SET", "str", "v"), ("HSET", "str", "a", "1"), ("HGET", "str", "a"),
        ("HSCAN", "str", "x"), ("HSCAN", "str", "0", "COUNT", "0"),
        ("HINCRBY", "str", "a", "x"), ("HINCRBY", "str", "a", "1"),
        ("HINCRBYFLOAT", "str", "a", "inf"), ("HINCRBYFLOAT", "str", "a", "1"),
        ("HRANDFIELD", "str", "x"), ("HRANDFIELD", "str", "1", "x"), ("HRANDFIELD", "str", "1"),
        ("HMGET", "str", "a"), ("HDEL", "str", "a"), ("HSETNX", "str", "a", "1"),
        ("HDEL", "h", "a", "b", "c", "z", "n", "f", "s", "big"), ("EXISTS", "h"),
    ])
    for cmd in (("HGETALL", "h"), ("HKEYS", "h"), ("HVALS", "h")):
        d.same_unordered(*cmd)


def test_differential_orderless_and_random_replies(differ):
    d = differ
    d.same("HSET", "h", *[x for i in range(10) for x in (f"f{i}", str(i))])
    d.same("HSET", "one", "only", "v")
    for cmd in (("HGETALL", "h"), ("HKEYS", "h"), ("HVALS", "h"), ("HSCAN", "h", "0"),
                ("HSCAN", "h", "0", "MATCH", "f1*"), ("HRANDFIELD", "h", "10"),
                ("HRANDFIELD", "h", "100", "WITHVALUES")):
        d.same_unordered(*cmd)
    for cmd in (("HRANDFIELD", "h"), ("HRANDFIELD", "h", "3"), ("HRANDFIELD", "h", "-30"),
                ("HRANDFIELD", "h", "-3", "WITHVALUES"), ("HRANDFIELD", "h", "9", "WITHVALUES")):
        d.same_shape(*cmd)
    d.same("HRANDFIELD", "one", "-3", "WITHVALUES")
    d.same("HRANDFIELD", "one", "1")
    for conn in (d.redge, d.ref):
        conn.call("HELLO", "3")
    d.same("HGETALL", "one")
    d.same("HGETALL", "nokey")
    d.same("HRANDFIELD", "one", "-2", "WITHVALUES")
    d.same("HRANDFIELD", "one", "2", "WITHVALUES")
    d.same("HRANDFIELD", "nokey")
    d.same("HRANDFIELD", "nokey", "2")
    d.same("HMGET", "one", "only", "nope")
    d.same("HSCAN", "one", "0")
    d.same_unordered("HGETALL", "h")
    d.same_shape("HRANDFIELD", "h", "-4", "WITHVALUES")
