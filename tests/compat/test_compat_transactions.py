"""Transactions: pipelines with transaction=True (MULTI/EXEC), WATCH conflicts (another
client, the client itself, expiry), UNWATCH, EXECABORT, DISCARD."""

import pytest
import redis

from compat_support import Error, wait_until


def test_pipeline_transaction_results(r):
    pipe = r.pipeline(transaction=True)
    pipe.set("a", 1).incr("a").incrby("a", 10).get("a").rpush("l", "x", "y").lrange("l", 0, -1)
    assert pipe.execute() == [True, 2, 12, "12", 2, ["x", "y"]]
    assert r.get("a") == "12"


def test_pipeline_without_transaction_many_commands(r):
    pipe = r.pipeline(transaction=False)
    for i in range(1000):
        pipe.set(f"k{i}", i)
    for i in range(1000):
        pipe.get(f"k{i}")
    res = pipe.execute()
    assert res[:1000] == [True] * 1000
    assert res[1000:] == [str(i) for i in range(1000)]


def test_runtime_error_inside_exec_does_not_abort_the_others(r):
    r.set("s", "abc")
    pipe = r.pipeline(transaction=True)
    pipe.set("a", "1").incr("s").incr("a")
    res = pipe.execute(raise_on_error=False)
    assert res[0] is True
    assert isinstance(res[1], redis.ResponseError)
    assert str(res[1]) == "value is not an integer or out of range"
    assert res[2] == 2
    assert r.get("a") == "2"


def test_watch_conflict_from_another_client_aborts(redge, r):
    other = redge.client()
    r.set("balance", "100")
    with r.pipeline() as pipe:
        pipe.watch("balance")
        current = int(pipe.get("balance"))
        other.set("balance", "0")  # concurrent write between WATCH and EXEC
        pipe.multi()
        pipe.set("balance", current - 10)
        pipe.set("side", "effect")
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert r.get("balance") == "0"
    assert r.exists("side") == 0


def test_watch_conflict_by_other_client_deleting_or_pushing(redge, r):
    other = redge.client()
    r.set("a", "1")
    with r.pipeline() as pipe:
        pipe.watch("a", "l")
        other.rpush("l", "x")  # a key that did not exist when watched
        pipe.multi()
        pipe.set("done", "1")
        with pytest.raises(redis.WatchError):
            pipe.execute()
    with r.pipeline() as pipe:
        pipe.watch("a")
        other.delete("a")
        pipe.multi()
        pipe.set("done", "1")
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert r.exists("done") == 0


def test_watch_without_conflict_commits(redge, r):
    other = redge.client()
    r.set("counter", "5")
    with r.pipeline() as pipe:
        pipe.watch("counter")
        value = int(pipe.get("counter"))
        other.set("unrelated", "x")  # a different key does not conflict
        other.get("counter")  # reads do not conflict
        pipe.multi()
        pipe.set("counter", value + 1)
        assert pipe.execute() == [True]
    assert r.get("counter") == "6"


def test_watch_sees_own_write_before_multi(r):
    r.set("k", "1")
    with r.pipeline() as pipe:
        pipe.watch("k")
        pipe.set("k", "2")  # immediate mode: the watching connection itself writes
        pipe.multi()
        pipe.set("k", "3")
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert r.get("k") == "2"


def test_watch_of_key_that_expires_aborts(redge, r):
    other = redge.client()
    r.set("lease", "held", px=300)
    with r.pipeline() as pipe:
        pipe.watch("lease")
        assert pipe.get("lease") == "held"
        wait_until(lambda: other.exists("lease") == 0, timeout=5, what="'lease' to expire")
        pipe.multi()
        pipe.set("lease", "mine")
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert r.exists("lease") == 0


def test_unwatch_forgets_watched_keys(redge, r):
    other = redge.client()
    r.set("k", "1")
    with r.pipeline() as pipe:
        pipe.watch("k")
        pipe.unwatch()
        other.set("k", "2")
        pipe.multi()
        pipe.set("k", "3")
        assert pipe.execute() == [True]
    assert r.get("k") == "3"


