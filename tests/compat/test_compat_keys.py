"""Keys: DEL/UNLINK/EXISTS, EXPIRE and its options, PERSIST, TYPE, KEYS, SCAN, RENAME,
SELECT isolation across databases."""

import collections
import re
import time

import pytest
import redis

from compat_support import Error, wait_until


def test_del_unlink_exists(r):
    r.mset({"a": "1", "b": "2", "c": "3"})
    r.rpush("l", "x")
    assert r.exists("a") == 1
    assert r.exists("a", "a", "b", "missing") == 3
    assert r.delete("a", "b", "missing") == 2
    assert r.exists("a", "b") == 0
    assert r.unlink("c", "l", "missing") == 2
    assert r.exists("c", "l") == 0
    assert r.delete("missing") == 0
    assert r.dbsize() == 0


def test_expire_pexpire_expireat(r):
    r.set("k", "v")
    assert r.expire("k", 100) is True
    assert 98 <= r.ttl("k") <= 100
    assert r.pexpire("k", 50_000) is True
    assert 48 <= r.ttl("k") <= 50
    assert r.expireat("k", int(time.time()) + 300) is True
    assert 295 <= r.ttl("k") <= 300
    assert r.pexpireat("k", int(time.time() * 1000) + 400_000) is True
    assert 395 <= r.ttl("k") <= 400
    assert r.expire("missing", 100) is False
    assert r.pexpire("missing", 100) is False
    # A non-positive TTL deletes the key at once.
    assert r.expire("k", -1) is True
    assert r.exists("k") == 0
    r.set("k2", "v")
    assert r.expireat("k2", int(time.time()) - 10) is True
    assert r.exists("k2") == 0
    assert r.get("k2") is None


def test_expire_nx_xx_gt_lt(r):
    r.set("k", "v")
    assert r.expire("k", 100, xx=True) is False  # no TTL yet
    assert r.ttl("k") == -1
    assert r.expire("k", 100, gt=True) is False  # no TTL counts as infinite
    assert r.ttl("k") == -1
    assert r.expire("k", 100, nx=True) is True
    assert 98 <= r.ttl("k") <= 100
    assert r.expire("k", 200, nx=True) is False
    assert 98 <= r.ttl("k") <= 100
    assert r.expire("k", 50, gt=True) is False
    assert r.expire("k", 200, gt=True) is True
    assert 198 <= r.ttl("k") <= 200
    assert r.expire("k", 300, lt=True) is False
    assert r.expire("k", 150, lt=True) is True
    assert 148 <= r.ttl("k") <= 150
    assert r.expire("k", 120, xx=True) is True
    assert 118 <= r.ttl("k") <= 120
    assert r.persist("k") is True
    assert r.expire("k", 60, lt=True) is True  # no TTL counts as infinite
    assert 58 <= r.ttl("k") <= 60
    assert r.pexpire("k", 30_000, lt=True) is True
    assert 28 <= r.ttl("k") <= 30


def test_expire_option_errors_exact_text(redge):
    c = redge.raw()
    assert c.call("SET", "k", "v") == "OK"
    assert c.call("EXPIRE", "k", "10", "NX", "XX") == Error(
        "ERR NX and XX, GT or LT options at the same time are not compatible")
    assert c.call("EXPIRE", "k", "10", "NX", "GT") == Error(
        "ERR NX and XX, GT or LT options at the same time are not compatible")
    assert c.call("EXPIRE", "k", "10", "GT", "LT") == Error(
        "ERR GT and LT options at the same time are not compatible")
    assert c.call("EXPIRE", "k", "10", "FOO") == Error("ERR Unsupported option FOO")
    assert c.call("EXPIRE", "k", "abc") == Error("ERR value is not an integer or out of range")
    assert c.call("EXPIRE", "k") == Error("ERR wrong number of arguments for 'expire' command")
    assert c.call("TTL", "k") == -1


def test_persist(r):
    r.set("k", "v", ex=100)
    assert r.persist("k") is True
    assert r.ttl("k") == -1
    assert r.persist("k") is False
    assert r.persist("missing") is False
    assert r.get("k") == "v"


def test_type(r):
    r.set("s", "v")
    r.rpush("l", "a")
    assert r.type("s") == "string"
    assert r.type("l") == "list"
    assert r.type("missing") == "none"


def test_keys_glob_patterns(r):
    names = ["hello", "hallo", "hxllo", "hllo", "heeeello", "a*b", "a?b", "axb", "h[a]llo"]
    for n in names:
        r.set(n, "1")
    assert sorted(r.keys("*")) == sorted(names)
    assert sorted(r.keys("h?llo")) == ["hallo", "hello", "hxllo"]
    assert sorted(r.keys("h*llo")) == sorted(
        ["hello", "hallo", "hxllo", "hllo", "heeeello", "h[a]llo"])
    assert sorted(r.keys("h[ae]llo")) == ["hallo", "hello"]
    assert sorted(r.keys("h[^e]llo")) == ["hallo", "hxllo"]
    assert sorted(r.keys("h[a-b]llo")) == ["hallo"]
    assert r.keys("a\\*b") == ["a*b"]
    assert sorted(r.keys("a?b")) == ["a*b", "a?b", "axb"]
    assert r.keys("h\\[a\\]llo") == ["h[a]llo"]
    assert r.keys("nomatch*") == []


