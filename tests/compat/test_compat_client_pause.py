"""CLIENT PAUSE / UNPAUSE with Redis 7.0's semantics: which commands WRITE and ALL hold
(writes, PUBLISH, EXEC of writes, writes queued in MULTI; reads and admin commands go on),
errors answered at once, held clients released in the order they were held, the timeout,
expiry suspended during the pause, and event loops that keep serving other clients."""

import threading
import time

import pytest


def blocked_clients(r):
    return r.info("clients")["blocked_clients"]


def wait_blocked(r, n, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if blocked_clients(r) == n:
            return
        time.sleep(0.005)
    pytest.fail(f"blocked_clients stayed at {blocked_clients(r)}, wanted {n}")


class Pending:
    """A command sent by a raw connection whose reply is read later."""

    def __init__(self, redge, *command):
        self.conn = redge.raw(timeout=10)
        self.conn.send_command(*command)

    def reply(self):
        return self.conn.read_reply()


def test_pause_errors_match_redis(same_as_redis):
    for command in [
        ("CLIENT", "PAUSE"),
        ("CLIENT", "PAUSE", "x"),
        ("CLIENT", "PAUSE", "10", "foo"),
        ("CLIENT", "PAUSE", "x", "foo"),
        ("CLIENT", "PAUSE", "-1"),
        ("CLIENT", "PAUSE", "1", "2", "3"),
        ("CLIENT", "UNPAUSE", "x"),
        ("CLIENT", "PAUSE", "0", "WRITE"),
        ("SET", "k", "v"),  # a pause of 0 ms is no pause
        ("CLIENT", "UNPAUSE"),
    ]:
        same_as_redis(*command)


def test_write_pause_holds_writes_not_reads(r, redge):
    r.set("FOO", "old")
    r.client_pause(100000, all=False)
    reads = [Pending(redge, "GET", "FOO"), Pending(redge, "PING"), Pending(redge, "INFO", "server")]
    assert reads[0].reply() == b"old"
    assert reads[1].reply() == "PONG"
    assert b"redis_version" in reads[2].reply()
    assert blocked_clients(r) == 0
    writer = Pending(redge, "SET", "FOO", "BAR")
    publisher = Pending(redge, "PUBLISH", "ch", "m")
    wait_blocked(r, 2)
    assert r.get("FOO") == "old"
    assert any("b" in c["flags"] for c in r.client_list())
    r.client_unpause()
    assert writer.reply() == "OK"
    assert publisher.reply() == 0
    assert r.get("FOO") == "BAR"
    assert blocked_clients(r) == 0


def test_errors_are_answered_while_paused(r, redge):
    r.client_pause(100000, all=False)
    arity = Pending(redge, "SET", "FOO")
    unknown = Pending(redge, "NOSUCHCOMMAND")
    assert "wrong number of arguments for 'set' command" in str(arity.reply())
    assert "unknown command" in str(unknown.reply())
    r.client_unpause()


def test_held_clients_resume_in_order(r, redge):
    r.client_pause(100000, all=False)
    held = []
    for i in range(5):
        held.append(Pending(redge, "RPUSH", "order", f"c{i}"))
        wait_blocked(r, i + 1)
    r.client_unpause()
    assert [h.reply() for h in held] == [1, 2, 3, 4, 5]
    assert r.lrange("order", 0, -1) == [f"c{i}" for i in range(5)]


def test_pipelined_commands_after_a_held_one_wait_too(r, redge):
    r.client_pause(100000, all=False)
    conn = redge.raw(timeout=10)
    conn.send_command("GET", "x")
    assert conn.read_reply() is None
    conn.send_command("SET", "x", "1")
    conn.send_command("GET", "x")  # a read behind a held write keeps its place
    wait_blocked(r, 1)
    time.sleep(0.1)
    assert r.get("x") is None
    r.client_unpause()
    assert conn.read_reply() == "OK"
    assert conn.read_reply() == b"1"


def test_transactions_under_a_write_pause(r, redge):
    r.set("FOO", "BAR")
    r.client_pause(100000, all=False)
    # Reads only: EXEC runs.
    conn = redge.raw(timeout=10)
    for cmd in (("MULTI",), ("PING",), ("GET", "FOO")):
        conn.send_command(*cmd)
    assert [conn.read_reply() for _ in range(3)] == ["OK", "QUEUED", "QUEUED"]
    conn.send_command("EXEC")
    assert conn.read_reply() == ["PONG", b"BAR"]
    # A write queued in MULTI is held before it is queued, as Redis holds it.
    conn.send_command("MULTI")
    assert conn.read_reply() == "OK"
    conn.send_command("SET", "FOO", "NEW")
    wait_blocked(r, 1)
    r.client_unpause()
    assert conn.read_reply() == "QUEUED"
    # EXEC of writes queued before the pause is held.
    r.client_pause(100000, all=False)
    conn.send_command("EXEC")
    wait_blocked(r, 1)
    assert r.get("FOO") == "BAR"
    r.client_unpause()
    assert conn.read_reply() == ["OK"]
    assert r.get("FOO") == "NEW"


def test_pause_inside_exec_starts_after_it(r, redge):
    pipe = r.pipeline(transaction=True)
    pipe.set("FOO1", "BAR")
    pipe.execute_command("CLIENT", "PAUSE", "60000", "WRITE")
    pipe.set("FOO2", "BAR")
    assert pipe.execute() == [True, "OK", True]
    later = Pending(redge, "SET", "FOO3", "BAR")
    wait_blocked(r, 1)
    assert r.get("FOO1") == "BAR" and r.get("FOO2") == "BAR" and r.get("FOO3") is None
    r.client_unpause()
    assert later.reply() == "OK"


def test_all_pause_holds_reads_and_ends_at_its_timeout(r, redge):
    r.set("k", "v")
    started = time.monotonic()
    r.client_pause(400)  # ALL
    reader = Pending(redge, "GET", "k")
    assert reader.reply() == b"v"
    assert time.monotonic() - started >= 0.35
    assert r.get("k") == "v"


def test_expiry_is_suspended_during_a_pause(r, redge):
    expired = r.info("stats")["expired_keys"]
    pipe = r.pipeline(transaction=True)
    pipe.set("foo", "bar", px=10)
    pipe.set("bar", "foo", px=10)
    pipe.execute_command("CLIENT", "PAUSE", "50000", "WRITE")
    pipe.execute()
    time.sleep(0.1)
    assert r.get("foo") is None and r.get("bar") is None  # logically expired
    assert r.dbsize() == 2  # but not deleted
    assert r.info("stats")["expired_keys"] == expired
    r.client_unpause()
    r.get("foo")
    r.get("bar")
    deadline = time.monotonic() + 5
    while r.info("stats")["expired_keys"] != expired + 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert r.info("stats")["expired_keys"] == expired + 2
    assert r.dbsize() == 0


def test_held_clients_do_not_block_their_event_loop(r, redge):
    # Many held writers and many readers: whatever loop each lands on, every reader is
    # answered while the writers are held.
    r.client_pause(100000, all=False)
    writers = [Pending(redge, "SET", f"w{i}", "1") for i in range(16)]
    wait_blocked(r, 16)
    readers = [Pending(redge, "PING") for _ in range(16)]
    assert [p.reply() for p in readers] == ["PONG"] * 16
    r.client_unpause()
    assert [w.reply() for w in writers] == ["OK"] * 16


def test_closing_a_held_client_releases_its_count(r, redge):
    r.client_pause(100000, all=False)
    held = Pending(redge, "SET", "gone", "1")
    wait_blocked(r, 1)
    held.conn.close()
    wait_blocked(r, 0)
    r.client_unpause()
    assert r.get("gone") is None


def test_write_pause_holds_scripts_and_functions_but_not_their_read_only_forms(r, redge):
    # EVAL, EVALSHA and FCALL may write (Redis's may_replicate): held; the _RO forms run.
    sha = r.script_load("return redis.call('SET', KEYS[1], ARGV[1])")
    r.function_load("#!lua name=pauselib\n"
                    "redis.register_function('setit', function(k, a) "
                    "return redis.call('SET', k[1], a[1]) end)\n"
                    "redis.register_function{function_name='getit', callback=function(k) "
                    "return redis.call('GET', k[1]) end, flags={'no-writes'}}", replace=True)
    r.set("S", "old")
    r.client_pause(100000, all=False)
    held = []
    # One at a time: clients on different loops are held in the order redge receives them,
    # which is the order sent only when each is held before the next is sent.
    for command in [("EVAL", "return redis.call('SET', KEYS[1], 'e')", "1", "S"),
                    ("EVALSHA", sha, "1", "S", "h"), ("FCALL", "setit", "1", "S", "f")]:
        held.append(Pending(redge, *command))
        wait_blocked(r, len(held))
    assert Pending(redge, "EVAL_RO", "return redis.call('GET', KEYS[1])", "1", "S").reply() \
        == b"old"
    assert Pending(redge, "FCALL_RO", "getit", "1", "S").reply() == b"old"
    assert r.get("S") == "old"
    r.client_unpause()
    assert [p.reply() for p in held] == ["OK", "OK", "OK"]
    assert r.get("S") == "f"
