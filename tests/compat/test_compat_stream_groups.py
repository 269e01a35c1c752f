"""Redis 7.0 stream consumer groups through redis-py against a real redge: XGROUP (every
subcommand), XREADGROUP (">", history, NOACK, COUNT, BLOCK), XACK, XPENDING, XCLAIM (every
option), XAUTOCLAIM, XINFO GROUPS/CONSUMERS/STREAM FULL; blocked group readers woken in
FIFO order and answered when their group or key disappears; groups and pending entries
across a restart; and a crashed worker's entries taken over with XAUTOCLAIM."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from compat_support import RawConn, wait_blocked, wait_until


@pytest.fixture
def pool(redge):
    ex = ThreadPoolExecutor(max_workers=4)
    yield ex
    ex.shutdown(wait=False, cancel_futures=True)


def err(r, *args):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command(*args)
    return str(e.value)


def test_xgroup_subcommands(r):
    r.xadd("s", {"foo": "bar"}, id="1-0")
    assert r.xgroup_create("s", "g", "$") is True
    assert err(r, "XGROUP", "CREATE", "s", "g", "$") == "BUSYGROUP Consumer Group name already exists"
    assert err(r, "XGROUP", "CREATE", "nokey", "g", "$") == (
        "The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to "
        "use the MKSTREAM option to create an empty stream automatically.")
    assert r.xgroup_create("made", "g", "$", mkstream=True) is True
    assert r.type("made") == "stream"
    assert r.execute_command("XGROUP", "CREATE", "s", "g2", "0", "ENTRIESREAD", "1") == "OK"
    assert err(r, "XGROUP", "CREATE", "s", "g3", "0", "ENTRIESREAD", "-2") == (
        "value for ENTRIESREAD must be positive or -1")
    assert err(r, "XGROUP", "CREATE", "s", "g3", "0", "FOO") == (
        "unknown subcommand or wrong number of arguments for 'CREATE'. Try XGROUP HELP.")
    assert err(r, "XGROUP", "CREATE", "s", "g3", "+") == (
        "Invalid stream ID specified as stream command argument")
    assert err(r, "XGROUP", "FOO") == "unknown subcommand 'FOO'. Try XGROUP HELP."
    assert err(r, "XGROUP", "CREATE", "s") == (
        "wrong number of arguments for 'xgroup|create' command")
    assert err(r, "XGROUP", "HELP", "x") == "wrong number of arguments for 'xgroup|help' command"
    assert r.execute_command("XGROUP", "HELP")[0] == (
        "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
    assert err(r, "XGROUP", "SETID", "s", "nog", "0") == (
        "NOGROUP No such consumer group 'nog' for key name 's'")
    assert r.xgroup_setid("s", "g", "-") is True
    groups = {g["name"]: g for g in r.xinfo_groups("s")}
    assert groups["g"]["last-delivered-id"] == "0-0"
    assert groups["g2"]["entries-read"] == 1 and groups["g2"]["lag"] == 0
    assert r.xgroup_createconsumer("s", "g", "c1") == 1
    assert r.xgroup_createconsumer("s", "g", "c1") == 0
    assert err(r, "XGROUP", "CREATECONSUMER", "s", "nog", "c") == (
        "NOGROUP No such consumer group 'nog' for key name 's'")
    assert r.xgroup_delconsumer("s", "g", "c1") == 0
    assert r.xgroup_delconsumer("s", "g", "c1") == 0
    assert r.xgroup_destroy("s", "g") == 1
    assert r.xgroup_destroy("s", "g") == 0
    assert [g["name"] for g in r.xinfo_groups("s")] == ["g2"]


def test_xreadgroup_new_history_noack_and_pending(r):
    r.xgroup_create("ms", "g", "$", mkstream=True)
    r.xadd("ms", {"a": 1}, id="1-0")
    r.xadd("ms", {"b": 2}, id="2-0")
    assert r.xreadgroup("g", "c1", {"ms": ">"}) == [
        ["ms", [("1-0", {"a": "1"}), ("2-0", {"b": "2"})]]]
    r.xadd("ms", {"c": 3}, id="3-0")
    r.xadd("ms", {"d": 4}, id="4-0")
    assert r.xreadgroup("g", "c2", {"ms": ">"}, count=1) == [["ms", [("3-0", {"c": "3"})]]]
    # History: each consumer sees only its own pending entries.
    assert [e[0] for e in r.xreadgroup("g", "c1", {"ms": "0"})[0][1]] == ["1-0", "2-0"]
    assert [e[0] for e in r.xreadgroup("g", "c2", {"ms": "0"})[0][1]] == ["3-0"]
    assert r.xreadgroup("g", "c3", {"ms": "0"}) == [["ms", []]]
    assert r.xreadgroup("g", "c3", {"ms": ">"}, noack=True) == [["ms", [("4-0", {"d": "4"})]]]
    assert r.xreadgroup("g", "c3", {"ms": ">"}) == []
    summary = r.xpending("ms", "g")
    assert summary == {"pending": 3, "min": "1-0", "max": "3-0",
                       "consumers": [{"name": "c1", "pending": 2}, {"name": "c2", "pending": 1}]}
    ext = r.xpending_range("ms", "g", "-", "+", 10)
    assert [(p["message_id"], p["consumer"], p["times_delivered"]) for p in ext] == [
        ("1-0", "c1", 2), ("2-0", "c1", 2), ("3-0", "c2", 2)]
    assert len(r.xpending_range("ms", "g", "-", "+", 10, consumername="c1")) == 2
    assert r.xpending_range("ms", "g", "-", "+", 10, consumername="nobody") == []
    assert len(r.xpending_range("ms", "g", "(1-0", "(3-0", 10)) == 1
    time.sleep(0.02)
    assert r.xpending_range("ms", "g", "-", "+", 10, idle=99999999) == []
    assert len(r.xpending_range("ms", "g", "-", "+", 10, idle=1)) == 3
    assert r.xack("ms", "g", "1-0", "9-0") == 1
    assert r.xack("ms", "g", "1-0") == 0
    assert r.xack("ms", "nog", "1-0") == 0
    assert err(r, "XACK", "ms", "g", "2-0", "bad") == (
        "Invalid stream ID specified as stream command argument")
    assert r.xpending("ms", "g")["pending"] == 2
    r.xdel("ms", "2-0")
    raw = RawConn(r.connection_pool.connection_kwargs["host"],
                  r.connection_pool.connection_kwargs["port"])
    # A pending entry deleted from the stream: its id with a nil array.
    assert raw.call("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "ms", "0") == [
        [b"ms", [[b"2-0", None]]]]
    raw.close()
    assert err(r, "XPENDING", "nokey", "g") == "NOGROUP No such key 'nokey' or consumer group 'g'"
    assert err(r, "XPENDING", "ms", "g", "-", "+") == "syntax error"
    assert err(r, "XREADGROUP", "GROUP", "nog", "c", "STREAMS", "ms", ">") == (
        "NOGROUP No such key 'ms' or consumer group 'nog' in XREADGROUP with GROUP option")
    assert err(r, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "ms", "$") == (
        "The $ ID is meaningless in the context of XREADGROUP: you want to read the history of "
        "this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID "
        "would just return an empty result set.")
    assert err(r, "XREADGROUP", "COUNT", "1", "NOACK", "STREAMS", "ms", ">") == (
        "Missing GROUP option for XREADGROUP")
    info = r.xinfo_consumers("ms", "g")
    assert [(c["name"], c["pending"]) for c in info] == [("c1", 1), ("c2", 1), ("c3", 0)]
    assert all(c["idle"] >= 0 for c in info)


def test_xclaim_options(r):
    for i in (1, 2, 3):
        r.xadd("x", {"n": i}, id=f"{i}-0")
    r.xgroup_create("x", "grp", "0")
    r.xreadgroup("grp", "alice", {"x": ">"})
    time.sleep(0.05)
    assert r.xclaim("x", "grp", "bob", 100000, ["1-0"]) == []  # not idle long enough
    assert r.xclaim("x", "grp", "bob", 10, ["1-0"]) == [("1-0", {"n": "1"})]
    assert r.xclaim("x", "grp", "carl", 0, ["1-0"], justid=True) == ["1-0"]
    pend = {p["message_id"]: p for p in r.xpending_range("x", "grp", "-", "+", 10)}
    assert pend["1-0"]["consumer"] == "carl" and pend["1-0"]["times_delivered"] == 2
    r.xclaim("x", "grp", "carl", 0, ["2-0"], retrycount=7, idle=5000, justid=True)
    p2 = r.xpending_range("x", "grp", "2-0", "2-0", 1)[0]
    assert p2["times_delivered"] == 7 and p2["time_since_delivered"] >= 5000
    now_ms = int(time.time() * 1000)
    r.xclaim("x", "grp", "carl", 0, ["3-0"], time=now_ms - 60000, justid=True)
    assert r.xpending_range("x", "grp", "3-0", "3-0", 1)[0]["time_since_delivered"] >= 59000
    r.xadd("x", {"n": 4}, id="4-0")
    assert r.xclaim("x", "grp", "dan", 0, ["4-0"]) == []  # not pending
    assert r.xclaim("x", "grp", "dan", 0, ["4-0"], force=True) == [("4-0", {"n": "4"})]
    r.execute_command("XCLAIM", "x", "grp", "dan", "0", "4-0", "LASTID", "9-0", "JUSTID")
    assert r.xinfo_groups("x")[0]["last-delivered-id"] == "9-0"
    r.xdel("x", "2-0")
    assert r.xclaim("x", "grp", "dan", 0, ["2-0"]) == []  # deleted: dropped from the PEL
    assert r.xpending("x", "grp")["pending"] == 3
    assert err(r, "XCLAIM", "x", "nog", "c", "0", "1-0") == (
        "NOGROUP No such key 'x' or consumer group 'nog'")
    assert err(r, "XCLAIM", "x", "grp", "c", "x", "1-0") == "Invalid min-idle-time argument for XCLAIM"
    assert err(r, "XCLAIM", "x", "grp", "c", "0", "1-0", "FOO") == "Unrecognized XCLAIM option 'FOO'"
    assert err(r, "XCLAIM", "x", "grp", "c", "0", "1-0", "IDLE", "x") == (
        "Invalid IDLE option argument for XCLAIM")
    assert err(r, "XCLAIM", "x", "grp", "c", "0", "1-0", "RETRYCOUNT", "x") == (
        "Invalid RETRYCOUNT option argument for XCLAIM")


def test_xautoclaim(r):
    for i in (1, 2, 3):
        r.xadd("x", {"f": "v"}, id=f"{i}-0")
    r.xgroup_create("x", "grp", "0")
    r.xreadgroup("grp", "alice", {"x": ">"})
    r.xdel("x", "2-0")
    assert r.execute_command("XAUTOCLAIM", "x", "grp", "bob", "0", "0-0") == [
        "0-0", [("1-0", {"f": "v"}), ("3-0", {"f": "v"})], ["2-0"]]
    assert r.xpending_range("x", "grp", "-", "+", 10, consumername="alice") == []
    raw = RawConn(r.connection_pool.connection_kwargs["host"],
                  r.connection_pool.connection_kwargs["port"])
    assert raw.call("XAUTOCLAIM", "x", "grp", "carl", "0", "-", "COUNT", "1", "JUSTID") == [
        b"3-0", [b"1-0"], []]
    raw.close()
    assert err(r, "XAUTOCLAIM", "x", "grp", "c", "0", "0", "COUNT", "0") == "COUNT must be > 0"
    assert err(r, "XAUTOCLAIM", "x", "grp", "c", "0", "0", "COUNT", "8070450532247928833") == (
        "COUNT must be > 0")
    assert err(r, "XAUTOCLAIM", "x", "nog", "c", "0", "0") == (
        "NOGROUP No such key 'x' or consumer group 'nog'")
    assert err(r, "XAUTOCLAIM", "x", "grp", "c", "x", "0") == (
        "Invalid min-idle-time argument for XAUTOCLAIM")


def test_xinfo_stream_full_and_lag(r):
    for i, f in zip(range(100, 105), "abcef"):
        r.xadd("x", {f: 1}, id=f"{i}-0")
    r.xgroup_create("x", "g1", "0")
    r.xgroup_create("x", "g2", "0")
    r.xreadgroup("g1", "Alice", {"x": ">"}, count=1)
    r.xreadgroup("g1", "Bob", {"x": ">"}, count=1)
    r.xreadgroup("g1", "Bob", {"x": ">"}, count=1, noack=True)
    r.xreadgroup("g2", "Charlie", {"x": ">"}, count=4)
    r.xdel("x", "103-0")
    full = r.xinfo_stream("x", full=True)
    assert full["length"] == 4
    assert list(full["entries"]) == ["100-0", "101-0", "102-0", "104-0"]
    g1, g2 = full["groups"]
    assert g1["name"] == "g1" and g1["pel-count"] == 2 and g1["entries-read"] == 3
    assert g1["lag"] is None  # a deleted entry after the group's position: unknown
    # redis-py leaves each consumer as a flat [name, value, ...] list.
    consumers = [dict(zip(c[::2], c[1::2])) for c in g1["consumers"]]
    assert [c["name"] for c in consumers] == ["Alice", "Bob"]
    charlie = dict(zip(g2["consumers"][0][::2], g2["consumers"][0][1::2]))
    assert [p[0] for p in charlie["pending"]] == ["100-0", "101-0", "102-0", "103-0"]
    assert len(r.xinfo_stream("x", full=True)["entries"]) == 4
    plain = r.xinfo_stream("x")
    assert plain["groups"] == 2 and plain["first-entry"][0] == "100-0"
    assert plain["last-entry"][0] == "104-0" and plain["max-deleted-entry-id"] == "103-0"
    assert err(r, "XINFO", "STREAM", "nokey") == "no such key"
    assert err(r, "XINFO", "CONSUMERS", "x", "nog") == (
        "NOGROUP No such consumer group 'nog' for key name 'x'")
    assert err(r, "XINFO", "STREAM", "x", "FOO") == (
        "unknown subcommand or wrong number of arguments for 'STREAM'. Try XINFO HELP.")


def test_blocked_group_readers_are_served_fifo(redge, r, pool):
    r.xgroup_create("q", "g", "$", mkstream=True)
    first, second = redge.client(), redge.client()
    f1 = pool.submit(first.xreadgroup, "g", "c1", {"q": ">"}, None, 20000)
    wait_blocked(r, 1)
    f2 = pool.submit(second.xreadgroup, "g", "c2", {"q": ">"}, None, 20000)
    wait_blocked(r, 2)
    r.xadd("q", {"job": 1}, id="1-0")
    assert f1.result(timeout=10) == [["q", [("1-0", {"job": "1"})]]]
    wait_blocked(r, 1)
    assert not f2.done(), "the second reader got the entry the first one was given"
    r.xadd("q", {"job": 2}, id="2-0")
    assert f2.result(timeout=10) == [["q", [("2-0", {"job": "2"})]]]
    assert r.xpending("q", "g")["consumers"] == [
        {"name": "c1", "pending": 1}, {"name": "c2", "pending": 1}]


@pytest.mark.parametrize("action,expected", [
    (lambda r: r.xgroup_destroy("q", "g"),
     "NOGROUP the consumer group this client was blocked on no longer exists"),
    (lambda r: r.delete("q"), "UNBLOCKED the stream key no longer exists"),
    (lambda r: r.set("q", "x"), "UNBLOCKED the stream key no longer exists"),
    (lambda r: r.flushall(), "UNBLOCKED the stream key no longer exists"),
])
def test_blocked_group_reader_answered_when_group_or_key_goes(redge, r, action, expected):
    r.xgroup_create("q", "g", "$", mkstream=True)
    raw = redge.raw()
    raw.send_command("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "q", ">")
    wait_blocked(r, 1)
    action(r)
    assert raw.read_reply() == expected


def test_groups_and_pending_entries_survive_restart(redge_factory, tmp_path):
    data_dir = tmp_path / "streams-data"
    first = redge_factory(data_dir=data_dir)
    r = first.client()
    for i in range(1, 6):
        r.xadd("jobs", {"n": i}, id=f"{i}-0")
    r.xgroup_create("jobs", "workers", "0")
    r.xreadgroup("workers", "w1", {"jobs": ">"}, count=3)
    r.xack("jobs", "workers", "2-0")
    r.xgroup_createconsumer("jobs", "workers", "w2")
    before = (r.xinfo_groups("jobs"), r.xpending("jobs", "workers"),
              r.xinfo_stream("jobs")["entries-added"])
    first.stop()
    second = redge_factory(data_dir=data_dir)
    r2 = second.client()
    groups, pending, added = before
    assert r2.xinfo_groups("jobs") == groups
    assert r2.xpending("jobs", "workers") == pending
    assert r2.xinfo_stream("jobs")["entries-added"] == added
    assert [c["name"] for c in r2.xinfo_consumers("jobs", "workers")] == ["w1", "w2"]
    assert r2.xreadgroup("workers", "w2", {"jobs": ">"}) == [
        ["jobs", [("4-0", {"n": "4"}), ("5-0", {"n": "5"})]]]


def test_xautoclaim_takes_over_a_dead_consumers_entries(redge, r):
    r.xgroup_create("tasks", "workers", "$", mkstream=True)
    for i in range(1, 4):
        r.xadd("tasks", {"task": i}, id=f"{i}-0")
    # A worker reads its tasks and dies without acknowledging them.
    dead = RawConn(redge.host, redge.port)
    got = dead.call("XREADGROUP", "GROUP", "workers", "dead", "STREAMS", "tasks", ">")
    assert [e[0] for e in got[0][1]] == [b"1-0", b"2-0", b"3-0"]
    dead.close()
    r.xdel("tasks", "2-0")  # one task was cancelled meanwhile
    wait_until(lambda: r.xpending_range("tasks", "workers", "-", "+", 10, idle=200),
               timeout=10, what="the dead worker's entries to be idle 200 ms")
    claimed = r.execute_command("XAUTOCLAIM", "tasks", "workers", "alive", "200", "0-0")
    assert claimed == ["0-0", [("1-0", {"task": "1"}), ("3-0", {"task": "3"})], ["2-0"]]
    pending = r.xpending_range("tasks", "workers", "-", "+", 10)
    assert [(p["message_id"], p["consumer"], p["times_delivered"]) for p in pending] == [
        ("1-0", "alive", 2), ("3-0", "alive", 2)]
    assert r.xack("tasks", "workers", "1-0", "3-0") == 2
    assert r.xpending("tasks", "workers")["pending"] == 0


def test_consumer_group_keyspace_events_and_watch_like_redis(r):
    # Redis 7.0 announces every consumer-group change (pubsub.tcl's "stream events test")
    # but none of them, nor XSETID, invalidates a WATCH of the stream (no
    # signalModifiedKey).
    r.config_set("notify-keyspace-events", "Kt")
    p = r.pubsub()
    p.psubscribe("__keyspace@0__:*")
    assert p.get_message(timeout=5)["type"] == "psubscribe"
    r.xgroup_create("mystream", "mygroup", "$", mkstream=True)
    r.xgroup_createconsumer("mystream", "mygroup", "Bob")
    entry = r.xadd("mystream", {"field1": "A"}, id="1")
    r.xreadgroup("mygroup", "Alice", {"mystream": ">"})  # creates Alice
    r.xclaim("mystream", "mygroup", "Mike", 0, [entry], force=True)  # creates Mike
    r.xgroup_delconsumer("mystream", "mygroup", "Lee")  # no such consumer: no event
    r.xautoclaim("mystream", "mygroup", "Bob", 0, entry)  # Bob exists: no event
    r.xgroup_delconsumer("mystream", "mygroup", "Bob")
    r.xgroup_setid("mystream", "mygroup", "0")
    r.xgroup_create("mystream", "g2", "$")
    r.xgroup_destroy("mystream", "g2")
    r.xadd("end", {"f": "v"})  # a marker: every event above was published before it
    events = []
    while True:
        m = p.get_message(timeout=5)
        assert m is not None, f"missing events after {events}"
        if m["channel"] == "__keyspace@0__:end":
            break
        events.append(m["data"])
    assert events == ["xgroup-create", "xgroup-createconsumer", "xadd", "xgroup-createconsumer",
                      "xgroup-createconsumer", "xgroup-delconsumer", "xgroup-setid",
                      "xgroup-create", "xgroup-destroy"]
    p.close()
    for change in [lambda: r.xgroup_createconsumer("mystream", "mygroup", "Zed"),
                   lambda: r.xgroup_setid("mystream", "mygroup", "$"),
                   lambda: r.xgroup_delconsumer("mystream", "mygroup", "Zed"),
                   lambda: r.xgroup_create("mystream", "g3", "$"),
                   lambda: r.xgroup_destroy("mystream", "g3"),
                   lambda: r.xreadgroup("mygroup", "Newbie", {"mystream": ">"}),
                   lambda: r.execute_command("XSETID", "mystream", "5-0")]:
        with r.pipeline() as w:
            w.watch("mystream")
            change()
            w.multi()
            w.set("x", "1")
            assert w.execute() == [True]
