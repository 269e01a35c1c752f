"""Sets: every Redis 7.0 set command through redis-py and raw RESP2/RESP3, and side by
side with a real redis-server 7.0 (differential.py), bad input included, plus a seeded
random sequence of writes and reads checked against Redis reply by reply."""

import random

import pytest
import redis

from compat_support import Error, Set
from differential import parse

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def test_sadd_srem_and_membership(r):
    assert r.sadd("s", "a", "b", "a") == 2
    assert r.sadd("s", "a") == 0
    assert r.scard("s") == 2
    assert r.scard("missing") == 0
    assert r.sismember("s", "a") is True
    assert r.sismember("s", "z") is False
    assert r.sismember("missing", "a") is False
    assert r.smismember("s", "a", "z", "b") == [1, 0, 1]
    assert r.smismember("missing", "a") == [0]
    assert r.smembers("s") == {"a", "b"}
    assert r.smembers("missing") == set()
    assert r.srem("s", "a", "z") == 1
    assert r.srem("missing", "a") == 0
    assert r.srem("s", "b") == 1
    assert r.exists("s") == 0
    assert r.type("s") == "none"


def test_intsets_reply_in_numeric_order(redge):
    c = redge.raw()
    c.call("SADD", "s", "10", "-3", "2", "1")
    assert c.call("SMEMBERS", "s") == [b"-3", b"1", b"2", b"10"]
    c.call("HELLO", "3")
    assert c.call("SMEMBERS", "s") == Set([b"-3", b"1", b"2", b"10"])
    assert c.call("SMEMBERS", "missing") == Set()


def test_spop_and_srandmember(redge, r):
    content = {str(i) for i in range(1, 21)}
    r.sadd("s", *content)
    popped = set(r.spop("s", 2))
    assert len(popped) == 2 and popped <= content
    assert r.smembers("s") | popped == content
    rest = set(r.spop("s", 18))
    assert rest | popped == content
    assert r.exists("s") == 0
    assert r.spop("s") is None
    assert r.spop("s", 3) == []
    r.sadd("s", *content)
    assert r.spop("s", 0) == []
    one = r.spop("s")
    assert one in content and r.scard("s") == 19
    assert r.srandmember("s") in content
    assert r.srandmember("missing") is None
    assert r.srandmember("missing", 3) == []
    assert len(set(r.srandmember("s", 5))) == 5
    assert sorted(r.srandmember("s", 100), key=int) == sorted(content - {one}, key=int)
    assert len(r.srandmember("s", -100)) == 100
    c = redge.raw()
    assert c.call("SPOP", "s", "-1") == Error("ERR value is out of range, must be positive")
    assert c.call("SPOP", "s", "1", "2") == Error("ERR syntax error")
    assert c.call("SRANDMEMBER", "s", "-9223372036854775808") == Error(
        "ERR value is out of range, value must between -9223372036854775807 and "
        "9223372036854775807")
    assert c.call("SRANDMEMBER", "s", "-10000001").startswith("ERR value is out of range")
    c.call("HELLO", "3")
    assert isinstance(c.call("SPOP", "s", "2"), Set)
    assert not isinstance(c.call("SRANDMEMBER", "s", "2"), Set)
    assert c.call("SPOP", "missing", "2") == Set()


