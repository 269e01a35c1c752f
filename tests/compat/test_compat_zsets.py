"""Sorted sets through real clients (redis-py, raw RESP2/RESP3 sockets) against a real
redge: command replies as redis-py decodes them, the blocking BZPOPMIN/BZPOPMAX/BZMPOP
(woken by writes of other clients, FIFO per key, timeouts, MULTI), the patterns Celery,
Django Channels and BullMQ use, and big sets. Byte-exact replies and error texts for
every command are compared with a real redis-server in test_compat_zsets_diff.py.

A client is known to be blocked by polling INFO clients (blocked_clients), never by
sleeping."""

import math
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from compat_support import Error, blocked_clients, wait_blocked, wait_until


@pytest.fixture
def pool(redge):
    """Threads for blocking calls (the server's teardown ends any still blocked)."""
    ex = ThreadPoolExecutor(max_workers=4)
    yield ex
    ex.shutdown(wait=False, cancel_futures=True)


# --- Commands through redis-py --------------------------------------------------------------


def test_zadd_options_and_replies(r):
    assert r.zadd("z", {"a": 1, "b": 2, "c": 1.5}) == 3
    assert r.zadd("z", {"a": 5, "d": 4}, ch=True) == 2
    assert r.zadd("z", {"a": 0, "e": 0}, nx=True) == 1
    assert r.zadd("z", {"a": 7, "f": 0}, xx=True) == 0
    assert r.zscore("z", "a") == 7.0
    assert r.zadd("z", {"a": 6}, gt=True, ch=True) == 0
    assert r.zadd("z", {"a": 8}, gt=True, ch=True) == 1
    assert r.zadd("z", {"a": 1}, lt=True, xx=True, ch=True) == 1
    assert r.zadd("z", {"a": 2.5}, incr=True) == 3.5
    assert r.zadd("z", {"a": 1}, incr=True, nx=True) is None
    assert r.zincrby("z", -0.5, "a") == 3.0
    assert r.zrange("z", 0, -1, withscores=True) == [
        ("e", 0.0), ("c", 1.5), ("b", 2.0), ("a", 3.0), ("d", 4.0)]
    # redis-py refuses these combinations itself, so they are sent as they are.
    with pytest.raises(redis.ResponseError, match="^XX and NX options at the same time"):
        r.execute_command("ZADD", "z", "NX", "XX", "1", "a")
    with pytest.raises(redis.ResponseError, match="^GT, LT, and/or NX options"):
        r.execute_command("ZADD", "z", "GT", "LT", "1", "a")
    with pytest.raises(redis.ResponseError, match="^value is not a valid float$"):
        r.execute_command("ZADD", "z", "nan", "a")
    r.zadd("inf", {"m": "inf"})
    with pytest.raises(redis.ResponseError, match=r"^resulting score is not a number \(NaN\)$"):
        r.zincrby("inf", float("-inf"), "m")
    assert r.zscore("inf", "m") == math.inf


def test_scores_print_with_17_digits_and_infinities(redge, r):
    r.zadd("z", {"tenth": 0.1, "third": 1 / 3, "big": 1e20, "n": "-inf", "p": "+inf"})
    c = redge.raw()  # redis-py would turn the text into floats
    assert c.call("ZSCORE", "z", "tenth") == b"0.10000000000000001"
    assert c.call("ZSCORE", "z", "third") == b"0.33333333333333331"
    assert c.call("ZSCORE", "z", "big") == b"1e+20"
    assert c.call("ZSCORE", "z", "n") == b"-inf"
    assert c.call("ZRANGE", "z", "-1", "-1", "WITHSCORES") == [b"p", b"inf"]
    c.call("HELLO", "3")
    assert c.call("ZSCORE", "z", "tenth") == 0.1
    c.send_command("ZSCORE", "z", "third")
    assert c.read_bytes(len(b",0.33333333333333331\r\n")) == b",0.33333333333333331\r\n"
    assert c.call("ZADD", "z", "1e309", "x") == Error("ERR value is not a valid float")


