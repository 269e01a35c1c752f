"""Blocking pops woken by another connection: BLPOP/BRPOP/BLMOVE/BRPOPLPUSH/BLMPOP,
fractional timeouts, timeout 0, FIFO order of blocked clients, CLIENT UNBLOCK.

A client is known to be blocked by polling INFO clients (blocked_clients), never by
sleeping."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from compat_support import Error, RawConn, blocked_clients, wait_blocked


@pytest.fixture
def pool(redge):
    """Threads for blocking calls. Not joined here: if a test failed while a call was
    still blocked, the server's teardown (set up before, so torn down after) ends it."""
    ex = ThreadPoolExecutor(max_workers=4)
    yield ex
    ex.shutdown(wait=False, cancel_futures=True)


def test_blpop_brpop_served_at_once_when_data_exists(r):
    r.rpush("b", "1", "2", "3")
    r.rpush("c", "x")
    assert r.blpop(["a", "b", "c"], timeout=1) == ("b", "1")
    assert r.brpop(["a", "b", "c"], timeout=1) == ("b", "3")
    assert r.brpop(["c", "b"], timeout=1) == ("c", "x")
    assert r.exists("c") == 0


def test_blpop_woken_by_push_from_other_connection(redge, r, pool):
    blocker = redge.client()
    fut = pool.submit(blocker.blpop, ["k1", "k2"], 10)
    wait_blocked(r, 1)
    assert not fut.done()
    assert r.rpush("k2", "v") == 1
    assert fut.result(timeout=10) == ("k2", "v")
    assert r.exists("k2") == 0
    wait_blocked(r, 0)


def test_brpop_woken_by_lpush(redge, r, pool):
    blocker = redge.client()
    fut = pool.submit(blocker.brpop, ["q"], 10)
    wait_blocked(r, 1)
    assert r.lpush("q", "a", "b") == 2  # list is b a; BRPOP takes the tail
    assert fut.result(timeout=10) == ("q", "a")
    assert r.lrange("q", 0, -1) == ["b"]


def test_blmove_woken(redge, r, pool):
    blocker = redge.client()
    fut = pool.submit(blocker.blmove, "src", "dst", 10, "LEFT", "RIGHT")
    wait_blocked(r, 1)
    r.rpush("dst", "existing")
    assert r.rpush("src", "x", "y") == 2
    assert fut.result(timeout=10) == "x"
    assert r.lrange("src", 0, -1) == ["y"]
    assert r.lrange("dst", 0, -1) == ["existing", "x"]


def test_brpoplpush_woken(redge, r, pool):
    blocker = redge.client()
    fut = pool.submit(blocker.brpoplpush, "src", "dst", 10)
    wait_blocked(r, 1)
    assert r.lpush("src", "job") == 1
    assert fut.result(timeout=10) == "job"
    assert r.exists("src") == 0
    assert r.lrange("dst", 0, -1) == ["job"]


def test_blmpop_woken(redge, r, pool):
    blocker = redge.client()
    fut = pool.submit(blocker.blmpop, 10, 2, "a", "b", direction="LEFT", count=2)
    wait_blocked(r, 1)
    assert r.rpush("b", "x", "y", "z") == 3
    assert fut.result(timeout=10) == ["b", ["x", "y"]]
    assert r.lrange("b", 0, -1) == ["z"]
    # Served at once when data exists; RIGHT direction.
    assert blocker.blmpop(1, 2, "a", "b", direction="RIGHT") == ["b", ["z"]]


@pytest.mark.parametrize("call", ["blpop", "brpop", "blmove", "brpoplpush", "blmpop"])
def test_fractional_timeout_returns_none_promptly(r, call):
    t0 = time.monotonic()
    if call == "blpop":
        res = r.blpop(["nokey"], 0.1)
    elif call == "brpop":
        res = r.brpop(["nokey"], 0.1)
    elif call == "blmove":
        res = r.blmove("nokey", "dst", 0.1, "LEFT", "RIGHT")
    elif call == "brpoplpush":
        res = r.brpoplpush("nokey", "dst", 0.1)
    else:
        res = r.blmpop(0.1, 1, "nokey", direction="LEFT")
    elapsed = time.monotonic() - t0
    assert res is None
    assert 0.09 <= elapsed < 1.5, f"{call} with timeout 0.1 returned after {elapsed:.3f}s"
    assert r.exists("dst") == 0
    assert blocked_clients(r) == 0


