"""Pub/sub: channels and patterns through redis-py's PubSub, PUBLISH receiver counts,
PUBSUB CHANNELS/NUMSUB/NUMPAT, RESP2 subscribe-mode rules, and a slow subscriber
disconnected at its output-buffer limit while other clients are unaffected."""

import time

from compat_support import Error, RawConn, wait_until


def next_message(p, timeout=5.0):
    """The next message of a redis-py PubSub (bounded wait)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no pub/sub message within {timeout}s")
        m = p.get_message(timeout=left)
        if m is not None:
            return m


def subscribe_confirmed(p, kind, *names):
    getattr(p, kind)(*names)
    for _ in names:
        m = next_message(p)
        assert m["type"] == kind


def test_subscribe_publish_message(redge, r):
    p = redge.client().pubsub()
    p.subscribe("news")
    assert next_message(p) == {"type": "subscribe", "pattern": None, "channel": "news", "data": 1}
    p.subscribe("sport")
    assert next_message(p)["data"] == 2
    assert r.publish("news", "hello") == 1
    assert r.publish("nobody", "x") == 0
    assert next_message(p) == {"type": "message", "pattern": None, "channel": "news",
                               "data": "hello"}
    assert r.publish("sport", "goal") == 1
    assert next_message(p)["data"] == "goal"
    assert p.get_message(timeout=0.05) is None  # nothing else was delivered
    p.unsubscribe("news")
    assert next_message(p) == {"type": "unsubscribe", "pattern": None, "channel": "news",
                               "data": 1}
    assert r.publish("news", "again") == 0
    p.close()


def test_messages_arrive_in_publish_order_binary_safe(redge, r):
    p = redge.client(decode_responses=False).pubsub()
    subscribe_confirmed(p, "subscribe", "bin")
    payloads = [bytes([i]) * (i + 1) + b"\r\n\x00" for i in range(200)]
    pipe = r.pipeline(transaction=False)
    for pl in payloads:
        pipe.publish("bin", pl)
    assert pipe.execute() == [1] * 200
    got = [next_message(p)["data"] for _ in payloads]
    assert got == payloads
    p.close()


def test_psubscribe_patterns(redge, r):
    p = redge.client().pubsub()
    p.psubscribe("news.*", "h?llo", "h[ae]y", "exact\\*")
    kinds = [next_message(p) for _ in range(4)]
    assert [m["type"] for m in kinds] == ["psubscribe"] * 4
    assert [m["data"] for m in kinds] == [1, 2, 3, 4]
    assert r.publish("news.tech", "t") == 1
    assert next_message(p) == {"type": "pmessage", "pattern": "news.*",
                               "channel": "news.tech", "data": "t"}
    assert r.publish("news", "no-dot") == 0
    assert r.publish("hello", "1") == 1
    assert next_message(p)["pattern"] == "h?llo"
    assert r.publish("hay", "2") == 1
    assert r.publish("hoy", "3") == 0
    assert next_message(p)["channel"] == "hay"
    assert r.publish("exact*", "4") == 1
    assert r.publish("exactly", "5") == 0
    m = next_message(p)
    assert (m["pattern"], m["channel"]) == ("exact\\*", "exact*")
    p.punsubscribe("news.*")
    assert next_message(p)["type"] == "punsubscribe"
    assert r.publish("news.tech", "t") == 0
    p.close()


def test_channel_and_pattern_both_deliver(redge, r):
    a = redge.client().pubsub()
    b = redge.client().pubsub()
    subscribe_confirmed(a, "subscribe", "jobs.1")
    subscribe_confirmed(a, "psubscribe", "jobs.*")
    subscribe_confirmed(b, "psubscribe", "jobs.*")
    subscribe_confirmed(b, "psubscribe", "*")
    # a: channel + pattern (2), b: two patterns (2)
    assert r.publish("jobs.1", "x") == 4
    got_a = [next_message(a) for _ in range(2)]
    got_b = [next_message(b) for _ in range(2)]
    assert sorted(m["type"] for m in got_a) == ["message", "pmessage"]
    assert sorted(m["pattern"] for m in got_b) == ["*", "jobs.*"]
    assert all(m["data"] == "x" for m in got_a + got_b)
    assert r.publish("jobs.2", "y") == 3  # a: jobs.*, b: jobs.* and *
    a.close()
    b.close()


def test_pubsub_introspection(redge, r):
    a = redge.client().pubsub()
    b = redge.client().pubsub()
    subscribe_confirmed(a, "subscribe", "c1", "c2")
    subscribe_confirmed(b, "subscribe", "c2", "other")
    subscribe_confirmed(a, "psubscribe", "p.*", "q.*")
    subscribe_confirmed(b, "psubscribe", "p.*")
    assert sorted(r.pubsub_channels()) == ["c1", "c2", "other"]
    assert sorted(r.pubsub_channels("c*")) == ["c1", "c2"]
    assert r.pubsub_numsub("c1", "c2", "other", "none") == [
        ("c1", 1), ("c2", 2), ("other", 1), ("none", 0)]
    assert r.pubsub_numpat() == 2  # Redis 7: unique patterns
    a.unsubscribe("c1")
    next_message(a)
    wait_until(lambda: sorted(r.pubsub_channels()) == ["c2", "other"], timeout=5,
               what="c1 to leave PUBSUB CHANNELS")
    b.close()
    wait_until(lambda: r.pubsub_numsub("c2") == [("c2", 1)], timeout=5,
               what="closed subscriber to be dropped")
    assert r.pubsub_numpat() == 2
    a.punsubscribe()
    wait_until(lambda: r.pubsub_numpat() == 0, timeout=5, what="NUMPAT 0")
    a.close()


def test_unsubscribe_all_counts(redge):
    c = redge.raw()
    c.send_command("SUBSCRIBE", "a", "b", "c")
    assert [c.read_reply() for _ in range(3)] == [
        [b"subscribe", b"a", 1], [b"subscribe", b"b", 2], [b"subscribe", b"c", 3]]
    c.send_command("PSUBSCRIBE", "x*")
    assert c.read_reply() == [b"psubscribe", b"x*", 4]
    c.send_command("UNSUBSCRIBE")
    got = [c.read_reply() for _ in range(3)]
    assert sorted(m[1] for m in got) == [b"a", b"b", b"c"]
    assert sorted(m[2] for m in got) == [1, 2, 3]
    assert all(m[0] == b"unsubscribe" for m in got)
    c.send_command("PUNSUBSCRIBE")
    assert c.read_reply() == [b"punsubscribe", b"x*", 0]
    # Out of subscribe mode: normal commands work again.
    assert c.call("SET", "k", "v") == "OK"
    # Unsubscribing with no subscription replies with a null channel.
    c.send_command("UNSUBSCRIBE")
    assert c.read_reply() == [b"unsubscribe", None, 0]


def test_resp2_subscribe_mode_restrictions(redge, r):
    c = redge.raw()
    c.send_command("SUBSCRIBE", "ch")
    assert c.read_reply() == [b"subscribe", b"ch", 1]
    assert c.call("GET", "k") == Error(
        "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
        "RESET are allowed in this context")
    assert c.call("SET", "k", "v") == Error(
        "ERR Can't execute 'set': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
        "RESET are allowed in this context")
    assert r.exists("k") == 0
    # PING in subscribe mode answers with a two-element array.
    c.send_command("PING")
    assert c.read_bytes(len(b"*2\r\n$4\r\npong\r\n$0\r\n\r\n")) == b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
    assert c.call("PING", "hi") == [b"pong", b"hi"]
    # Still subscribed and receiving.
    assert r.publish("ch", "msg") == 1
    assert c.read_reply() == [b"message", b"ch", b"msg"]
    # RESET leaves subscribe mode.
    assert c.call("RESET") == "RESET"
    assert r.publish("ch", "msg") == 0
    assert c.call("GET", "k") is None


def test_quit_in_subscribe_mode(redge, r):
    c = redge.raw()
    c.send_command("SUBSCRIBE", "ch")
    c.read_reply()
    c.send_command("QUIT")
    assert c.read_until_close() == b"+OK\r\n"
    wait_until(lambda: r.publish("ch", "x") == 0, timeout=5, what="subscriber gone")


def test_slow_subscriber_disconnected_at_output_limit(redge_factory):
    server = redge_factory("--pubsub-output-limit", "65536")
    pub = server.client()
    normal = server.client()
    calm = server.client().pubsub()
    subscribe_confirmed(calm, "subscribe", "calm")

    slow = RawConn(server.host, server.port, timeout=10, rcvbuf=4096)
    server._raws.append(slow)
    assert slow.call("CLIENT", "SETNAME", "slowsub") == "OK"
    slow.send_command("SUBSCRIBE", "flood")
    assert slow.read_reply() == [b"subscribe", b"flood", 1]
    # From here on the slow subscriber never reads.

    payload = "x" * 16384
    sent, receivers = 0, 1
    deadline = time.monotonic() + 60
    while receivers:
        receivers = pub.publish("flood", payload)
        sent += 1
        assert sent <= 4000, "subscriber never disconnected after 64 MB of messages"
        assert time.monotonic() < deadline, "publisher stalled by a slow subscriber"
        if sent % 50 == 0:
            assert normal.ping() is True
    # The publisher was never stalled, and the subscriber is gone: the server closes it.
    assert sent > 4, "disconnected before reaching 64 KiB of output"
    leftover = slow.read_until_close(timeout=20)
    assert len(leftover) < sent * len(payload)
    wait_until(lambda: "slowsub" not in [c["name"] for c in normal.client_list()],
               timeout=10, what="the slow subscriber to leave CLIENT LIST")
    assert normal.pubsub_numsub("flood") == [("flood", 0)]
    # Other clients are unaffected.
    assert normal.set("after", "flood") is True
    assert normal.get("after") == "flood"
    assert pub.publish("calm", "still here") == 1
    assert next_message(calm)["data"] == "still here"
    calm.close()