def test_ranges_through_redis_py(r):
    r.zadd("z", {m: i for i, m in enumerate("abcdefg")})
    assert r.zrange("z", 1, 3) == ["b", "c", "d"]
    assert r.zrange("z", 0, 1, desc=True) == ["g", "f"]
    assert r.zrangebyscore("z", "(1", 4, start=1, num=2) == ["d", "e"]
    assert r.zrevrangebyscore("z", 4, "(1", withscores=True) == [("e", 4.0), ("d", 3.0),
                                                                  ("c", 2.0)]
    assert r.zrange("z", "(1", "+inf", byscore=True, offset=0, num=2) == ["c", "d"]
    assert r.zcount("z", "(1", "+inf") == 5
    r.zadd("lex", {m: 0 for m in ["apple", "banana", "cherry", "date"]})
    assert r.zrangebylex("lex", "[b", "(d") == ["banana", "cherry"]
    assert r.zrevrangebylex("lex", "+", "(banana") == ["date", "cherry"]
    assert r.zlexcount("lex", "-", "+") == 4
    assert r.zrangestore("dst", "z", 2, 4, byscore=True, desc=False) == 3
    assert r.zrange("dst", 0, -1, withscores=True) == [("c", 2.0), ("d", 3.0), ("e", 4.0)]
    assert r.zrank("z", "c") == 2 and r.zrevrank("z", "c") == 4
    assert r.zrank("z", "nope") is None
    assert r.zmscore("z", ["a", "nope", "g"]) == [0.0, None, 6.0]
    with pytest.raises(redis.ResponseError, match="^min or max is not a float$"):
        r.zrangebyscore("z", "x", 1)
    with pytest.raises(redis.ResponseError, match="^min or max not valid string range item$"):
        r.zrangebylex("lex", "a", "+")
    with pytest.raises(redis.ResponseError,
                       match="^syntax error, LIMIT is only supported in combination"):
        r.execute_command("ZRANGE", "z", "0", "-1", "LIMIT", "0", "1")


def test_removal_deletes_empty_sets_and_wrongtype(r):
    r.zadd("z", {"a": 1, "b": 2, "c": 3})
    assert r.zrem("z", "a", "x") == 1
    assert r.zremrangebyscore("z", 2, 2) == 1
    assert r.zremrangebyrank("z", 0, -1) == 1
    assert r.exists("z") == 0 and r.type("z") == "none"
    r.set("s", "v")
    for call in (lambda: r.zadd("s", {"a": 1}), lambda: r.zrange("s", 0, -1),
                 lambda: r.zpopmin("s"), lambda: r.zscore("s", "a"),
                 lambda: r.zunion(["s"]), lambda: r.bzpopmin("s", 1)):
        with pytest.raises(redis.ResponseError, match="^WRONGTYPE Operation against a key"):
            call()
    assert r.get("s") == "v"


def test_pops_and_zmpop(r):
    r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4})
    assert r.zpopmin("z") == [("a", 1.0)]
    assert r.zpopmax("z", 2) == [("d", 4.0), ("c", 3.0)]
    assert r.zmpop(2, ["none", "z"], min=True, count=5) == ["z", [["b", "2"]]]
    assert r.exists("z") == 0
    assert r.zmpop(1, ["z"], max=True) is None
    assert r.zpopmin("z") == []


def test_zrandmember_counts(r):
    r.zadd("z", {f"m{i}": i for i in range(20)})
    assert len(set(r.zrandmember("z", 5))) == 5
    assert len(r.zrandmember("z", -50)) == 50
    assert r.zrandmember("z", 100) == [f"m{i}" for i in range(19, -1, -1)]
    pairs = r.zrandmember("z", 3, withscores=True)
    assert len(pairs) == 6
    for member, score in zip(pairs[::2], pairs[1::2]):
        assert float(score) == int(member[1:])
    assert r.zrandmember("z") in {f"m{i}" for i in range(20)}
    assert r.zrandmember("none") is None
    assert r.zrandmember("none", 3) == []
    # A reply of tens of millions of repeated members is refused, not built.
    with pytest.raises(redis.ResponseError, match="^value is out of range"):
        r.zrandmember("z", -20_000_000)
    assert r.zcard("z") == 20


def test_zscan_small_and_big_sets(r):
    r.zadd("small", {"a": 1, "b": 2})
    assert r.zscan("small", 0) == (0, [("a", 1.0), ("b", 2.0)])
    big = {f"member:{i}": i for i in range(1000)}
    r.zadd("big", big)
    cursor, items = r.zscan("big", 0, count=100)
    assert cursor != 0 and 1 <= len(items) <= 100
    seen = dict(r.zscan_iter("big", count=100))
    assert seen == {k: float(v) for k, v in big.items()}
    assert dict(r.zscan_iter("big", match="member:99*")) == {
        f"member:{i}": float(i) for i in [99] + list(range(990, 1000))}


