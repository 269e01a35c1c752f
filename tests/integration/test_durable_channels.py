"""Durable channels (--durable-channels, --channel-history): a PUBLISH on a matching
channel is delivered live and kept in the stream redge:channel:{channel}; late readers
replay it with XREAD over RESP, or over HTTP (SSE with Last-Event-ID, long-poll), and a
reader whose position is older than the retention gets an explicit `missed` notice.

Real redge, real redis-py and raw RESP/HTTP sockets; every wait has a deadline.
"""

import socket
import time

import pytest

import integration_support as sup

DURABLE = ("--durable-channels", "job:*,model:*")


class RawSubscriber:
    """A RESP connection in SUBSCRIBE mode, read on its own socket (as a legacy client)."""

    def __init__(self, port, channel):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        ch = channel.encode()
        self.sock.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%s\r\n" % (len(ch), ch))
        assert self.read_message() == [b"subscribe", ch, 1]

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            assert chunk, "the subscriber connection closed"
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _value(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            while len(self.buf) < n + 2:
                self.buf += self.sock.recv(65536)
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if kind in (b"*", b">"):
            return [self._value() for _ in range(int(rest))]
        raise AssertionError(f"unexpected RESP line {line!r}")

    def read_message(self, timeout=10):
        self.sock.settimeout(timeout)
        return self._value()

    def close(self):
        self.sock.close()


def test_late_subscriber_replays_with_xread_and_gets_the_rest_live(redge_factory):
    redge = redge_factory(*DURABLE)
    r = redge.client()
    channel, key = "job:42", "redge:channel:job:42"
    for i in range(3):
        assert r.publish(channel, f"m{i}") == 0  # nobody subscribed yet: delivered to none
    # The late subscriber: live messages on SUBSCRIBE, history with XREAD.
    sub = RawSubscriber(redge.resp_port, channel)
    try:
        history = r.xread({key: "0"})
        assert [f["message"] for _, f in history[0][1]] == ["m0", "m1", "m2"]
        last = history[0][1][-1][0]
        for i in range(3, 5):
            assert r.publish(channel, f"m{i}") == 1
        live = [sub.read_message() for _ in range(2)]
        assert live == [[b"message", channel.encode(), b"m3"],
                        [b"message", channel.encode(), b"m4"]]
        rest = r.xread({key: last})
        assert [f["message"] for _, f in rest[0][1]] == ["m3", "m4"]
        # A subscriber that missed nothing and one that replayed agree on the whole list.
        assert [f["message"] for _, f in r.xrange(key)] == [f"m{i}" for i in range(5)]
    finally:
        sub.close()
    # A channel no glob matches is not kept; its HTTP routes say so.
    r.publish("chat:1", "x")
    assert r.exists("redge:channel:chat:1") == 0
    reply = redge.http.get("/v1/channels/chat:1/messages", params={"after": "0"})
    assert reply.status == 404 and reply.json()["error"]["code"] == "not_found", reply


def test_xread_block_is_woken_by_a_publish(redge_factory):
    redge = redge_factory(*DURABLE)
    r = redge.client()
    reader = redge.client(socket_timeout=30)
    r.publish("model:chunk", "first")
    pending = {}

    import threading

    def read():
        pending["reply"] = reader.xread({"redge:channel:model:chunk": "$"}, block=20000)

    t = threading.Thread(target=read, daemon=True)
    t.start()
    sup.wait_until(lambda: r.info("clients")["blocked_clients"] >= 1, what="XREAD to block")
    started = time.monotonic()
    r.publish("model:chunk", "second")
    t.join(10)
    assert not t.is_alive(), "XREAD BLOCK was not woken by the PUBLISH"
    assert time.monotonic() - started < 5
    assert [f["message"] for _, f in pending["reply"][0][1]] == ["second"]


def test_publish_in_multi_is_kept_only_if_executed(redge_factory):
    redge = redge_factory(*DURABLE)
    r = redge.client()
    p = r.pipeline(transaction=True)
    p.publish("job:m", "a").publish("job:m", "b")
    p.execute()
    c = redge.client(single_connection_client=True)
    assert c.execute_command("MULTI")
    c.execute_command("PUBLISH", "job:m", "discarded")
    assert c.execute_command("DISCARD")  # never published, never kept
    assert [f["message"] for _, f in r.xrange("redge:channel:job:m")] == ["a", "b"]
    # A script's PUBLISH joins its transaction too.
    r.eval("return redis.call('PUBLISH', ARGV[1], 'c')", 0, "job:m")
    assert [f["message"] for _, f in r.xrange("redge:channel:job:m")] == ["a", "b", "c"]


def test_retention_by_count_and_missed_over_sse_and_longpoll(redge_factory):
    redge = redge_factory(*DURABLE, "--channel-history", "3")
    r = redge.client()
    for i in range(5):
        r.publish("job:7", f"m{i}")
    entries = r.xrange("redge:channel:job:7")
    assert [f["message"] for _, f in entries] == ["m2", "m3", "m4"]
    ids = [e[0] for e in entries]
    # The last id the retention removed is the stream's max-deleted-entry-id.
    info = r.xinfo_stream("redge:channel:job:7")
    removed = info["max-deleted-entry-id"]
    assert sup_id(removed) < sup_id(ids[0])
    assert info["entries-added"] == 5 and info["length"] == 3

    # Long-poll from before the retention: missed, then what is kept.
    body = redge.http.get("/v1/channels/job:7/messages", params={"after": "1-0"}).json()
    assert body["missed"]["after"] == "1-0"
    assert body["missed"]["resume"] == removed
    assert body["missed"]["first_id"] == ids[0]
    assert [m["data"] for m in body["messages"]] == ["m2", "m3", "m4"]
    assert body["last_id"] == ids[-1]
    # From a kept id: nothing missed.
    body = redge.http.get("/v1/channels/job:7/messages", params={"after": ids[0]}).json()
    assert "missed" not in body and [m["data"] for m in body["messages"]] == ["m3", "m4"]

    # SSE with a Last-Event-ID older than the retention: ready, missed, the kept messages.
    s = redge.sse("/v1/channels/job:7/events", headers={"Last-Event-ID": "1-0"})
    ready, missed, *msgs = s.events(5)
    assert ready.type == "ready" and ready.id == "1-0"
    assert missed.type == "missed" and missed.id == removed
    assert missed.json["resume"] == removed and missed.json["first_id"] == ids[0]
    assert [(m.id, m.type, m.data) for m in msgs] == [(ids[i], "message", f"m{i + 2}")
                                                      for i in range(3)]
    r.publish("job:7", "m5")
    live = s.next_event()
    assert live.type == "message" and live.data == "m5"
    # m5 pushed m2 out: the retention's last removed id moved, and resuming from it
    # reports nothing missed.
    removed = r.xinfo_stream("redge:channel:job:7")["max-deleted-entry-id"]
    assert removed == ids[0]
    s2 = redge.sse("/v1/channels/job:7/events", headers={"Last-Event-ID": removed})
    ready2, first = s2.events(2)
    assert ready2.type == "ready" and first.type == "message" and first.data == "m3"


def sup_id(text):
    ms, seq = text.split("-")
    return int(ms), int(seq)


def test_retention_by_age_expires_the_stream_and_reports_missed(redge_factory):
    redge = redge_factory(*DURABLE, "--channel-history", "100,1")
    r = redge.client()
    key = "redge:channel:job:age"
    r.publish("job:age", "old")
    old_id = r.xrange(key)[0][0]
    assert 0 < r.pttl(key) <= 1000
    # Time passes (the retention is about age): a PUBLISH once "old" is over a second old
    # drops it, and keeps "mid".
    sup.wait_until(lambda: sup.now_ms() > sup_id(old_id)[0] + 500, what="half a second")
    r.publish("job:age", "mid")
    sup.wait_until(lambda: sup.now_ms() > sup_id(old_id)[0] + 1050, what="'old' to age")
    r.publish("job:age", "new")
    entries = r.xrange(key)
    assert [f["message"] for _, f in entries] == ["mid", "new"]
    body = redge.http.get("/v1/channels/job:age/messages", params={"after": old_id}).json()
    assert "missed" not in body, body  # the reader had "old": it lost nothing
    body = redge.http.get("/v1/channels/job:age/messages", params={"after": "0"}).json()
    assert body["missed"]["resume"] == old_id
    assert [m["data"] for m in body["messages"]] == ["mid", "new"]
    new_id = entries[-1][0]
    # Nobody publishes: the stream expires whole a second after its last message.
    sup.wait_until(lambda: r.exists(key) == 0, what="the idle channel's stream to expire")
    body = redge.http.get("/v1/channels/job:age/messages", params={"after": new_id}).json()
    assert body["messages"] == [] and body["missed"]["after"] == new_id, body
    assert body["missed"]["first_id"] is None
    # The position moved past the gap: reading on from it reports nothing more, and a
    # message published now follows.
    r.publish("job:age", "later")
    body = redge.http.get("/v1/channels/job:age/messages",
                          params={"after": body["last_id"]}).json()
    assert "missed" not in body and [m["data"] for m in body["messages"]] == ["later"], body


def test_sse_resume_delivers_exactly_what_was_published_in_between(redge_factory):
    redge = redge_factory(*DURABLE)
    r = redge.client()
    s = redge.sse("/v1/channels/job:r/events")
    assert s.head() == 200
    assert s.header("content-type").startswith("text/event-stream")
    ready = s.next_event()
    assert ready.type == "ready" and ready.id == "0-0" and ready.json["last_id"] == "0-0"
    r.publish("job:r", "one")
    one = s.next_event()
    assert one.type == "message" and one.data == "one"
    s.close()
    r.publish("job:r", "two")
    r.publish("job:r", "line 1\nline 2")
    s2 = redge.sse("/v1/channels/job:r/events", headers={"Last-Event-ID": one.id})
    ready, two, three = s2.events(3)
    assert ready.id == one.id
    assert (two.data, three.data) == ("two", "line 1\nline 2")
    # ?after= works too (EventSource's first connection), the header wins over it.
    s3 = redge.sse(f"/v1/channels/job:r/events?after={two.id}")
    assert [e.data for e in s3.events(2)][1] == "line 1\nline 2"
    # A RESP client's XADD to the channel's stream reaches the open readers too.
    r.xadd("redge:channel:job:r", {"message": "from xadd"})
    assert s2.next_event().data == "from xadd"
    assert s3.next_event().data == "from xadd"


def test_channel_and_job_streams_share_the_stream_cap(redge_factory):
    redge = redge_factory(*DURABLE, "--sse-max-streams", "2")
    r = redge.client()
    job = redge.http.post("/v1/queues/cap/jobs", json={"payload": {}}).json()["id"]
    s1 = redge.sse("/v1/channels/job:cap/events")
    assert s1.head() == 200 and s1.next_event().type == "ready"
    s2 = redge.sse(f"/v1/jobs/{job}/events")
    assert s2.head() == 200 and s2.next_event().type == "queued"
    # Full: a third stream of either kind is refused with a retry hint, and keeps nothing.
    for path in ("/v1/channels/job:cap/events", f"/v1/jobs/{job}/events"):
        s = redge.sse(path, headers={"X-Correlation-ID": "cap-1"})
        assert s.head() == 503, path
        assert s.header("Retry-After") == "2"
        assert s.header("X-Correlation-ID") == "cap-1"
        assert s.body_json()["error"]["code"] == "too_many_streams"
        s.close()
    # The refused channel stream left no watcher behind: the open one still gets messages.
    r.publish("job:cap", "after refusal")
    assert s1.next_event().data == "after refusal"
    # Closing the channel stream frees its slot for a job stream.
    s1.close()
    deadline = time.monotonic() + 10
    while True:
        s3 = redge.sse(f"/v1/jobs/{job}/events")
        if s3.head() == 200:
            break
        s3.close()
        assert time.monotonic() < deadline, "the closed channel stream kept its slot"
        time.sleep(0.05)
    assert s3.next_event().type == "queued"


def test_longpoll_parks_until_a_message(redge_factory):
    redge = redge_factory(*DURABLE)
    r = redge.client()
    r.publish("job:p", "before")
    pending = redge.http.start("GET", "/v1/channels/job:p/messages", params={"wait": "10"},
                               timeout=15)
    pending.assert_no_reply(0.3)  # parked: "before" is not new
    started = time.monotonic()
    r.publish("job:p", "after")
    reply, at = pending.reply(10)
    assert reply.status == 200 and at - started < 2, reply
    body = reply.json()
    assert [m["data"] for m in body["messages"]] == ["after"]
    assert body["last_id"] == body["messages"][0]["id"]
    # A timeout answers with nothing new and the same position.
    reply = redge.http.get("/v1/channels/job:p/messages",
                           params={"after": body["last_id"], "wait": "0.2"})
    assert reply.json()["messages"] == [] and reply.json()["last_id"] == body["last_id"]


@pytest.mark.parametrize("path", ["events", "messages"])
def test_bad_requests_and_auth(redge_factory, path):
    redge = redge_factory(*DURABLE, "--http-token", "s3cret")
    http = redge.http_with_token("s3cret")
    assert redge.http.get(f"/v1/channels/job:1/{path}").status == 401
    assert redge.http.get(f"/v1/channels/job:1/{path}", params={"after": "0"}).status == 401
    bad = http.get(f"/v1/channels/job:1/{path}", params={"after": "x-1"})
    assert bad.status == 400 and bad.json()["error"]["code"] == "bad_request", bad
    assert http.get(f"/v1/channels/nope/{path}").status == 404
    if path == "messages":
        ok = redge.http.get(f"/v1/channels/job:1/{path}",
                            params={"after": "0", "access_token": "s3cret"})
        assert ok.status == 200 and ok.json() == {"channel": "job:1", "messages": [],
                                                "last_id": "0-0"}, ok
        assert http.get(f"/v1/channels/job:1/{path}", params={"wait": "61"}).status == 400


def test_api_keys_subscribe_to_the_channels_their_glob_names(redge_factory, tmp_path):
    import access_support as acc
    keys = {"rd": acc.new_key(), "pr": acc.new_key(), "wk": acc.new_key(),
            "other": acc.new_key()}
    keyfile = acc.write_api_keys(tmp_path / "api-keys", [
        ("reader", "job:*", keys["rd"], "rd"), ("producer", "job:*", keys["pr"], "pr"),
        ("worker", "*", keys["wk"], "wk"), ("reader", "model:*", keys["other"], "other")])
    redge = redge_factory(*DURABLE, "--api-keys", keyfile)
    redge.client().publish("job:7", "hello")
    for name in ("rd", "pr"):
        reply = redge.http_with_token(keys[name]).get("/v1/channels/job:7/messages",
                                                       params={"after": "0"})
        assert reply.status == 200, reply
        assert [m["data"] for m in reply.json()["messages"]] == ["hello"]
    for name in ("wk", "other"):
        for path in ("messages", "events"):
            reply = redge.http_with_token(keys[name]).get(f"/v1/channels/job:7/{path}",
                                                          params={"after": "0"})
            assert reply.status == 403, reply
            assert reply.json()["error"]["code"] == "forbidden_subscribe"
