"""CLIENT REPLY ON/OFF/SKIP and MONITOR, as Redis 7.0: replies silenced but pub/sub
pushes delivered; every command of other clients shown to monitors, redis-cli MONITOR
included, credentials redacted, MULTI/EXEC in execution order."""

import subprocess
import time

import compat_support


def test_client_reply_off_on_skip(redge):
    c = redge.raw()
    c.send_command("CLIENT", "REPLY", "OFF")
    c.send_command("SET", "a", "1")
    c.send_command("GET", "a")
    c.send_command("INCR", "n")
    c.assert_no_reply()
    assert c.call("CLIENT", "REPLY", "ON") == "OK"
    assert c.call("GET", "n") == b"1"  # the silenced INCR ran
    c.send_command("CLIENT", "REPLY", "SKIP")
    c.send_command("SET", "b", "2")  # this reply is skipped
    assert c.call("GET", "b") == b"2"  # and only that one


def test_client_reply_skip_then_on_answers_ok(redge):
    c = redge.raw()
    c.send_command("CLIENT", "REPLY", "SKIP")
    assert c.call("CLIENT", "REPLY", "ON") == "OK"
    assert c.call("PING") == "PONG"


def test_client_reply_bad_argument(same_as_redis):
    same_as_redis("CLIENT", "REPLY", "MAYBE")
    same_as_redis("CLIENT", "REPLY")


def test_pubsub_pushes_are_delivered_with_replies_off(redge):
    sub = redge.raw()
    sub.call("HELLO", "3")
    sub.send_command("CLIENT", "REPLY", "OFF")
    sub.send_command("SUBSCRIBE", "ch")
    assert sub.read_reply() == compat_support.Push([b"subscribe", b"ch", 1])
    assert redge.client().publish("ch", "hello") == 1
    assert sub.read_reply() == compat_support.Push([b"message", b"ch", b"hello"])


def test_silenced_blocking_command_stays_silent(redge):
    c = redge.raw()
    c.send_command("CLIENT", "REPLY", "SKIP")
    c.send_command("BLPOP", "q", "0")
    compat_support.wait_blocked(redge.client(), 1)
    redge.client().rpush("q", "x")
    assert c.call("PING") == "PONG"  # no BLPOP reply before it
    assert redge.client().llen("q") == 0


def test_monitor_shows_commands_in_order_with_redaction(redge):
    mon = redge.raw()
    assert mon.call("MONITOR") == "OK"
    r = redge.raw()
    # Monitors see each command as the client sent it (case included).
    r.call("set", "foo", "bar\nbaz")
    r.call("get", "foo")
    r.call("multi")
    r.call("set", "k", "v")
    r.call("exec")
    assert str(r.call("auth", "not-real")).startswith("ERR")
    r.call("hello", "2", "AUTH", "default", "secret")
    lines = [mon.read_reply(timeout=5) for _ in range(7)]
    assert '"set" "foo" "bar\\nbaz"' in lines[0]
    assert lines[0].split(" ")[1] == "[0"
    assert '"get" "foo"' in lines[1]
    assert '"multi"' in lines[2] and '"set" "k" "v"' in lines[3] and '"exec"' in lines[4]
    assert '"auth" "(redacted)"' in lines[5]
    assert '"hello" "2" "AUTH" "(redacted)" "(redacted)"' in lines[6]
    assert "secret" not in "".join(lines)


def test_redis_cli_monitor_sees_other_clients(redge):
    proc = subprocess.Popen(["redis-cli", "-p", str(redge.port), "MONITOR"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "OK"
        redge.client().set("watched", "1")
        line = proc.stdout.readline()
        assert '"SET" "watched" "1"' in line and "[0 127.0.0.1:" in line
    finally:
        proc.kill()
        proc.wait()


def test_monitor_inside_multi_is_refused(same_as_redis):
    same_as_redis("MULTI")
    same_as_redis("MONITOR")
    same_as_redis("EXEC")