def test_set_operations(r):
    r.zadd("a", {"x": 1, "y": 2, "z": 3})
    r.zadd("b", {"y": 10, "z": 20, "w": 30})
    assert r.zunion(["a", "b"], withscores=True) == [("x", 1.0), ("y", 12.0), ("z", 23.0),
                                                      ("w", 30.0)]
    assert r.zinter({"a": 2, "b": 1}, aggregate="MAX", withscores=True) == [("y", 10.0),
                                                                           ("z", 20.0)]
    assert r.zdiff(["a", "b"], withscores=True) == ["x", "1"]  # redis-py 4.3 leaves it flat
    assert r.zunionstore("u", ["a", "b"], aggregate="MIN") == 4
    assert r.zrange("u", 0, -1, withscores=True) == [("x", 1.0), ("y", 2.0), ("z", 3.0),
                                                      ("w", 30.0)]
    assert r.zinterstore("i", {"a": 1, "b": 0}) == 2
    assert r.zdiffstore("d", ["b", "a"]) == 1
    assert r.zintercard(2, ["a", "b"]) == 2
    assert r.zintercard(2, ["a", "b"], limit=1) == 1
    with pytest.raises(redis.ResponseError, match="^at least 1 input key is needed for 'zunion'"):
        r.execute_command("ZUNION", "0", "a")


def test_set_inputs_count_with_score_one(r):
    r.sadd("s", "x", "q")
    r.zadd("a", {"x": 5, "y": 2})
    assert r.zunion(["a", "s"], withscores=True) == [("q", 1.0), ("y", 2.0), ("x", 6.0)]
    assert r.zinter({"a": 1, "s": 10}, withscores=True) == [("x", 15.0)]
    assert r.zdiff(["s", "a"], withscores=True) == ["q", "1"]
    assert r.zintercard(2, ["s", "a"]) == 1


def test_keyspace_interplay(r):
    r.zadd("z", {"a": 1, "b": 2})
    assert r.type("z") == "zset"
    assert r.rename("z", "z2") is True
    assert r.zrange("z2", 0, -1, withscores=True) == [("a", 1.0), ("b", 2.0)]
    assert r.pexpire("z2", 50) is True
    wait_until(lambda: r.exists("z2") == 0, what="the TTL of z2 to pass")
    assert r.zcard("z2") == 0 and r.zrange("z2", 0, -1) == []
    r.zadd("z2", {"fresh": 1})
    assert r.zrange("z2", 0, -1) == ["fresh"]


def test_watch_is_triggered_by_zadd(redge, r):
    other = redge.client()
    r.zadd("z", {"a": 1})
    pipe = r.pipeline(transaction=True)
    pipe.watch("z")
    other.zadd("z", {"b": 2})
    pipe.multi()
    pipe.zcard("z")
    with pytest.raises(redis.WatchError):
        pipe.execute()


# --- Blocking pops --------------------------------------------------------------------------


def test_bzpop_served_at_once_when_data_exists(r):
    r.zadd("b", {"x": 1, "y": 2})
    assert r.bzpopmin(["none", "b"], 1) == ("b", "x", 1.0)
    assert r.bzpopmax(["b"], 1) == ("b", "y", 2.0)
    assert r.exists("b") == 0
    r.zadd("c", {"x": 1, "y": 2, "z": 3})
    assert r.bzmpop(1, 2, ["none", "c"], max=True, count=2) == ["c", [["z", "3"], ["y", "2"]]]


@pytest.mark.parametrize("command", ["bzpopmin", "bzpopmax", "bzmpop"])
def test_blocked_pop_is_woken_by_zadd_from_another_client(redge, r, pool, command):
    blocker = redge.client()
    if command == "bzmpop":
        fut = pool.submit(blocker.bzmpop, 10, 2, ["k1", "k2"], min=True, count=5)
    else:
        fut = pool.submit(getattr(blocker, command), ["k1", "k2"], 10)
    wait_blocked(r, 1)
    assert not fut.done(), "returned before any ZADD"
    t0 = time.monotonic()
    assert r.zadd("k2", {"low": 1, "high": 2}) == 2
    result = fut.result(timeout=10)
    elapsed = time.monotonic() - t0
    assert elapsed < 1.0, f"served {elapsed:.3f}s after the ZADD (10 s timeout)"
    if command == "bzpopmin":
        assert result == ("k2", "low", 1.0)
        assert r.zrange("k2", 0, -1) == ["high"]
    elif command == "bzpopmax":
        assert result == ("k2", "high", 2.0)
        assert r.zrange("k2", 0, -1) == ["low"]
    else:
        assert result == ["k2", [["low", "1"], ["high", "2"]]]
        assert r.exists("k2") == 0
    wait_blocked(r, 0)