def test_scan_iter_gets_each_key_exactly_once(r):
    expected = {f"key:{i}" for i in range(2000)}
    pipe = r.pipeline(transaction=False)
    for i, k in enumerate(sorted(expected)):
        pipe.set(k, i)
    for i in range(50):
        pipe.rpush(f"list:{i}", "x")
    pipe.execute()
    seen = collections.Counter(r.scan_iter(count=100))
    dupes = {k: n for k, n in seen.items() if n != 1}
    assert not dupes, f"keys returned more than once: {list(dupes.items())[:10]}"
    assert set(seen) == expected | {f"list:{i}" for i in range(50)}

    # MATCH filters; a small COUNT still terminates with cursor 0 and sees all.
    matched = collections.Counter(r.scan_iter(match="key:1*", count=7))
    assert set(matched) == {k for k in expected if k.startswith("key:1")}
    assert all(n == 1 for n in matched.values())

    # TYPE filter.
    lists = collections.Counter(r.scan_iter(_type="list", count=50))
    assert set(lists) == {f"list:{i}" for i in range(50)}

    # A manual cursor loop ends (bounded) on cursor 0.
    cursor, rounds, total = 0, 0, 0
    while True:
        cursor, keys = r.scan(cursor=cursor, count=500)
        total += len(keys)
        rounds += 1
        assert rounds < 1000, "SCAN never returned cursor 0"
        if cursor == 0:
            break
    assert total == 2050


def test_rename(r):
    r.set("a", "1", ex=100)
    assert r.rename("a", "b") is True
    assert r.exists("a") == 0
    assert r.get("b") == "1"
    assert 98 <= r.ttl("b") <= 100  # the TTL moves with the value
    r.rpush("l", "x", "y")
    assert r.rename("l", "b") is True  # overwrites, whatever the type
    assert r.type("b") == "list"
    assert r.lrange("b", 0, -1) == ["x", "y"]
    assert r.ttl("b") == -1
    assert r.rename("b", "b") is True
    assert r.lrange("b", 0, -1) == ["x", "y"]
    with pytest.raises(redis.ResponseError) as e:
        r.rename("missing", "z")
    assert str(e.value) == "no such key"


def test_select_isolation_across_dbs(redge):
    r0 = redge.client(db=0)
    r1 = redge.client(db=1)
    r15 = redge.client(db=15)
    r0.set("k", "zero")
    assert r1.get("k") is None
    r1.set("k", "one")
    r15.rpush("k", "fifteen")
    assert r0.get("k") == "zero"
    assert r1.get("k") == "one"
    assert r15.lrange("k", 0, -1) == ["fifteen"]
    r0.set("only0", "x")
    assert r0.dbsize() == 2
    assert r1.dbsize() == 1
    assert r1.keys("*") == ["k"]
    assert r15.dbsize() == 1
    assert r1.flushdb() is True
    assert r1.dbsize() == 0
    assert r0.get("k") == "zero"
    assert r15.exists("k") == 1
    assert r0.flushall() is True
    assert r0.dbsize() == 0 and r15.dbsize() == 0

    # SELECT on one connection switches back and forth.
    c = redge.raw()
    assert c.call("SET", "x", "db0") == "OK"
    assert c.call("SELECT", "3") == "OK"
    assert c.call("GET", "x") is None
    assert c.call("SET", "x", "db3") == "OK"
    assert c.call("SELECT", "0") == "OK"
    assert c.call("GET", "x") == b"db0"
    assert c.call("SELECT", "16") == Error("ERR DB index is out of range")
    assert c.call("SELECT", "-1") == Error("ERR DB index is out of range")
    assert c.call("SELECT", "x") == Error("ERR value is not an integer or out of range")
    assert c.call("GET", "x") == b"db0"  # a failed SELECT leaves the db as it was


def test_expired_keys_are_reclaimed_without_access(redge, r):
    """The active expirer removes keys nobody reads: DBSIZE and INFO keyspace drop."""
    pipe = r.pipeline(transaction=False)
    for i in range(200):
        pipe.set(f"tmp:{i}", "v", px=200)
    pipe.rpush("tmp:list", "a", "b")
    pipe.pexpire("tmp:list", 200)
    pipe.set("keep", "v")
    pipe.execute()
    before = r.info("stats")["expired_keys"]
    wait_until(lambda: r.dbsize() == 1, timeout=15, interval=0.1,
               what="DBSIZE to drop to 1 by active expiry")
    # The keyspace line's full format is test_info_sections_parse's business.
    assert re.search(r"^db0:keys=1\b", redge.raw().call("INFO", "keyspace").decode(), re.M)
    assert r.info("stats")["expired_keys"] - before >= 201
    assert r.keys("*") == ["keep"]
