"""COPY, MOVE, SWAPDB and keyspace notifications: Redis 7.0's replies and errors side by
side with a real Redis, then the cases a differential test cannot see (TTL kept, collections
copied whole, blocked clients and WATCH after a SWAPDB)."""

import threading
import time

import pytest

import compat_support


ERRORS_AND_REPLIES = [
    ("SET", "s", "v"),
    ("RPUSH", "l", "a", "b", "c"),
    ("COPY", "s", "s"),
    ("COPY", "s", "s", "DB", "0"),
    ("COPY", "s", "s", "DB", "1"),
    ("COPY", "s", "s2"),
    ("COPY", "s", "s2"),
    ("COPY", "s", "s2", "REPLACE"),
    ("COPY", "nokey", "x"),
    ("COPY", "s", "x", "DB"),
    ("COPY", "s", "x", "DB", "abc"),
    ("COPY", "s", "x", "DB", "16"),
    ("COPY", "s", "x", "DB", "-1"),
    ("COPY", "s", "x", "DB", "99999999999"),
    ("COPY", "s", "x", "FOO"),
    ("COPY", "l", "l2"),
    ("LRANGE", "l2", "0", "-1"),
    ("MOVE", "s", "0"),
    ("MOVE", "s", "abc"),
    ("MOVE", "s", "16"),
    ("MOVE", "nokey", "1"),
    ("MOVE", "s", "1"),
    ("EXISTS", "s"),
    ("SELECT", "1"),
    ("GET", "s"),
    ("SET", "s", "other"),
    ("SELECT", "0"),
    ("SET", "s", "again"),
    ("MOVE", "s", "1"),
    ("SWAPDB", "0", "1"),
    ("GET", "s"),
    ("SWAPDB", "0", "x"),
    ("SWAPDB", "x", "0"),
    ("SWAPDB", "0", "16"),
    ("SWAPDB", "-1", "0"),
    ("SWAPDB", "0", "0"),
    ("SWAPDB", "0"),
    ("DBSIZE",),
    ("SELECT", "1"),
    ("DBSIZE",),
]


def test_copy_move_swapdb_match_redis(same_as_redis):
    for command in ERRORS_AND_REPLIES:
        same_as_redis(*command)


def test_copy_keeps_ttl_and_copies_collections_across_databases(r, redge):
    r.rpush("list", *[f"e{i}" for i in range(1000)])
    r.pexpire("list", 100000)
    assert r.copy("list", "list", destination_db=3) == 1
    other = redge.client(db=3)
    assert other.llen("list") == 1000
    assert other.lrange("list", 500, 501) == ["e500", "e501"]
    assert 0 < other.pttl("list") <= 100000
    # The copy is independent of the original.
    other.lpop("list")
    assert r.llen("list") == 1000


def test_move_then_swapdb_across_a_restart(redge_factory, tmp_path):
    data = tmp_path / "data"
    server = redge_factory(data_dir=data)
    r = server.client()
    r.set("a", "1")
    r.rpush("q", "x", "y")
    assert r.move("a", 2) == 1
    r.swapdb(0, 2)
    assert server.client(db=2).lrange("q", 0, -1) == ["x", "y"]
    assert r.get("a") == "1"
    server.stop()
    server = redge_factory(data_dir=data)
    assert server.client().get("a") == "1"
    assert server.client(db=2).lrange("q", 0, -1) == ["x", "y"]
    assert server.client().dbsize() == 1 and server.client(db=2).dbsize() == 1


def test_swapdb_wakes_a_client_blocked_on_the_incoming_key(redge):
    db1 = redge.client(db=1)
    db1.rpush("jobs", "j1")
    blocked = redge.raw()
    blocked.send_command("BLPOP", "jobs", "10")
    compat_support.wait_blocked(redge.client(), 1)
    started = time.monotonic()
    assert redge.client().swapdb(0, 1)
    assert blocked.read_reply(timeout=5) == [b"jobs", b"j1"]
    assert time.monotonic() - started < 2


def test_swapdb_touches_watched_keys(redge):
    r = redge.client()
    r.set("w", "1")
    pipe = r.pipeline()
    pipe.watch("w")
    redge.client().swapdb(0, 5)
    pipe.multi()
    pipe.set("w", "2")
    with pytest.raises(Exception):
        pipe.execute()


def test_keyspace_notifications_for_set_del_expire_and_lists(redge):
    r = redge.client()
    r.config_set("notify-keyspace-events", "KEA")
    p = redge.client().pubsub()
    p.psubscribe("__key*__:*")
    compat_support.wait_until(lambda: p.get_message(timeout=0.1) is not None, what="psubscribe")
    r.set("k", "v")
    r.rpush("l", "a")
    r.delete("k")
    got = []

    def collect():
        m = p.get_message(timeout=0.2)
        if m and m["type"] == "pmessage":
            got.append((m["channel"], m["data"]))
        return len(got) >= 6

    compat_support.wait_until(collect, timeout=10, what="six notifications")
    assert ("__keyspace@0__:k", "set") in got
    assert ("__keyevent@0__:set", "k") in got
    assert ("__keyspace@0__:l", "rpush") in got
    assert ("__keyevent@0__:del", "k") in got
    # A class mask: only list events on the keyevent channel.
    r.config_set("notify-keyspace-events", "El")
    got.clear()
    r.set("k2", "v")
    r.lpush("l", "b")
    compat_support.wait_until(collect_one(p, got), timeout=10, what="lpush event")
    assert got == [("__keyevent@0__:lpush", "l")]
    p.close()


def collect_one(p, got):
    def step():
        m = p.get_message(timeout=0.2)
        if m and m["type"] == "pmessage":
            got.append((m["channel"], m["data"]))
        return len(got) >= 1
    return step
