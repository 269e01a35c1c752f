"""DUMP and RESTORE: Redis 7.0's errors and their order side by side with a real Redis,
round trips of every type through redis-py (TTL, ABSTTL, REPLACE, IDLETIME, FREQ, BUSYKEY,
keyspace event), and the payload format boundary: redge's payloads are its own (see
store/dump.h), so a Redis payload is refused with Redis's "Bad data format" and vice versa."""

import time

import pytest
import redis

ERRORS = [
    ("DUMP", "nokey"),
    ("RESTORE", "k", "0", "garbage"),
    ("SET", "k", "v"),
    ("RESTORE", "k", "0", "x"),
    ("RESTORE", "k", "-1", "x", "REPLACE"),
    ("RESTORE", "k", "x", "x", "REPLACE"),
    ("RESTORE", "k", "0", "x", "FOO"),
    ("RESTORE", "k", "0", "x", "IDLETIME", "-1"),
    ("RESTORE", "k", "0", "x", "IDLETIME", "x"),
    ("RESTORE", "k", "0", "x", "FREQ", "300"),
    ("RESTORE", "k", "0", "x", "FREQ", "1", "IDLETIME", "1"),
    ("RESTORE", "k", "0", "x", "IDLETIME"),
    ("RESTORE", "k", "0", "x", "REPLACE"),
    ("RESTORE", "k2", "0", "0123456789"),
    ("RESTORE", "k2", "0"),
]


def test_dump_restore_errors_match_redis(same_as_redis):
    for command in ERRORS:
        same_as_redis(*command)


@pytest.fixture
def rb(redge):
    return redge.client(decode_responses=False)


def fill(c):
    c.rpush("l", "a", "b", "c")
    c.hset("h", mapping={"f": "v", "g": "w" * 100})
    c.sadd("s", "1", "x")
    c.zadd("z", {"a": 1, "b": -2.5})
    c.set("str", "123")
    c.set("raw", "x")
    c.append("raw", "y")


def test_every_type_round_trips(rb):
    fill(rb)
    for key in ["l", "h", "s", "z", "str", "raw"]:
        payload = rb.dump(key)
        assert rb.restore(key + "2", 0, payload)
        assert rb.object("encoding", key + "2") == rb.object("encoding", key)
        assert rb.ttl(key + "2") == -1
    assert rb.lrange("l2", 0, -1) == [b"a", b"b", b"c"]
    assert rb.hgetall("h2") == {b"f": b"v", b"g": b"w" * 100}
    assert rb.smembers("s2") == {b"1", b"x"}
    assert rb.zrange("z2", 0, -1, withscores=True) == [(b"b", -2.5), (b"a", 1.0)]
    assert rb.get("str2") == b"123" and rb.get("raw2") == b"xy"


def test_ttl_replace_busykey_and_events(rb, redge):
    rb.set("src", "v")
    payload = rb.dump("src")
    assert rb.restore("t1", 5000, payload)
    assert 0 < rb.pttl("t1") <= 5000
    assert rb.restore("t2", int(time.time() * 1000) + 5000, payload, absttl=True)
    assert 0 < rb.pttl("t2") <= 5000
    with pytest.raises(redis.ResponseError, match="BUSYKEY Target key name already exists"):
        rb.restore("t1", 0, payload)
    rb.delete("t1")
    rb.rpush("t1", "other")
    assert rb.restore("t1", 0, payload, replace=True)
    assert rb.type("t1") == b"string" and rb.ttl("t1") == -1
    # A deadline in the past with REPLACE deletes the key.
    assert rb.restore("t1", 1, payload, replace=True, absttl=True)
    assert rb.exists("t1") == 0
    rb.config_set("notify-keyspace-events", "KEg")
    p = redge.client().pubsub()
    p.psubscribe("__keyspace@0__:*")
    p.get_message(timeout=2)
    rb.restore("t3", 0, payload)
    m = p.get_message(timeout=5)
    assert m and m["data"] == "restore"


def test_restore_idletime_and_freq(rb):
    rb.set("src", "v")
    payload = rb.dump("src")
    rb.restore("idle", 0, payload, idletime=1000)
    assert 1000 <= rb.object("idletime", "idle") <= 1010
    rb.config_set("maxmemory-policy", "allkeys-lfu")
    rb.restore("freq", 0, payload, frequency=100)
    assert rb.object("freq", "freq") == 100
    rb.config_set("maxmemory-policy", "noeviction")


def test_payloads_do_not_cross_between_redis_and_redge(rb, differ, reference_redis):
    ref = redis.Redis(host=reference_redis.host, port=reference_redis.port)
    ref.set("k", "v")
    redis_payload = ref.dump("k")
    with pytest.raises(redis.ResponseError, match="^Bad data format$"):
        rb.restore("k", 0, redis_payload)
    rb.set("k", "v")
    redge_payload = rb.dump("k")
    with pytest.raises(redis.ResponseError, match="^Bad data format$"):
        ref.restore("k2", 0, redge_payload)
    ref.close()
