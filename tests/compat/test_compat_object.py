"""OBJECT ENCODING / REFCOUNT / IDLETIME / FREQ / HELP side by side with a real Redis 7.0:
the encodings Redis would report after the same writes (thresholds from CONFIG, one-way
conversions), the errors, and access times that TYPE/TTL/EXISTS do not touch."""

import time

import pytest


def encodings_after(differ, commands, keys):
    for cmd in commands:
        differ.same(*cmd)
    for key in keys:
        differ.same("OBJECT", "ENCODING", key)


def test_string_encodings_match_redis(differ):
    encodings_after(differ, [
        ("SET", "int", "12345"),
        ("SET", "min", "-9223372036854775808"),
        ("SET", "over", "9223372036854775808"),
        ("SET", "lead", "0123"),
        ("SET", "emb", "x" * 44),
        ("SET", "raw", "x" * 45),
        ("SET", "app", "1"),
        ("APPEND", "app", "2"),
        ("APPEND", "appnew", "7"),
        ("SETRANGE", "sr", "0", "5"),
        ("SET", "sr2", "1234"),
        ("SETRANGE", "sr2", "0", ""),
        ("SET", "f", "1"),
        ("INCRBYFLOAT", "f", "2"),
        ("INCR", "i"),
        ("SET", "i2", "abc"),
        ("GETSET", "i2", "77"),
        ("MSET", "m1", "5", "m2", "five"),
        ("SET", "ex", "10", "EX", "100"),
        ("COPY", "app", "appcopy"),
    ], ["int", "min", "over", "lead", "emb", "raw", "app", "appnew", "sr", "sr2", "f", "i",
        "i2", "m1", "m2", "ex", "appcopy"])


def test_collection_encodings_follow_config_and_never_go_back(differ):
    encodings_after(differ, [
        ("RPUSH", "l", "a"),
        ("HSET", "h", "f", "v"),
        ("HSET", "hbig", "f", "v" * 65),
        ("HDEL", "hbig", "f"),
        ("HSET", "hbig", "g", "v"),
        ("SADD", "s", "1", "2", "3"),
        ("SADD", "sx", "1", "x"),
        ("SREM", "sx", "x"),
        ("ZADD", "z", "1", "a"),
        ("ZADD", "zbig", "1", "m" * 65, "2", "b"),
        ("ZREM", "zbig", "m" * 65),
        ("CONFIG", "SET", "zset-max-listpack-entries", "2"),
        ("ZADD", "z2", "1", "a", "2", "b"),
        ("ZADD", "z3", "1", "a", "2", "b", "3", "c"),
        ("ZRANGESTORE", "z4", "z3", "0", "0"),
        ("ZUNIONSTORE", "z5", "2", "z2", "z3"),
        ("CONFIG", "SET", "hash-max-listpack-entries", "1"),
        ("HSET", "h2", "a", "1", "b", "2"),
        ("CONFIG", "SET", "set-max-intset-entries", "2"),
        ("SADD", "s2", "1", "2", "3"),
        ("SADD", "s3", "1", "2"),
        ("SINTERSTORE", "s4", "s2", "s3"),
        ("SUNIONSTORE", "s5", "s2", "sx"),
        ("SMOVE", "sx", "s6", "1"),
        ("SADD", "s7", "a"),
        ("SMOVE", "s7", "s8", "a"),
        ("CONFIG", "SET", "zset-max-listpack-entries", "128"),
        ("CONFIG", "SET", "hash-max-listpack-entries", "512"),
        ("CONFIG", "SET", "set-max-intset-entries", "512"),
    ], ["l", "h", "hbig", "s", "sx", "z", "zbig", "z2", "z3", "z4", "z5", "h2", "s2", "s3",
        "s4", "s5", "s6", "s8"])


def test_object_errors_and_refcount_match_redis(differ):
    differ.same_all([
        ("SET", "small", "5"),
        ("SET", "big", "10000"),
        ("SET", "str", "abc"),
        ("RPUSH", "l", "a"),
        ("OBJECT", "REFCOUNT", "small"),
        ("OBJECT", "REFCOUNT", "big"),
        ("OBJECT", "REFCOUNT", "str"),
        ("OBJECT", "REFCOUNT", "l"),
        ("OBJECT", "ENCODING", "missing"),
        ("OBJECT", "REFCOUNT", "missing"),
        ("OBJECT", "IDLETIME", "missing"),
        ("OBJECT", "FREQ", "missing"),
        ("OBJECT", "FREQ", "str"),
        ("OBJECT", "HELP"),
        ("OBJECT", "HELP", "x"),
        ("OBJECT", "ENCODING"),
        ("OBJECT", "ENCODING", "a", "b"),
        ("OBJECT", "NOPE", "a"),
        ("OBJECT",),
        ("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"),
        ("OBJECT", "IDLETIME", "str"),
        ("OBJECT", "FREQ", "missing"),
        ("CONFIG", "SET", "maxmemory-policy", "noeviction"),
    ])


def test_idletime_ignores_type_ttl_exists_but_not_touch(r):
    r.set("foo", "bar")
    time.sleep(2.2)
    r.ttl("foo")
    r.type("foo")
    r.exists("foo")
    r.object("encoding", "foo")
    assert r.object("idletime", "foo") >= 2
    r.touch("foo")
    assert r.object("idletime", "foo") < 2
    time.sleep(1.1)
    r.get("foo")
    assert r.object("idletime", "foo") == 0


def test_freq_counts_accesses_under_an_lfu_policy(r):
    r.config_set("maxmemory-policy", "allkeys-lfu")
    r.set("k", "v")
    assert r.object("freq", "k") == 5  # Redis's LFU_INIT_VAL
    r.get("k")
    assert r.object("freq", "k") == 6  # the first increment is certain
    for _ in range(200):
        r.get("k")
    freq = r.object("freq", "k")
    assert 6 < freq < 255  # logarithmic: far fewer than 200 increments
    with pytest.raises(Exception, match="An LFU maxmemory policy is selected"):
        r.object("idletime", "k")


def test_memory_usage_and_errors_match_redis(differ):
    differ.same_all([
        ("MEMORY", "USAGE", "missing"),
        ("MEMORY", "USAGE", "missing", "SAMPLES", "-1"),
        ("MEMORY", "USAGE", "missing", "SAMPLES", "x"),
        ("MEMORY", "USAGE", "missing", "SAMPLES"),
        ("MEMORY", "USAGE", "missing", "FOO"),
        ("MEMORY", "USAGE"),
        ("MEMORY", "NOPE"),
        ("MEMORY", "PURGE"),
        ("MEMORY", "PURGE", "x"),
        ("COMMAND", "GETKEYS", "MEMORY", "USAGE", "key"),
    ])


def test_memory_usage_grows_with_the_value(r):
    r.set("s", "x")
    r.set("big", "x" * 10000)
    assert 0 < r.memory_usage("s") < r.memory_usage("big")
    r.hset("h", mapping={f"f{i}": "v" * 100 for i in range(100)})
    small = r.memory_usage("h", samples=5)
    assert small > 100 * 100
    assert r.memory_usage("h", samples=0) > 100 * 100
    r.rpush("l", *["e" * 50 for _ in range(20)])
    assert r.memory_usage("l") > 20 * 50
    assert r.memory_usage("missing") is None
