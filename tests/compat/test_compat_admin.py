"""Server administration commands as redge means them (edge/resp/admin_commands.cc):
SLOWLOG records slow commands with Redis's fields and redaction, SAVE/BGSAVE/LASTSAVE,
WAIT/ROLE without replicas, MEMORY USAGE estimates, SHUTDOWN stops redge gracefully."""

import threading
import time

import pytest
import redis

import compat_support


def test_replies_and_errors_match_redis(same_as_redis):
    for command in [("ROLE",), ("WAIT", "0", "0"), ("WAIT", "1", "10"), ("WAIT", "x", "0"),
                    ("READONLY",), ("READWRITE",), ("BGSAVE", "foo"), ("SHUTDOWN", "ABORT"),
                    ("SHUTDOWN", "foo"), ("SHUTDOWN", "NOSAVE", "SAVE"),
                    ("SLOWLOG", "GET", "x"), ("SLOWLOG", "GET", "-2"), ("SLOWLOG", "foo"),
                    ("SLOWLOG", "LEN", "x"), ("SLOWLOG", "HELP"), ("MEMORY", "USAGE", "nokey"),
                    ("MEMORY", "USAGE"), ("MEMORY", "HELP"), ("MEMORY", "foo"),
                    ("LATENCY", "LATEST"), ("LATENCY", "foo")]:
        same_as_redis(*command)


def test_slowlog_records_with_redaction_and_limits(redge):
    r = redge.raw()
    assert r.call("CONFIG", "SET", "slowlog-log-slower-than", "0") == "OK"
    assert r.call("SLOWLOG", "RESET") == "OK"
    assert r.call("CLIENT", "SETNAME", "me") == "OK"
    r.call("SET", "k", "x" * 200)
    r.call("RPUSH", "l", *[str(i) for i in range(40)])
    r.call("CONFIG", "SET", "requirepass", "")
    r.call("MULTI")
    r.call("INCR", "n")
    r.call("EXEC")
    r.call("CONFIG", "SET", "slowlog-log-slower-than", "-1")
    entries = r.call("SLOWLOG", "GET", "-1")
    args = [e[3] for e in entries]
    assert [b"INCR", b"n"] in args
    assert not any(a[0] == b"EXEC" for a in args)  # EXEC itself is not logged
    assert [b"CONFIG", b"SET", b"requirepass", b"(redacted)"] in args
    set_entry = next(e for e in entries if e[3][0] == b"SET")
    assert set_entry[3][2] == b"x" * 128 + b"... (72 more bytes)"
    assert set_entry[5] == b"me" and set_entry[4].startswith(b"127.0.0.1:")
    push = next(e for e in entries if e[3][0] == b"RPUSH")
    assert len(push[3]) == 32 and push[3][-1] == b"... (11 more arguments)"
    assert all(isinstance(e[0], int) and e[1] > 1_000_000_000 and e[2] >= 0 for e in entries)
    # Newest first; max-len keeps the newest.
    ids = [e[0] for e in entries]
    assert ids == sorted(ids, reverse=True)
    r.call("CONFIG", "SET", "slowlog-max-len", "2")
    assert r.call("SLOWLOG", "LEN") == 2


def test_save_bgsave_lastsave(redge):
    r = redge.raw()
    before = r.call("LASTSAVE")
    r.call("SET", "k", "v")
    time.sleep(1.1)  # LASTSAVE has one-second resolution; this is not a wait for a wake-up
    assert r.call("SAVE") == "OK"
    assert r.call("LASTSAVE") > before
    assert r.call("BGSAVE") == "Background saving started"
    assert r.call("BGREWRITEAOF") == "Background append only file rewriting scheduled"
    assert r.call("GET", "k") == b"v"


def test_save_and_bgsave_among_concurrent_writes_lose_nothing(redge):
    # A SAVE queued behind other clients' writes once joined their batch and aborted redge
    # (found by fuzz_resp_commands; tests/unit/write_path_test.cc pins the mechanism).
    stop = threading.Event()
    counts = [0] * 4
    errors = []

    def writer(i):
        c = redge.client()
        try:
            while not stop.is_set():
                p = c.pipeline(transaction=False)
                for _ in range(20):
                    p.incr(f"counter:{i}")
                p.execute()
                counts[i] += 20
        except Exception as e:  # the test fails below with the error
            errors.append(repr(e))

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    admin = redge.client()
    try:
        for _ in range(30):
            assert admin.bgsave() is True
            assert admin.save() is True
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert errors == []
    assert [int(admin.get(f"counter:{i}")) for i in range(4)] == counts