def test_blocked_clients_are_served_fifo(redge, r, pool):
    clients = [redge.client() for _ in range(3)]
    futures = []
    for i, c in enumerate(clients):
        futures.append(pool.submit(c.bzpopmin, ["q"], 20))
        wait_blocked(r, i + 1)  # each one blocked before the next starts
    assert r.zadd("q", {"c": 3, "a": 1, "b": 2}) == 3
    assert [f.result(timeout=10) for f in futures] == [("q", "a", 1.0), ("q", "b", 2.0),
                                                       ("q", "c", 3.0)]
    assert r.exists("q") == 0
    # One member per write: only the head of the queue is served each time.
    futures = []
    for i, c in enumerate(clients):
        futures.append(pool.submit(c.bzpopmax, ["q"], 20))
        wait_blocked(r, i + 1)
    for n, member in enumerate(["first", "second", "third"]):
        r.zadd("q", {member: n})
        assert futures[n].result(timeout=10) == ("q", member, float(n))
        wait_blocked(r, 2 - n)
        assert not any(f.done() for f in futures[n + 1:])


@pytest.mark.parametrize("proto", [2, 3])
def test_timeouts_reply_nil_array(redge, proto):
    c = redge.raw()
    if proto == 3:
        c.call("HELLO", "3")
    for command in (["BZPOPMIN", "none", "0.2"], ["BZPOPMAX", "a", "b", "0.2"],
                    ["BZMPOP", "0.2", "1", "none", "MIN"]):
        t0 = time.monotonic()
        c.send_command(*command)
        raw = c.read_bytes(5 if proto == 2 else 3, timeout=5)
        elapsed = time.monotonic() - t0
        assert raw == (b"*-1\r\n" if proto == 2 else b"_\r\n"), command
        assert 0.19 <= elapsed < 2.0, f"{command} timed out after {elapsed:.3f}s"


def test_resp3_served_reply_shapes(redge, r, pool):
    c = redge.raw()
    c.call("HELLO", "3")
    c.send_command("BZPOPMIN", "k", "10")
    wait_blocked(r, 1)
    r.zadd("k", {"m": 1.5})
    assert c.read_bytes(len(b"*3\r\n$1\r\nk\r\n$1\r\nm\r\n,1.5\r\n"), timeout=10) == \
        b"*3\r\n$1\r\nk\r\n$1\r\nm\r\n,1.5\r\n"
    c.send_command("BZMPOP", "10", "1", "k", "MAX", "COUNT", "2")
    wait_blocked(r, 1)
    r.zadd("k", {"a": 1, "b": 2})
    want = b"*2\r\n$1\r\nk\r\n*2\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\na\r\n,1\r\n"
    assert c.read_bytes(len(want), timeout=10) == want


def test_blocked_pop_ignores_other_types_until_a_sorted_set_arrives(redge, r, pool):
    blocker = redge.client()
    fut = pool.submit(blocker.bzpopmin, ["k"], 20)
    wait_blocked(r, 1)
    r.set("k", "string")
    r.rpush("other", "x")
    assert blocked_clients(r) == 1 and not fut.done()
    r.delete("k")
    r.zadd("k", {"m": 7})
    assert fut.result(timeout=10) == ("k", "m", 7.0)


def test_keys_written_in_one_transaction_serve_in_write_order(redge, r, pool):
    """Redis serves ready keys in the order they became ready: both waiters block on
    (k1, k2); a transaction writes k1 then k2 (k2 sorts first as bytes)."""
    first, second = redge.client(), redge.client()
    f1 = pool.submit(first.bzmpop, 20, 2, ["k{1}", "k{0}"], min=True, count=1)
    wait_blocked(r, 1)
    f2 = pool.submit(second.bzmpop, 20, 2, ["k{1}", "k{0}"], max=True, count=10)
    wait_blocked(r, 2)
    pipe = r.pipeline(transaction=True)
    pipe.zadd("k{1}", {"a": 1, "b": 2, "c": 3}).zadd("k{0}", {"x": 1})
    pipe.execute()
    assert f1.result(timeout=10) == ["k{1}", [["a", "1"]]]
    assert f2.result(timeout=10) == ["k{1}", [["c", "3"], ["b", "2"]]]
    assert r.zrange("k{0}", 0, -1) == ["x"]