def test_timeout_zero_blocks_until_push(redge, r, pool):
    blocker = redge.client()
    fut = pool.submit(blocker.blpop, ["k"], 0)
    wait_blocked(r, 1)
    assert not fut.done()
    r.lpush("k", "wake")
    assert fut.result(timeout=10) == ("k", "wake")


def test_fifo_order_of_blocked_clients(redge, r, pool):
    clients = [redge.client() for _ in range(3)]
    futures = []
    for i, c in enumerate(clients):
        futures.append(pool.submit(c.blpop, ["q"], 20))
        wait_blocked(r, i + 1)  # each one blocked before the next starts
    assert r.lpush("q", "a", "b", "c") == 3  # the list is c b a
    results = [f.result(timeout=10) for f in futures]
    assert results == [("q", "c"), ("q", "b"), ("q", "a")]
    assert r.exists("q") == 0
    wait_blocked(r, 0)


def test_fifo_one_element_per_push(redge, r, pool):
    clients = [redge.client() for _ in range(3)]
    futures = []
    for i, c in enumerate(clients):
        futures.append(pool.submit(c.brpop, ["q"], 20))
        wait_blocked(r, i + 1)
    for n, value in enumerate(["first", "second", "third"]):
        r.lpush("q", value)
        assert futures[n].result(timeout=10) == ("q", value)
        wait_blocked(r, 2 - n)
        assert not any(f.done() for f in futures[n + 1:])


def test_client_unblock(redge, r, pool):
    blocker = redge.client(single_connection_client=True)
    blocker_id = blocker.client_id()
    fut = pool.submit(blocker.blpop, ["k"], 0)
    wait_blocked(r, 1)
    assert r.client_unblock(blocker_id) is True
    assert fut.result(timeout=10) is None
    wait_blocked(r, 0)
    # With ERROR the blocked call fails with Redis's UNBLOCKED error.
    fut = pool.submit(blocker.brpop, ["k"], 0)
    wait_blocked(r, 1)
    assert r.client_unblock(blocker_id, error=True) is True
    with pytest.raises(redis.ResponseError) as e:
        fut.result(timeout=10)
    assert str(e.value) == "UNBLOCKED client unblocked via CLIENT UNBLOCK"
    # A client that is not blocked, or no such client: 0.
    assert r.client_unblock(blocker_id) is False
    assert r.client_unblock(999_999) is False
    # The unblocked connection still works and no element was lost.
    r.rpush("k", "v")
    assert blocker.lpop("k") == "v"


def test_disconnected_blocked_client_does_not_consume(redge, r):
    c = redge.raw()
    c.send_command("BLPOP", "k", "0")
    wait_blocked(r, 1)
    c.close()
    wait_blocked(r, 0)
    assert r.rpush("k", "v") == 1
    assert r.lrange("k", 0, -1) == ["v"]


def test_blocking_pop_inside_multi_does_not_block(redge):
    c = redge.raw()
    assert c.call("MULTI") == "OK"
    assert c.call("BLPOP", "empty", "0") == "QUEUED"
    assert c.call("BRPOPLPUSH", "empty", "dst", "0") == "QUEUED"
    assert c.call("EXEC", timeout=5) == [None, None]


def test_push_inside_transaction_serves_blocked_client_after_exec(redge, r, pool):
    blocker = redge.client()
    fut = pool.submit(blocker.blpop, ["q"], 20)
    wait_blocked(r, 1)
    # The list is empty again when the transaction ends: the waiter stays blocked.
    pipe = r.pipeline(transaction=True)
    pipe.rpush("q", "transient").lpop("q")
    assert pipe.execute() == [1, "transient"]
    assert blocked_clients(r) == 1
    assert not fut.done()
    r.rpush("q", "real")
    assert fut.result(timeout=10) == ("q", "real")