def test_save_resets_the_change_count_info_reports(r):
    r.set("a", "1")
    r.set("b", "2")
    before = r.info("persistence")
    assert before["rdb_changes_since_last_save"] >= 2
    saves = before["rdb_saves"]
    assert r.save() is True
    after = r.info("persistence")
    assert after["rdb_changes_since_last_save"] == 0
    assert after["rdb_saves"] == saves + 1
    assert after["rdb_last_bgsave_status"] == "ok"
    assert after["rdb_last_save_time"] == r.lastsave().timestamp()
    r.incr("c")
    assert r.info("persistence")["rdb_changes_since_last_save"] == 1


def test_memory_usage_grows_with_the_value(redge):
    r = redge.client()
    r.set("small", "x")
    r.set("big", "x" * 10000)
    r.rpush("list", *["e" * 100] * 500)
    assert 0 < r.memory_usage("small") < r.memory_usage("big")
    assert r.memory_usage("list") > 500 * 100
    assert r.memory_usage("list", samples=0) > 500 * 100
    assert r.memory_usage("absent") is None


def test_shutdown_stops_redge_gracefully(redge):
    c = redge.raw()
    redge.client().set("kept", "1")
    c.send_command("SHUTDOWN", "NOSAVE")
    assert c.read_until_close() == b""
    assert redge.proc.wait(timeout=15) == 0
    redge.proc = None  # stopped by the test


def test_unknown_subcommands_add_no_commandstats_entries(r):
    # The name comes from the client: counting it would grow the table without bound.
    for i in range(50):
        with pytest.raises(redis.ResponseError, match="unknown subcommand"):
            r.execute_command("CLIENT", f"nosuchsub{i}")
    r.execute_command("CLIENT", "ID")
    stats = r.info("commandstats")
    assert "cmdstat_client|id" in stats
    assert not [k for k in stats if "nosuchsub" in k], stats.keys()


def test_a_blocked_command_answered_with_an_error_counts_as_failed(redge, r):
    # XGROUP DESTROY under a blocked XREADGROUP: -NOGROUP at unblock is the same call
    # failing (Redis's updateStatsOnUnblock): calls=1, failed_calls=1.
    r.xgroup_create("s", "g", "$", mkstream=True)
    reader = redge.raw(timeout=10)
    reader.send_command("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")
    deadline = time.monotonic() + 5
    while r.info("clients")["blocked_clients"] != 1:
        assert time.monotonic() < deadline, "XREADGROUP did not block"
        time.sleep(0.005)
    r.xgroup_destroy("s", "g")
    reply = reader.read_reply()
    assert str(reply).startswith("NOGROUP"), reply
    stats = r.info("commandstats")["cmdstat_xreadgroup"]
    assert (stats["calls"], stats["failed_calls"], stats["rejected_calls"]) == (1, 1, 0)


def test_swapdb_of_big_databases_leaves_the_loop_answering(redge_factory):
    # SWAPDB moves every key of both databases in redge (O(keys), Redis's is O(1)): it
    # runs on the store's writer thread, so other clients of the same event loop are still
    # answered (PING), while commands that need the store wait for it.
    redge = redge_factory("--resp-threads", "1")
    r = redge.client()
    with r.pipeline(transaction=False) as p:
        for i in range(150_000):
            p.set(f"key:{i}", "v")
        p.execute()
    done = {}

    def swap():
        done["reply"] = redge.client(socket_timeout=120).swapdb(0, 1)
        done["at"] = time.monotonic()

    t0 = time.monotonic()
    t = threading.Thread(target=swap)
    t.start()
    pings = []
    while t.is_alive() and time.monotonic() - t0 < 60:
        c = redge.raw(timeout=5)
        start = time.monotonic()
        assert c.call("PING") == "PONG"
        pings.append(time.monotonic() - start)
        time.sleep(0.02)
    t.join(120)
    assert done["reply"] is True
    assert r.dbsize() == 0
    assert redge.client(db=1).dbsize() == 150_000
    # The swap took long enough to matter, and no PING waited for it.
    assert done["at"] - t0 > 0.2, "SWAPDB too quick to show anything on this machine"
    assert pings and max(pings) < 0.5, pings
