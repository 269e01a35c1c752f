"""Redis 7.0 streams through redis-py (and raw RESP where the wire shape matters) against a
real redge: every command and option, error texts, blocking reads woken by another
client's XADD, consumer groups across a restart, XAUTOCLAIM after a consumer dies, and
INFO's memory fields that queue libraries read.

A reader is known to be blocked by polling INFO clients (blocked_clients), never by
sleeping; "no reply before the XADD" is checked on the blocked call itself."""

import os
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from compat_support import Error, Map, RawConn, wait_blocked


@pytest.fixture
def pool(redge):
    ex = ThreadPoolExecutor(max_workers=4)
    yield ex
    ex.shutdown(wait=False, cancel_futures=True)


def err(r, *args):
    """The error text a command gets (fails the test if it succeeds)."""
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command(*args)
    return str(e.value)


# --- XADD, XRANGE, XREVRANGE, XLEN, XDEL, XTRIM, XSETID -----------------------------------


def test_xadd_ids(r):
    auto = r.xadd("s", {"f": "v"})
    ms, seq = auto.split("-")
    assert abs(int(ms) - time.time() * 1000) < 60_000 and seq == "0"
    assert r.xadd("x", {"a": 1}, id="123-456") == "123-456"
    assert r.xadd("x", {"a": 1}, id="123-*") == "123-457"
    assert r.xadd("x", {"a": 1}, id="789-*") == "789-0"
    assert r.xadd("x", {"a": 1}, id="790") == "790-0"
    assert r.xadd("z", {"a": 1}, id="0-*") == "0-1"
    assert err(r, "XADD", "x", "5-0", "a", "1") == (
        "The ID specified in XADD is equal or smaller than the target stream top item")
    assert err(r, "XADD", "x", "790-0", "a", "1").startswith("The ID specified in XADD is equal")
    assert err(r, "XADD", "n", "0-0", "a", "1") == (
        "The ID specified in XADD must be greater than 0-0")
    assert r.exists("n") == 0
    assert err(r, "XADD", "x", "foo", "a", "1") == (
        "Invalid stream ID specified as stream command argument")
    r.xadd("o", {"a": 1}, id="1-18446744073709551615")
    assert err(r, "XADD", "o", "1-*", "c", "d") == "Elements are too large to be stored"
    r.xadd("top", {"a": 1}, id="18446744073709551615-18446744073709551615")
    assert err(r, "XADD", "top", "*", "c", "d") == (
        "The stream has exhausted the last possible ID, unable to add more items")
    assert r.xadd("nokey", {"a": 1}, nomkstream=True) is None
    assert r.exists("nokey") == 0
    for args in (["XADD", "x"], ["XADD", "x", "*"], ["XADD", "x", "*", "f"],
                 ["XADD", "x", "*", "f", "v", "g"]):
        assert err(r, *args) == "wrong number of arguments for 'xadd' command"


def test_xadd_trimming(r):
    for j in range(10):
        r.xadd("m", {"i": j}, id=f"{j + 1}-0", maxlen=5, approximate=False)
    assert r.xlen("m") == 5
    assert [e[0] for e in r.xrange("m")] == [f"{j}-0" for j in range(6, 11)]
    r.execute_command("XADD", "m", "MAXLEN", "=", "2", "11", "i", "x")
    assert r.xlen("m") == 2
    for j in range(12, 30):
        r.xadd("m", {"i": j}, id=f"{j}-0", minid=f"{j - 3}", approximate=False)
    assert [e[0] for e in r.xrange("m")] == ["26-0", "27-0", "28-0", "29-0"]
    # '~' trims whole nodes only (100 entries each by default).
    for j in range(1000):
        r.execute_command("XADD", "a", "MAXLEN", "~", "555", "*", "x", j)
    assert r.xlen("a") == 600
    for j in range(3):
        r.xadd("l", {"x": "v"})
    r.execute_command("XADD", "l", "MAXLEN", "~", "0", "LIMIT", "1", "*", "x", "v")
    assert r.xlen("l") == 4
    assert err(r, "XADD", "m", "MAXLEN", "-1", "*", "a", "b") == "The MAXLEN argument must be >= 0."
    assert err(r, "XADD", "m", "MAXLEN", "1", "MINID", "1", "*", "a", "b") == (
        "syntax error, MAXLEN and MINID options at the same time are not compatible")
    assert err(r, "XADD", "m", "LIMIT", "5", "*", "a", "b") == (
        "syntax error, LIMIT cannot be used without specifying a trimming strategy")
    assert err(r, "XADD", "m", "MAXLEN", "5", "LIMIT", "5", "*", "a", "b") == (
        "syntax error, LIMIT cannot be used without the special ~ option")
    assert err(r, "XADD", "m", "MAXLEN", "~", "5", "LIMIT", "-1", "*", "a", "b") == (
        "The LIMIT argument must be >= 0.")
    assert err(r, "XADD", "m", "MAXLEN", "x", "*", "a", "b") == (
        "value is not an integer or out of range")