def test_blocking_timeout_errors_exact_text(redge):
    c = redge.raw()
    assert c.call("BLPOP", "k", "-1") == Error("ERR timeout is negative")
    assert c.call("BRPOP", "k", "abc") == Error("ERR timeout is not a float or out of range")
    assert c.call("BLMOVE", "a", "b", "LEFT", "RIGHT", "-0.5") == Error(
        "ERR timeout is negative")
    assert c.call("BLMPOP", "0.1", "0", "a", "LEFT") == Error(
        "ERR numkeys should be greater than 0")
    assert c.call("BLPOP", "k") == Error("ERR wrong number of arguments for 'blpop' command")


def test_pipelined_command_after_blocking_pop_waits_its_turn(redge, r):
    c = redge.raw()
    c.send(RawConn.encode("BLPOP", "k", "0") + RawConn.encode("PING"))
    wait_blocked(r, 1)
    c.assert_no_reply(0.1)
    r.rpush("k", "v")
    assert c.read_reply() == [b"k", b"v"]
    assert c.read_reply() == "PONG"


def test_blocked_client_stays_blocked_on_wrong_type_until_list_appears(redge, r, pool):
    blocker = redge.client()
    fut = pool.submit(blocker.blpop, ["k"], 20)
    wait_blocked(r, 1)
    r.set("k", "a string")
    assert blocked_clients(r) == 1
    assert not fut.done()
    r.delete("k")
    r.rpush("k", "v")
    assert fut.result(timeout=10) == ("k", "v")


def test_lmove_into_a_watched_list_wakes_the_blocked_client(redge, r, pool):
    blocker = redge.client()
    fut = pool.submit(blocker.blpop, ["dst"], 20)
    wait_blocked(r, 1)
    r.rpush("src", "moved")
    assert r.lmove("src", "dst", "LEFT", "RIGHT") == "moved"
    assert fut.result(timeout=10) == ("dst", "moved")
    assert r.exists("src", "dst") == 0


def test_chained_blmove_then_blpop(redge, r, pool):
    mover = redge.client()
    popper = redge.client()
    f_move = pool.submit(mover.blmove, "stage1", "stage2", 20, "LEFT", "RIGHT")
    wait_blocked(r, 1)
    f_pop = pool.submit(popper.blpop, ["stage2"], 20)
    wait_blocked(r, 2)
    r.rpush("stage1", "item")
    assert f_move.result(timeout=10) == "item"
    assert f_pop.result(timeout=10) == ("stage2", "item")
    assert r.exists("stage1", "stage2") == 0
    wait_blocked(r, 0)


def test_commands_of_different_connections_run_in_arrival_order(redge):
    """Redis runs the commands of all connections in the order they arrive, and clients
    rely on it without knowing: Redis's own list tests send BRPOPLPUSH on one connection,
    BRPOPLPUSH on a second and LPUSH on a third, and expect the first to be the first
    served (here it fails with WRONGTYPE, and the element goes to the second). With its
    default single RESP loop redge keeps that order; with two loops the second connection
    was served first in about one attempt in eight on this 2-core machine, and the first
    then waited for ever."""
    r, rd1, rd2 = redge.raw(), redge.raw(), redge.raw()
    for c in (r, rd1, rd2):
        assert c.call("SELECT", "9") == "OK"
    for attempt in range(300):
        assert r.call("DEL", "blist{t}", "target1{t}", "target2{t}") in (0, 1, 2, 3)
        assert r.call("SET", "target1{t}", "nolist") == "OK"
        rd1.send_command("BRPOPLPUSH", "blist{t}", "target1{t}", "0")
        rd2.send_command("BRPOPLPUSH", "blist{t}", "target2{t}", "0")
        assert r.call("LPUSH", "blist{t}", "foo") in (0, 1)
        first = rd1.read_reply(timeout=10)
        assert isinstance(first, Error) and str(first).startswith("WRONGTYPE"), (attempt, first)
        assert rd2.read_reply(timeout=10) == b"foo", attempt
        assert r.call("LRANGE", "target2{t}", "0", "-1") == [b"foo"]