def test_execabort_after_queued_unknown_command(redge):
    c = redge.raw()
    assert c.call("MULTI") == "OK"
    assert c.call("SET", "a", "1") == "QUEUED"
    assert c.call("NOSUCHCMD", "x") == Error(
        "ERR unknown command 'NOSUCHCMD', with args beginning with: 'x' ")
    assert c.call("SET", "b", "2") == "QUEUED"
    assert c.call("EXEC") == Error("EXECABORT Transaction discarded because of previous errors.")
    assert c.call("EXISTS", "a", "b") == 0
    # Not in MULTI any more.
    assert c.call("EXEC") == Error("ERR EXEC without MULTI")


def test_execabort_after_arity_error(redge, r):
    c = redge.raw()
    assert c.call("MULTI") == "OK"
    assert c.call("SET", "a", "1") == "QUEUED"
    assert c.call("GET") == Error("ERR wrong number of arguments for 'get' command")
    assert c.call("EXEC") == Error("EXECABORT Transaction discarded because of previous errors.")
    assert r.exists("a") == 0
    # redis-py surfaces the queued command's error from a transactional pipeline.
    pipe = r.pipeline(transaction=True)
    pipe.set("b", "1")
    pipe.execute_command("NOSUCHCMD")
    with pytest.raises(redis.ResponseError):
        pipe.execute()
    assert r.exists("b") == 0


def test_discard_and_multi_state_errors(redge, r):
    raw = redge.raw()
    assert raw.call("MULTI") == "OK"
    assert raw.call("SET", "k", "v") == "QUEUED"
    assert raw.call("INCR", "n") == "QUEUED"
    assert raw.call("DISCARD") == "OK"
    assert r.exists("k", "n") == 0
    assert raw.call("DISCARD") == Error("ERR DISCARD without MULTI")
    assert raw.call("EXEC") == Error("ERR EXEC without MULTI")
    assert raw.call("MULTI") == "OK"
    assert raw.call("MULTI") == Error("ERR MULTI calls can not be nested")
    assert raw.call("WATCH", "x") == Error("ERR WATCH inside MULTI is not allowed")
    assert raw.call("PING") == "QUEUED"
    assert raw.call("EXEC") == ["PONG"]
    # DISCARD also drops WATCHes.
    assert raw.call("WATCH", "w") == "OK"
    assert raw.call("MULTI") == "OK"
    assert raw.call("DISCARD") == "OK"
    r.set("w", "changed")
    assert raw.call("MULTI") == "OK"
    assert raw.call("SET", "w", "mine") == "QUEUED"
    assert raw.call("EXEC") == ["OK"]
    assert r.get("w") == "mine"


def test_exec_with_watch_conflict_returns_null_array(redge, r):
    c = redge.raw()
    assert c.call("SET", "k", "1") == "OK"
    assert c.call("WATCH", "k") == "OK"
    r.set("k", "2")
    assert c.call("MULTI") == "OK"
    assert c.call("SET", "k", "3") == "QUEUED"
    c.send_command("EXEC")
    assert c.read_bytes(5) == b"*-1\r\n"
    assert r.get("k") == "2"


def test_watch_is_per_database(redge, r):
    other_db = redge.client(db=1)
    r.set("k", "1")
    with r.pipeline() as pipe:
        pipe.watch("k")
        other_db.set("k", "changed in db1")  # same name, other database: no conflict
        pipe.multi()
        pipe.set("k", "2")
        assert pipe.execute() == [True]
    assert r.get("k") == "2"


def test_watch_then_flushall_aborts(redge, r):
    other = redge.client()
    r.set("k", "1")
    with r.pipeline() as pipe:
        pipe.watch("k")
        other.flushall()
        pipe.multi()
        pipe.set("k", "2")
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert r.exists("k") == 0


def test_save_and_shutdown_are_refused_inside_multi_as_redis(differ):
    # Redis's no-multi commands: refused when queued, and the transaction is aborted.
    differ.same_all([("MULTI",), ("SET", "a", "1"), ("SAVE",), ("SHUTDOWN",),
                     ("SHUTDOWN", "NOSAVE"), ("EXEC",), ("EXISTS", "a"), ("PING",)])