def test_xrange_xrevrange(r):
    ids = ["0-1", "0-18446744073709551615", "1-0", "42-0", "42-42",
           "18446744073709551615-18446744073709551614", "18446744073709551615-18446744073709551615"]
    for i in ids:
        r.xadd("v", {"foo": "bar"}, id=i)
    assert [e[0] for e in r.xrange("v")] == ids
    assert [e[0] for e in r.xrevrange("v")] == ids[::-1]
    assert len(r.xrange("v", "(0-1", "+")) == 6
    assert len(r.xrange("v", "-", "(18446744073709551615-18446744073709551615")) == 6
    assert r.xrange("v", "(0-1", "(1-0") == [("0-18446744073709551615", {"foo": "bar"})]
    assert [e[0] for e in r.xrange("v", "42", "42")] == ["42-0", "42-42"]
    assert [e[0] for e in r.xrevrange("v", "42", "-", count=2)] == ["42-42", "42-0"]
    assert [e[0] for e in r.xrange("v", count=2)] == ids[:2]
    assert r.execute_command("XRANGE", "v", "-", "+", "COUNT", "0") is None
    assert r.xrange("nokey") == []
    assert err(r, "XRANGE", "v", "(-", "+") == "Invalid stream ID specified as stream command argument"
    assert err(r, "XRANGE", "v", "(18446744073709551615-18446744073709551615", "+") == (
        "invalid start ID for the interval")
    assert err(r, "XRANGE", "v", "-", "(0-0") == "invalid end ID for the interval"
    assert err(r, "XRANGE", "v", "-", "+", "FOO", "1") == "syntax error"


def test_xdel_xlen_xtrim(r):
    for j in range(1, 6):
        r.xadd("d", {"n": j}, id=f"{j}-0")
    assert r.xdel("d", "2-0", "9-0") == 1
    assert r.xdel("nokey", "2-0") == 0
    assert r.execute_command("XDEL", "nokey", "bad") == 0  # absent key: ids not even parsed
    assert err(r, "XDEL", "d", "bad") == "Invalid stream ID specified as stream command argument"
    assert r.xlen("d") == 4
    assert r.xtrim("d", maxlen=2, approximate=False) == 2
    assert [e[0] for e in r.xrange("d")] == ["4-0", "5-0"]
    assert r.xtrim("d", minid="5-0", approximate=False) == 1
    assert r.xtrim("nokey", maxlen=0) == 0
    assert r.xdel("d", "5-0") == 1
    assert r.xlen("d") == 0 and r.exists("d") == 1  # an empty stream stays
    assert err(r, "XTRIM", "d", "FOO", "1") == "syntax error"
    assert err(r, "XTRIM", "d") == "wrong number of arguments for 'xtrim' command"
    assert err(r, "XTRIM", "d", "LIMIT", "1", "x") == "syntax error"
    assert r.xlen("nokey") == 0
    r.set("str", "x")
    for args in (["XLEN", "str"], ["XRANGE", "str", "-", "+"], ["XADD", "str", "*", "a", "b"],
                 ["XTRIM", "str", "MAXLEN", "0"], ["XREAD", "STREAMS", "str", "0"],
                 ["XINFO", "STREAM", "str"]):
        assert err(r, *args) == "WRONGTYPE Operation against a key holding the wrong kind of value"


