"""A job's events read as a Redis stream (redge:events:{id}, --events-stream-template):
XRANGE/XREVRANGE/XLEN/XREAD with redis-py, XREAD BLOCK woken by the worker's next event,
and every write refused with a clear error. Real redge, real redis-py workers.
"""

import json
import threading
import time

import pytest

import integration_support as sup

READ_ONLY = "is a read-only stream view of a job's events"


def enqueue(redge, queue="q", payload=None):
    reply = redge.http.post(f"/v1/queues/{queue}/jobs", json=payload or {"p": 1})
    assert reply.status == 202, reply
    return reply.json()["id"]


def fields(entry):
    eid, f = entry
    return eid, f["event"], json.loads(f["data"])


def test_xrange_xrevrange_xlen_show_the_events_in_order(redge):
    r = redge.client()
    job = enqueue(redge)
    w = redge.worker("w1")
    _, env = w.brpop("redge:queue:q", timeout=10)
    assert json.loads(env)["id"] == job
    for i in range(3):
        w.publish(f"redge:progress:{job}", json.dumps({"event": "chunk", "n": i}))
    w.set(f"redge:response:{job}", json.dumps({"ok": True}))
    key = f"redge:events:{job}"
    entries = [fields(e) for e in r.xrange(key)]
    assert [(i, t) for i, t, _ in entries] == [
        ("1-0", "queued"), ("2-0", "started"), ("3-0", "chunk"), ("4-0", "chunk"),
        ("5-0", "chunk"), ("6-0", "completed")]
    assert entries[2][2] == {"event": "chunk", "n": 0}
    assert entries[5][2] == {"result": {"ok": True}}
    # The same events as the HTTP API, with the same ids.
    api = redge.http.get(f"/v1/jobs/{job}", params={"after": "0"}).json()["events"]
    assert [(f"{e['id']}-0", e["event"], e["data"]) for e in api] == entries
    assert r.xlen(key) == 6
    assert [e[0] for e in r.xrange(key, "(2-0", "4", count=5)] == ["3-0", "4-0"]
    assert [e[0] for e in r.xrange(key, "2-1", "+")] == ["3-0", "4-0", "5-0", "6-0"]
    assert [e[0] for e in r.xrevrange(key, "+", "-", count=2)] == ["6-0", "5-0"]
    assert [e[0] for e in r.xrevrange(key, "(6-0", "4-0")] == ["5-0", "4-0"]
    assert r.xrange(key, "7-0", "+") == []
    assert r.xread({key: "4-0"}, count=1) == [[key, [r.xrange(key, "5", "5")[0]]]]
    # An unknown job reads as an absent stream.
    assert r.xrange("redge:events:nope") == [] and r.xlen("redge:events:nope") == 0
    assert r.xread({"redge:events:nope": "0"}) == []
    # Other commands see what is stored: the event list itself.
    assert r.type(key) == "list" and r.exists(key) == 1
    # Scripts and MULTI read the view too.
    assert r.eval("return #redis.call('XRANGE', KEYS[1], '-', '+')", 1, key) == 6
    p = r.pipeline(transaction=True)
    p.xlen(key).xrevrange(key, count=1)
    n, last = p.execute()
    assert n == 6 and last[0][0] == "6-0"


def test_xread_block_is_woken_by_the_next_event(redge):
    r = redge.client()
    job = enqueue(redge)
    key = f"redge:events:{job}"
    reader = redge.client(socket_timeout=30)
    got = {}

    def read():
        got["reply"] = reader.xread({key: "$"}, block=20000)

    t = threading.Thread(target=read, daemon=True)
    t.start()
    sup.wait_until(lambda: r.info("clients")["blocked_clients"] >= 1, what="XREAD to block")
    w = redge.worker("w2")
    started = time.monotonic()
    w.brpop("redge:queue:q", timeout=10)  # the lease's `started` event wakes the reader
    t.join(10)
    assert not t.is_alive(), "XREAD BLOCK was not woken by the job's event"
    assert time.monotonic() - started < 5
    [[k, entries]] = got["reply"]
    assert k == key and [fields(e)[:2] for e in entries] == [("2-0", "started")]
    # BLOCK with an id: served at once when there is something after it.
    assert [e[0] for e in reader.xread({key: "0"}, block=1000)[0][1]] == ["1-0", "2-0"]
    # A timeout is a nil reply, as for a stream.
    assert reader.xread({key: "$"}, block=100) == []


def test_writes_and_other_stream_commands_are_refused(redge):
    r = redge.client()
    job = enqueue(redge)
    key = f"redge:events:{job}"
    for cmd in (("XADD", key, "*", "a", "b"), ("XDEL", key, "1-0"), ("XTRIM", key, "MAXLEN", 0),
                ("XSETID", key, "9-0"), ("XGROUP", "CREATE", key, "g", "0"),
                ("XREADGROUP", "GROUP", "g", "c", "STREAMS", key, ">"),
                ("XACK", key, "g", "1-0"), ("XPENDING", key, "g"),
                ("XCLAIM", key, "g", "c", 0, "1-0"), ("XAUTOCLAIM", key, "g", "c", 0, "0"),
                ("XINFO", "STREAM", key)):
        with pytest.raises(Exception) as err:
            r.execute_command(*cmd)
        assert READ_ONLY in str(err.value), (cmd, err.value)
    # Nothing changed.
    assert r.xlen(key) == 1 and r.type(key) == "list"


def test_custom_template_and_blocking_read(redge_factory):
    redge = redge_factory("--events-stream-template", "jobs/{id}/events")
    r = redge.client()
    job = enqueue(redge)
    key = f"jobs/{job}/events"
    assert [fields(e)[:2] for e in r.xrange(key)] == [("1-0", "queued")]
    # Not a stored key: only the stream commands see it.
    assert r.exists(key) == 0 and r.type(key) == "none"
    with pytest.raises(Exception, match=READ_ONLY):
        r.xadd(key, {"a": "b"})
    assert r.exists(key) == 0
    # The default name is an ordinary (list) key again for stream commands.
    with pytest.raises(Exception, match="WRONGTYPE"):
        r.xrange(f"redge:events:{job}")
    reader = redge.client(socket_timeout=30)
    got = {}
    t = threading.Thread(target=lambda: got.update(r=reader.xread({key: "1-0"}, block=20000)),
                         daemon=True)
    t.start()
    sup.wait_until(lambda: r.info("clients")["blocked_clients"] >= 1, what="XREAD to block")
    redge.http.delete(f"/v1/jobs/{job}")  # cancel: the `canceled` event
    t.join(10)
    assert not t.is_alive(), "XREAD BLOCK on the custom view key was not woken"
    assert [fields(e)[:2] for e in got["r"][0][1]] == [("2-0", "canceled")]