def test_srandmember_of_a_big_set_is_spread(r):
    members = [f"m:{i}" for i in range(20000)]
    for i in range(0, len(members), 5000):
        r.sadd("big", *members[i:i + 5000])
    counts = [0] * 10
    index = {m: i for i, m in enumerate(sorted(members))}
    with r.pipeline(transaction=False) as p:
        for _ in range(2000):
            p.srandmember("big")
        for m in p.execute():
            counts[index[m] * 10 // len(members)] += 1
    chi = sum((n - 200) ** 2 / 200 for n in counts)
    assert chi < 40, counts  # df 9: p ~ 0.00001, the threshold Redis's tests use


def test_smove(redge, r):
    r.sadd("src", "a", "b")
    r.sadd("dst", "b")
    r.set("str", "x")
    assert r.smove("missing", "str", "a") is False
    assert r.smove("src", "dst", "zz") is False
    assert r.smove("src", "dst", "b") is True
    assert r.smembers("dst") == {"b"}
    assert r.smove("src", "src", "a") is True
    assert r.smove("src", "new", "a") is True
    assert r.exists("src") == 0
    assert r.smembers("new") == {"a"}
    c = redge.raw()
    assert c.call("SMOVE", "str", "dst", "a") == Error(WRONGTYPE)
    assert c.call("SMOVE", "new", "str", "a") == Error(WRONGTYPE)
    assert r.smembers("new") == {"a"}


def test_algebra_and_store_forms(redge, r):
    r.sadd("a", "1", "2", "3", "x")
    r.sadd("b", "2", "3", "y")
    assert r.sinter("a", "b") == {"2", "3"}
    assert r.sinter("a", "missing") == set()
    assert r.sunion("a", "missing", "b") == {"1", "2", "3", "x", "y"}
    assert r.sdiff("a", "b") == {"1", "x"}
    assert r.sdiff("missing", "a") == set()
    assert r.sintercard(2, ["a", "b"]) == 2
    assert r.sintercard(2, ["a", "b"], limit=1) == 1
    r.set("dst", "string")
    r.expire("dst", 100)
    assert r.sinterstore("dst", "a", "b") == 2
    assert r.type("dst") == "set" and r.ttl("dst") == -1
    assert r.sunionstore("dst", "a", "b") == 5
    assert r.sdiffstore("dst", "a", "b") == 2
    assert r.sinterstore("dst", "a", "missing") == 0
    assert r.exists("dst") == 0
    c = redge.raw()
    r.set("str", "v")
    for cmd in ("SINTER", "SUNION", "SDIFF"):
        assert c.call(cmd, "missing", "a", "str") == Error(WRONGTYPE)
        assert c.call(cmd + "STORE", "dst", "a", "str") == Error(WRONGTYPE)
    assert c.call("SINTERCARD", "0", "a") == Error("ERR numkeys should be greater than 0")
    assert c.call("SINTERCARD", "3", "a", "b") == Error(
        "ERR Number of keys can't be greater than number of args")
    assert c.call("SINTERCARD", "2", "a", "b", "LIMIT", "-1") == Error(
        "ERR LIMIT can't be negative")
    assert c.call("SINTERCARD", "1", "str") == Error(WRONGTYPE)


def test_sscan_iter(redge, r):
    r.sadd("ints", *range(100))
    cursor, page = r.sscan("ints", 0, count=5)
    assert cursor == 0 and len(page) == 100  # an intset comes in one page, as in Redis
    members = {f"ele:{i}" for i in range(1000)}
    r.sadd("big", *members)
    assert set(r.sscan_iter("big")) == members
    assert set(r.sscan_iter("big", match="ele:99*")) == {m for m in members
                                                        if m.startswith("ele:99")}
    cursor, page = r.sscan("big", 0)
    assert cursor != 0 and len(page) == 10
    assert r.sscan("missing", 0) == (0, [])


def test_wrongtype_everywhere(redge, r):
    r.set("s", "v")
    c = redge.raw()
    for cmd in (["SADD", "s", "m"], ["SREM", "s", "m"], ["SISMEMBER", "s", "m"],
                ["SMISMEMBER", "s", "m"], ["SMEMBERS", "s"], ["SCARD", "s"], ["SPOP", "s"],
                ["SPOP", "s", "0"], ["SRANDMEMBER", "s"], ["SRANDMEMBER", "s", "0"],
                ["SINTER", "s"], ["SUNION", "s"], ["SDIFF", "s"], ["SINTERCARD", "1", "s"],
                ["SSCAN", "s", "0"]):
        assert c.call(*cmd) == Error(WRONGTYPE), cmd
    assert r.get("s") == "v"
    r.sadd("set", "m")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.hset("set", "f", "v")


def test_command_info_matches_redis(differ):
    for name in ("sadd", "srem", "sismember", "smismember", "smembers", "scard", "spop",
                 "srandmember", "smove", "sinter", "sintercard", "sinterstore", "sunion",
                 "sunionstore", "sdiff", "sdiffstore", "sscan"):
        got, want = (parse_info(raw) for raw in differ.both("COMMAND", "INFO", name))
        assert got == want, name


def parse_info(raw):
    entry = parse(raw)[1][0][1]
    return [entry[0], entry[1], sorted(x[1] for x in entry[2][1]), entry[3], entry[4],
            entry[5]]


def test_differential_arguments_and_errors(differ):
    differ.same_all([
        ("SADD", "s"), ("SADD", "s", "3", "1", "2", "1"), ("SADD", "s", "1"),
        ("SMEMBERS", "s"), ("SMEMBERS", "nokey"), ("SMEMBERS", "s", "x"), ("SCARD", "s"),
        ("SCARD", "nokey"), ("SISMEMBER", "s", "1"), ("SISMEMBER", "s", "9"),
        ("SISMEMBER", "nokey", "1"), ("SISMEMBER", "s"), ("SMISMEMBER", "s"),
        ("SMISMEMBER", "s", "1", "9", "2"), ("SMISMEMBER", "nokey", "1", "2"),
        ("SREM", "s"), ("SREM", "s", "9"), ("SREM", "nokey", "1"),
        ("SPOP", "nokey"), ("SPOP", "nokey", "3"), ("SPOP", "nokey", "0"),
        ("SPOP", "s", "-1"), ("SPOP", "s", "abc"), ("SPOP", "s", "1.5"),
        ("SPOP", "s", "9223372036854775808"), ("SPOP", "s", "1", "2"), ("SPOP", "s", "0"),
        ("SPOP", "nokey", "-1"), ("SRANDMEMBER", "nokey"), ("SRANDMEMBER", "nokey", "5"),
        ("SRANDMEMBER", "nokey", "-5"), ("SRANDMEMBER", "s", "0"),
        ("SRANDMEMBER", "s", "abc"), ("SRANDMEMBER", "s", "-9223372036854775808"),
        ("SRANDMEMBER", "s", "1", "2"), ("SRANDMEMBER", "nokey", "x"),
        ("SRANDMEMBER", "s", "3"), ("SRANDMEMBER", "s", "30"),
        ("SMOVE", "nokey", "s", "1"), ("SMOVE", "s", "s", "1"), ("SMOVE", "s", "s", "9"),
        ("SMOVE", "s", "d", "9"), ("SMOVE", "s", "d", "1"), ("SMEMBERS", "d"),
        ("SMOVE", "s", "d"), ("SET", "str", "v"), ("SMOVE", "nokey", "str", "1"),
        ("SMOVE", "str", "s", "1"), ("SMOVE", "s", "str", "2"), ("SMOVE", "s", "str", "9"),
        ("SMEMBERS", "s"),
        ("SINTER",), ("SINTER", "nokey"), ("SINTER", "s", "d"), ("SINTER", "s", "s"),
        ("SINTER", "nokey", "str"), ("SINTER", "s", "str"), ("SUNION", "s", "d", "nokey"),
        ("SUNION", "nokey", "str"), ("SDIFF", "s", "d"), ("SDIFF", "s", "s"),
        ("SDIFF", "nokey", "s"), ("SDIFF", "s", "nokey"), ("SDIFF", "nokey", "str"),
        ("SDIFF", "s", "str"),
        ("SINTERSTORE", "dst"), ("SINTERSTORE", "dst", "s", "d"), ("SMEMBERS", "dst"),
        ("SUNIONSTORE", "dst", "s", "d"), ("SMEMBERS", "dst"), ("SDIFFSTORE", "dst", "s", "d"),
        ("SMEMBERS", "dst"), ("SDIFFSTORE", "dst", "s", "s"), ("EXISTS", "dst"),
        ("SINTERSTORE", "str2", "s", "str"), ("SUNIONSTORE", "str", "s"), ("TYPE", "str"),
        ("SET", "str", "v"), ("SUNIONSTORE", "dst", "nokey", "nokey2"),
        ("SINTERCARD",), ("SINTERCARD", "1"), ("SINTERCARD", "0", "s"),
        ("SINTERCARD", "-1", "s"), ("SINTERCARD", "abc", "s"), ("SINTERCARD", "2", "s"),
        ("SINTERCARD", "1", "s"), ("SINTERCARD", "2", "s", "d"), ("SINTERCARD", "1", "nokey"),
        ("SINTERCARD", "1", "s", "LIMIT"), ("SINTERCARD", "1", "s", "LIMIT", "-1"),
        ("SINTERCARD", "1", "s", "LIMIT", "abc"), ("SINTERCARD", "1", "s", "LIMIT", "1"),
        ("SINTERCARD", "1", "s", "LIMIT", "0"), ("SINTERCARD", "1", "s", "FOO", "1"),
        ("SINTERCARD", "2", "nokey", "str"), ("SINTERCARD", "1", "str", "LIMIT", "x"),
        ("SINTERCARD", "9223372036854775807", "s"),
        ("SSCAN", "s"), ("SSCAN", "s", "x"), ("SSCAN", "s", "0"), ("SSCAN", "s", "0", "COUNT"),
        ("SSCAN", "s", "0", "COUNT", "0"), ("SSCAN", "s", "0", "MATCH", "1*"),
        ("SSCAN", "s", "0", "TYPE", "set"), ("SSCAN", "nokey", "0", "TYPE", "set"),
        ("SSCAN", "str", "0"), ("SSCAN", "str", "x"), ("SSCAN", "s", "-1"),
        ("SADD", "str", "1"), ("SREM", "str", "1"), ("SCARD", "str"), ("SPOP", "str", "x"),
        ("SPOP", "str", "1"), ("SRANDMEMBER", "str", "x"), ("SRANDMEMBER", "str", "1"),
        ("SISMEMBER", "str", "1"), ("SMISMEMBER", "str", "1"),
    ])


def test_differential_orderless_and_random_replies(differ):
    d = differ
    d.same("SADD", "s", *[f"m{i}" for i in range(30)])
    d.same("SADD", "t", *[f"m{i}" for i in range(10, 40)])
    d.same("SADD", "one", "only")
    for cmd in (("SMEMBERS", "s"), ("SINTER", "s", "t"), ("SUNION", "s", "t"),
                ("SDIFF", "s", "t"), ("SRANDMEMBER", "s", "100"), ("SINTERSTORE", "x", "s", "t"),
                ("SMEMBERS", "x")):
        d.same_unordered(*cmd)
    for cmd in (("SRANDMEMBER", "s"), ("SRANDMEMBER", "s", "5"), ("SRANDMEMBER", "s", "-50"),
                ("SPOP", "s"), ("SPOP", "s", "3"), ("SSCAN", "s", "0", "COUNT", "100")):
        d.same_shape(*cmd)
    # The random pops left different members on each side: start "s" again.
    d.same("DEL", "s")
    d.same("SADD", "s", *[f"m{i}" for i in range(30)])
    d.same("SPOP", "one", "5")
    d.same("SADD", "one", "only")
    for conn in (d.redge, d.ref):
        conn.call("HELLO", "3")
    for cmd in (("SMEMBERS", "one"), ("SMEMBERS", "nokey"), ("SPOP", "nokey", "1"),
                ("SPOP", "one", "0"), ("SRANDMEMBER", "one", "-2"), ("SRANDMEMBER", "nokey", "2"),
                ("SINTER", "one", "one"), ("SUNION", "one"), ("SDIFF", "nokey"),
                ("SMISMEMBER", "one", "only", "x"), ("SSCAN", "one", "0"), ("SPOP", "one", "1")):
        d.same(*cmd)
    d.same_unordered("SUNION", "s", "t")


def test_differential_random_sequence(differ):
    """A seeded random mix of writes and reads on a few keys of both types, compared with
    Redis reply by reply (orderless replies compared as multisets)."""
    rng = random.Random(20240607)
    set_keys, hash_keys, all_keys = ["k1", "k2", "k3"], ["h1", "h2"], ["k1", "k2", "k3", "h1",
                                                                        "h2", "str"]
    members = [str(i) for i in range(-3, 8)] + ["a", "b", "xyz", ""]

    def sk():  # mostly sets, sometimes another type (WRONGTYPE paths)
        return rng.choice(set_keys) if rng.random() < 0.9 else rng.choice(all_keys)

    def hk():
        return rng.choice(hash_keys) if rng.random() < 0.9 else rng.choice(all_keys)

    def sks(n):
        return [sk() for _ in range(n)]

    differ.same("SET", "str", "text")
    exact_reads = [
        lambda: ("SCARD", sk()),
        lambda: ("SISMEMBER", sk(), rng.choice(members)),
        lambda: ("SMISMEMBER", sk(), rng.choice(members), rng.choice(members)),
        lambda: ("HGET", hk(), rng.choice(members)),
        lambda: ("HLEN", hk()),
        lambda: ("HEXISTS", hk(), rng.choice(members)),
        lambda: ("HSTRLEN", hk(), rng.choice(members)),
        lambda: ("HMGET", hk(), rng.choice(members), rng.choice(members)),
        lambda: ("TYPE", rng.choice(all_keys)),
        lambda: ("EXISTS", rng.choice(all_keys)),
        lambda: ("SINTERCARD", "2", sk(), sk(), "LIMIT", str(rng.randint(0, 3))),
        lambda: ("SINTERCARD", "3", *sks(3)),
    ]
    writes = [
        lambda: ("SADD", sk(), *rng.sample(members, rng.randint(1, 4))),
        lambda: ("SREM", sk(), *rng.sample(members, rng.randint(1, 4))),
        lambda: ("SMOVE", sk(), sk(), rng.choice(members)),
        lambda: (rng.choice(["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]), sk(),
                 *sks(rng.randint(1, 3))),
        lambda: ("HSET", hk(), rng.choice(members), rng.choice(members)),
        lambda: ("HSETNX", hk(), rng.choice(members), rng.choice(members)),
        lambda: ("HDEL", hk(), *rng.sample(members, rng.randint(1, 3))),
        lambda: ("HINCRBY", hk(), rng.choice(members), str(rng.randint(-5, 5))),
        lambda: ("HINCRBYFLOAT", hk(), rng.choice(members),
                 rng.choice(["0.5", "-1.25", "3", "1e2"])),
        lambda: ("DEL", rng.choice(all_keys)),
    ]
    orderless_reads = [
        lambda: ("SMEMBERS", sk()),
        lambda: ("SINTER", *sks(rng.randint(1, 3))),
        lambda: ("SUNION", *sks(rng.randint(1, 3))),
        lambda: ("SDIFF", *sks(rng.randint(1, 3))),
        lambda: ("HGETALL", hk()),
        lambda: ("HVALS", hk()),
        lambda: ("SPOP", sk(), "100"),  # pops the whole set: deterministic
    ]
    for _ in range(1500):
        kind = rng.random()
        if kind < 0.45:
            differ.same(*rng.choice(writes)())
        elif kind < 0.8:
            differ.same(*rng.choice(exact_reads)())
        else:
            differ.same_unordered(*rng.choice(orderless_reads)())