def test_xsetid(r):
    r.execute_command("XADD", "x", "MAXLEN", "0", "*", "a", "b")
    assert r.xinfo_stream("x")["length"] == 0
    assert r.execute_command("XSETID", "x", "200-0") == "OK"
    info = r.xinfo_stream("x")
    assert info["last-generated-id"] == "200-0" and info["entries-added"] == 1
    assert err(r, "XSETID", "nokey", "1-1") == "no such key"
    assert err(r, "XSETID", "x", "1-1", "0") == "syntax error"
    assert err(r, "XSETID", "x", "1-1", "ENTRIESADDED", "-1", "MAXDELETEDID", "0-0") == (
        "entries_added must be positive")
    r.xadd("y", {"a": "b"}, id="1-0")
    assert err(r, "XSETID", "y", "1-0", "ENTRIESADDED", "1", "MAXDELETEDID", "2-0") == (
        "The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
    assert err(r, "XSETID", "y", "1-0", "ENTRIESADDED", "0", "MAXDELETEDID", "0-0") == (
        "The entries_added specified in XSETID is smaller than the target stream length")
    assert err(r, "XSETID", "y", "0-5") == (
        "The ID specified in XSETID is smaller than the target stream top item")
    assert r.execute_command("XSETID", "y", "5-0", "ENTRIESADDED", "10", "MAXDELETEDID", "3-0")
    info = r.xinfo_stream("y", full=True)
    assert (info["last-generated-id"], info["entries-added"], info["max-deleted-entry-id"]) == (
        "5-0", 10, "3-0")


# --- XREAD -------------------------------------------------------------------------------


def test_xread_nonblocking(r):
    r.xadd("a", {"x": 1}, id="1-0")
    r.xadd("a", {"x": 2}, id="2-0")
    r.xadd("b", {"y": 1}, id="5-0")
    assert r.xread({"a": "0", "b": "4"}) == [
        ["a", [("1-0", {"x": "1"}), ("2-0", {"x": "2"})]], ["b", [("5-0", {"y": "1"})]]]
    assert r.xread({"a": "0"}, count=1) == [["a", [("1-0", {"x": "1"})]]]
    assert r.xread({"a": "$", "nokey": "0"}) == []
    assert RawConn(r.connection_pool.connection_kwargs["host"],
                   r.connection_pool.connection_kwargs["port"]).call(
        "XREAD", "STREAMS", "a", "2-0") is None  # a nil array (redis-py shows [])
    assert err(r, "XREAD", "STREAMS", "a", "b", "c") == (
        "Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.")
    assert err(r, "XREAD", "STREAMS", "a", ">") == (
        "The > ID can be specified only when calling XREADGROUP using the GROUP <group> "
        "<consumer> option.")
    assert err(r, "XREAD", "GROUP", "g", "c", "STREAMS", "a", "0") == (
        "The GROUP option is only supported by XREADGROUP. You called XREAD instead.")
    assert err(r, "XREAD", "NOACK", "STREAMS", "a", "0") == (
        "The NOACK option is only supported by XREADGROUP. You called XREAD instead.")
    assert err(r, "XREAD", "BLOCK", "x", "STREAMS", "a", "0") == (
        "timeout is not an integer or out of range")
    assert err(r, "XREAD", "BLOCK", "-1", "STREAMS", "a", "0") == "timeout is negative"
    assert err(r, "XREAD", "COUNT", "2", "FOO") == "syntax error"


def test_xread_block_woken_promptly_by_xadd_from_another_client(redge, r, pool):
    r.xadd("s2", {"old": "x"}, id="1-0")
    reader = redge.client()
    fut = pool.submit(reader.xread, {"s1": "$", "s2": "$", "s3": "$"}, None, 20000)
    wait_blocked(r, 1)
    time.sleep(0.05)  # only to give a wrong early reply the chance to show
    assert not fut.done(), "XREAD BLOCK replied before any XADD"
    t0 = time.monotonic()
    r.xadd("s2", {"new": "y"}, id="2-0")
    assert fut.result(timeout=10) == [["s2", [("2-0", {"new": "y"})]]]
    assert time.monotonic() - t0 < 1.0, "the blocked reader was not woken promptly"
    wait_blocked(r, 0)


def test_xread_block_timeout_and_old_data(redge, r):
    raw = redge.raw()
    t0 = time.monotonic()
    assert raw.call("XREAD", "BLOCK", "150", "STREAMS", "s", "$") is None
    assert time.monotonic() - t0 >= 0.14
    r.xadd("s", {"a": 1}, id="1-0")
    # Data already there: served at once, BLOCK or not.
    assert raw.call("XREAD", "BLOCK", "0", "STREAMS", "s", "0") == [
        [b"s", [[b"1-0", [b"a", b"1"]]]]]


def test_xread_block_ignores_writes_that_add_nothing(redge, r):
    r.xadd("q", {"a": 1}, id="5-0")
    r.xdel("q", "5-0")
    raw = redge.raw()
    raw.send_command("XREAD", "BLOCK", "0", "STREAMS", "q", "3")
    wait_blocked(r, 1)
    r.execute_command("XSETID", "q", "10-0")
    r.xtrim("q", maxlen=0)
    r.xgroup_create("q", "g", "0")
    raw.assert_no_reply(0.2)
    r.xadd("q", {"z": "z"}, id="11-0")
    assert raw.read_reply() == [[b"q", [[b"11-0", [b"z", b"z"]]]]]


def test_blocked_readers_wait_for_their_own_ids(redge, r):
    r.xadd("k", {"f": "v"}, id="5-0")
    future_reader, now_reader = redge.raw(), redge.raw()
    future_reader.send_command("XREAD", "BLOCK", "0", "STREAMS", "k", "100")
    wait_blocked(r, 1)
    now_reader.send_command("XREAD", "BLOCK", "0", "STREAMS", "k", "$")
    wait_blocked(r, 2)
    r.xadd("k", {"f": "v"}, id="6-0")
    # The reader that blocked second is served although the first one still waits.
    assert now_reader.read_reply() == [[b"k", [[b"6-0", [b"f", b"v"]]]]]
    future_reader.assert_no_reply(0.1)
    r.xadd("k", {"f": "v"}, id="101-0")
    assert future_reader.read_reply() == [[b"k", [[b"101-0", [b"f", b"v"]]]]]


def test_xread_block_inside_multi_does_not_block(redge, r):
    raw = redge.raw()
    assert raw.call("MULTI") == "OK"
    assert raw.call("XREAD", "BLOCK", "0", "STREAMS", "q", "$") == "QUEUED"
    assert raw.call("XADD", "q", "1-0", "a", "1") == "QUEUED"
    assert raw.call("XREAD", "BLOCK", "0", "STREAMS", "q", "0") == "QUEUED"
    assert raw.call("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "q", ">") == "QUEUED"
    assert raw.call("EXEC") == [
        None, b"1-0", [[b"q", [[b"1-0", [b"a", b"1"]]]]],
        Error("NOGROUP No such key 'q' or consumer group 'g' in XREADGROUP with GROUP option")]
    r.xgroup_create("q", "g", "$")
    assert raw.call("MULTI") == "OK"
    raw.call("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "q", ">")
    raw.call("XADD", "q", "2-0", "b", "2")
    raw.call("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "q", ">")
    assert raw.call("EXEC") == [None, b"2-0", [[b"q", [[b"2-0", [b"b", b"2"]]]]]]


def test_xread_resp3_is_a_map(redge, r):
    r.xadd("a", {"x": 1}, id="1-0")
    raw = redge.raw()
    raw.call("HELLO", "3")
    reply = raw.call("XREAD", "STREAMS", "a", "nokey", "0", "0")
    assert isinstance(reply, Map) and reply == {b"a": [[b"1-0", [b"x", b"1"]]]}
    assert raw.call("XREAD", "STREAMS", "a", "1-0") is None
    raw.send_command("XREAD", "BLOCK", "0", "STREAMS", "a", "$")
    wait_blocked(r, 1)
    r.xadd("a", {"y": 2}, id="2-0")
    assert raw.read_reply() == Map({b"a": [[b"2-0", [b"y", b"2"]]]})


# --- INFO and CONFIG fields that queue libraries read ---------------------------------------


def test_info_memory_reports_noeviction_like_redis(redge, r):
    memory = r.info("memory")
    assert memory["maxmemory"] == 0
    assert memory["maxmemory_human"] == "0B"
    assert memory["maxmemory_policy"] == "noeviction"
    assert r.info("server")["redis_version"].startswith("7.0.")
    assert r.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
    assert r.config_get("stream-node-max-*") == {
        "stream-node-max-bytes": "4096", "stream-node-max-entries": "100"}
    assert r.config_set("stream-node-max-entries", 10)
    for j in range(25):
        r.execute_command("XADD", "s", "MAXLEN", "~", "1", "*", "f", j)
    assert r.xlen("s") == 5  # whole nodes of 10 entries are trimmed
    assert err(r, "CONFIG", "SET", "stream-node-max-entries", "x") == (
        "CONFIG SET failed (possibly related to argument 'stream-node-max-entries') - argument "
        "couldn't be parsed into an integer")
    assert err(r, "CONFIG", "SET", "stream-node-max-bytes", "lots") == (
        "CONFIG SET failed (possibly related to argument 'stream-node-max-bytes') - argument "
        "must be a memory value")
    assert r.config_set("stream-node-max-bytes", "4kb")
    assert r.config_get("stream-node-max-bytes") == {"stream-node-max-bytes": "4096"}


# --- redis-cli ---------------------------------------------------------------------------


def test_redis_cli_stream_session(redge):
    cli = shutil.which("redis-cli") or "/usr/bin/redis-cli"
    if not os.path.exists(cli):
        pytest.fail("redis-cli not found: install Debian's redis-tools (tools/setup.sh does)")

    def run(*args):
        proc = subprocess.run([cli, "-h", redge.host, "-p", str(redge.port), *args],
                              capture_output=True, timeout=30,
                              env={**os.environ, "HOME": str(redge.workdir)})
        assert proc.returncode == 0 and proc.stderr == b"", proc
        return proc.stdout.decode()

    assert run("XADD", "s", "1-1", "a", "1", "b", "2") == "1-1\n"
    assert run("XADD", "s", "1-*", "c", "3") == "1-2\n"
    assert run("XRANGE", "s", "-", "+") == "1-1\na\n1\nb\n2\n1-2\nc\n3\n"
    assert run("--no-raw", "XRANGE", "s", "-", "+", "COUNT", "1") == (
        '1) 1) "1-1"\n   2) 1) "a"\n      2) "1"\n      3) "b"\n      4) "2"\n')
    assert run("XGROUP", "CREATE", "s", "g", "0") == "OK\n"
    assert run("--no-raw", "XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s", ">") == (
        '1) 1) "s"\n   2) 1) 1) "1-1"\n         2) 1) "a"\n            2) "1"\n'
        '            3) "b"\n            4) "2"\n')
    assert run("XPENDING", "s", "g") == "1\n1-1\n1-1\nc\n1\n"
    assert run("XGROUP", "CREATE", "s", "g", "0") == (
        "BUSYGROUP Consumer Group name already exists\n\n")  # as redis-cli prints errors
    assert run("-3", "XREAD", "STREAMS", "s", "1-1") == "s 1-2\nc\n3\n"  # a RESP3 map
    assert run("XREAD", "BLOCK", "10", "STREAMS", "s", "$") == "\n"
    info = run("XINFO", "STREAM", "s")
    assert info.startswith("length\n2\nradix-tree-keys\n1\nradix-tree-nodes\n2\n"
                           "last-generated-id\n1-2\n")


def test_blocking_reads_are_refused_inside_scripts(same_as_redis):
    """A script may read a stream but never block on one (Redis 7.0's error text)."""
    same_as_redis("XADD", "s", "1-1", "f", "v")
    same_as_redis("EVAL", "return redis.call('xread','block','0','streams','s','$')", "0")
    same_as_redis("EVAL", "return redis.call('xreadgroup','group','g','c','block','0',"
                  "'streams','s','>')", "0")
    same_as_redis("EVAL", "return redis.call('xread','streams','s','0')", "0")