def test_waiter_of_another_type_does_not_hold_up_the_queue(redge, r, pool):
    """A BLPOP and then a BZPOPMIN wait on one key; a ZADD serves the BZPOPMIN and the
    BLPOP keeps waiting (no WRONGTYPE), as in Redis; an RPUSH later serves it."""
    lister, zsetter = redge.client(), redge.client()
    f_list = pool.submit(lister.blpop, ["k"], 20)
    wait_blocked(r, 1)
    f_zset = pool.submit(zsetter.bzpopmin, ["k"], 20)
    wait_blocked(r, 2)
    r.zadd("k", {"m": 1})
    assert f_zset.result(timeout=10) == ("k", "m", 1.0)
    wait_blocked(r, 1)
    assert not f_list.done()
    r.rpush("k", "item")
    assert f_list.result(timeout=10) == ("k", "item")


def test_wrongtype_at_request_time(r):
    r.set("s", "v")
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        r.bzpopmin(["none", "s"], 0)
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        r.bzmpop(0, 2, ["s", "none"], min=True)
    assert blocked_clients(r) == 0


def test_blocking_pops_inside_multi_do_not_block(redge, r):
    c = redge.raw()
    r.zadd("full", {"a": 1})
    assert c.call("MULTI") == "OK"
    for command in (["BZPOPMIN", "empty", "0"], ["BZMPOP", "0", "1", "empty", "MIN"],
                    ["BZPOPMAX", "empty", "full", "0"]):
        assert c.call(*command) == "QUEUED"
    assert c.call("EXEC", timeout=5) == [None, None, [b"full", b"a", b"1"]]


def test_write_inside_transaction_serves_blocked_client_after_exec(redge, r, pool):
    blocker = redge.client()
    fut = pool.submit(blocker.bzpopmin, ["q"], 20)
    wait_blocked(r, 1)
    pipe = r.pipeline(transaction=True)
    pipe.zadd("q", {"transient": 1}).zpopmin("q")
    assert pipe.execute() == [1, [("transient", 1.0)]]
    assert blocked_clients(r) == 1 and not fut.done()
    pipe = r.pipeline(transaction=True)
    pipe.zadd("q", {"kept": 2}).zcard("q")
    assert pipe.execute() == [1, 1]
    assert fut.result(timeout=10) == ("q", "kept", 2.0)


def test_store_commands_wake_blocked_clients(redge, r, pool):
    r.zadd("src", {"a": 1, "b": 2})
    blocker = redge.client()
    fut = pool.submit(blocker.bzpopmax, ["dst"], 20)
    wait_blocked(r, 1)
    assert r.zunionstore("dst", ["src"]) == 2
    assert fut.result(timeout=10) == ("dst", "b", 2.0)


def test_client_unblock_and_disconnect(redge, r, pool):
    blocker = redge.client(single_connection_client=True)
    blocker_id = blocker.client_id()
    fut = pool.submit(blocker.bzpopmin, ["k"], 0)
    wait_blocked(r, 1)
    assert r.client_unblock(blocker_id) is True
    assert fut.result(timeout=10) is None
    raw = redge.raw()
    raw.send_command("BZMPOP", "0", "1", "k", "MIN")
    wait_blocked(r, 1)
    raw.close()
    wait_blocked(r, 0)
    assert r.zadd("k", {"v": 1}) == 1
    assert r.zrange("k", 0, -1) == ["v"]  # nobody consumed it


def test_blocking_argument_errors(redge):
    c = redge.raw()
    assert c.call("BZPOPMIN", "k", "-1") == Error("ERR timeout is negative")
    assert c.call("BZPOPMAX", "k", "x") == Error("ERR timeout is not a float or out of range")
    assert c.call("BZMPOP", "1", "0", "k", "MIN") == Error("ERR numkeys should be greater than 0")
    assert c.call("BZMPOP", "1", "1", "k", "MIN", "COUNT", "0") == Error(
        "ERR count should be greater than 0")
    assert c.call("BZPOPMIN", "k") == Error(
        "ERR wrong number of arguments for 'bzpopmin' command")


# --- What frameworks do -----------------------------------------------------------------------


def test_celery_unacked_index_pattern(r):
    """kombu's Redis transport: ZADD unacked_index <time> <tag>, and restore_visible reads
    ZREVRANGEBYSCORE unacked_index <ceil> 0 WITHSCORES LIMIT ..."""
    now = time.time()
    tags = {f"tag-{i}": now - 100 + i for i in range(10)}
    for tag, ts in tags.items():
        assert r.zadd("unacked_index", {tag: ts}) == 1
    ceil = now - 95
    got = r.zrevrangebyscore("unacked_index", ceil, 0, start=0, num=3, withscores=True)
    assert got == [(f"tag-{i}", tags[f"tag-{i}"]) for i in (5, 4, 3)]
    assert r.zrem("unacked_index", "tag-5") == 1
    assert r.zrevrangebyscore("unacked_index", ceil, 0)[:1] == ["tag-4"]


def test_channels_redis_pattern(r):
    """channels_redis: ZADD channel <time> <message>, ZREMRANGEBYSCORE to expire, ZCOUNT
    against capacity, ZRANGEBYSCORE/ZPOPMIN to receive."""
    base = 1_700_000_000.25
    for i in range(5):
        r.zadd("asgi:specific.chan", {f"msg-{i}": base + i})
    assert r.zremrangebyscore("asgi:specific.chan", 0, int(base + 2)) == 2
    assert r.zcount("asgi:specific.chan", "-inf", "+inf") == 3
    assert r.zrangebyscore("asgi:specific.chan", "-inf", "+inf", start=0, num=1) == ["msg-2"]
    assert r.zpopmin("asgi:specific.chan") == [("msg-2", base + 2)]


def test_bullmq_marker_pattern(redge, r, pool):
    """BullMQ workers block on BZPOPMIN of a marker key; producers ZADD it."""
    worker = redge.client()
    fut = pool.submit(worker.bzpopmin, ["bull:queue:marker"], 5)
    wait_blocked(r, 1)
    r.zadd("bull:queue:marker", {"0": 0})
    assert fut.result(timeout=10) == ("bull:queue:marker", "0", 0.0)
    assert r.bzpopmin("bull:queue:marker", 0.05) is None


# --- Big sets ---------------------------------------------------------------------------------


def test_big_set_queries(r):
    pipe = r.pipeline(transaction=False)
    for base in range(0, 50_000, 5_000):
        pipe.zadd("big", {f"m{i:06d}": i for i in range(base, base + 5_000)})
    assert sum(pipe.execute()) == 50_000
    assert r.zcard("big") == 50_000
    assert r.zrangebyscore("big", 25_000, "(25003") == [
        "m025000", "m025001", "m025002"]
    assert r.zrevrank("big", "m049990") == 9
    assert r.zrange("big", -2, -1) == ["m049998", "m049999"]
    assert r.zpopmin("big", 2) == [("m000000", 0.0), ("m000001", 1.0)]
    assert r.delete("big") == 1
    assert r.zcard("big") == 0


def test_big_set_ranks_survive_sigkill_restore_and_copy(redge_factory, tmp_path):
    """A big set's ranks are right after a SIGKILL under --fsync always, after
    DUMP/RESTORE to another key, and after COPY, RENAME and further writes."""
    data_dir = tmp_path / "zset-data"
    first = redge_factory("--fsync", "always", data_dir=data_dir)
    r = first.client()
    r.zadd("big", {f"m{i:05d}": i for i in range(20_000)})
    r.zrem("big", *[f"m{i:05d}" for i in range(0, 20_000, 3)])  # 13,333 left
    r.zadd("big", {f"x{i:05d}": 5_000.5 for i in range(2_000)})  # one block splits
    first.kill_on_purpose()
    second = redge_factory("--fsync", "always", data_dir=data_dir)
    r = second.client()
    members = r.zrange("big", 0, -1)
    assert len(members) == 15_333
    for i in (0, 1, 3332, 3333, 5000, 7777, 15_332):
        assert r.zrank("big", members[i]) == i
        assert r.zrevrank("big", members[i]) == 15_332 - i
        assert r.zrange("big", i, i) == [members[i]]
    assert r.zcount("big", "(1000", "15000") == sum(
        1 for m, s in r.zrange("big", 0, -1, withscores=True) if 1000 < s <= 15000)
    r.restore("restored", 0, r.dump("big"))
    r.copy("big", "copied")
    r.rename("copied", "renamed")
    for key in ("restored", "renamed"):
        assert r.zrange(key, 0, -1) == members
        assert r.zrank(key, members[7777]) == 7777
        r.zadd(key, {"aaa-first": -1})
        assert r.zrank(key, members[7777]) == 7778
        r.zpopmin(key, 500)
        assert r.zrank(key, members[7777]) == 7278
