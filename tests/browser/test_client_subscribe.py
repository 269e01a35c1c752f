"""client.js subscribe() on a durable channel in a real browser: every message exactly
once and in order while the fault-injecting proxy cuts the SSE stream (between events
and inside one), refuses SSE (forcing the long-poll fallback) and lets it back; and the
explicit `missed` notice for a position older than the channel's retention.

Messages are published by a plain Redis client (PUBLISH over RESP), as a backend does.
"""

import json

import pytest

from test_client_js import WAIT_S, open_test_page, state, wait_state, wait_until


def subscribe(page, channel, **opts):
    arg = json.dumps({"channel": channel, "opts": opts})
    assert page.evaluate(f"(() => {{ const a = {arg}; "
                         f"return window.testApi.subscribe(a.channel, a.opts); }})()") is True


def texts(s):
    return [m["data"] for m in s["messages"]]


@pytest.mark.redge_flags("--durable-channels", "room:*", "--channel-history", "1000")
@pytest.mark.parametrize("refusal", ["503", "close"])
def test_subscribe_exactly_once_across_cuts_and_polling(page, proxy, worker, refusal):
    w = worker()
    channel = "room:lobby"
    open_test_page(page, proxy)
    proxy.plan_cuts(("events", 3), ("bytes", 150))
    subscribe(page, channel, pollAfterFailures=2, sseRetryMs=4000)
    # "New messages only": wait until the stream is open before the first publish.
    wait_state(page, lambda s: "live" in s["statuses"], "status 'live'")
    sent = []

    def publish(count):
        for _ in range(count):
            text = f"msg {len(sent)} " + "x" * 40
            w.publish(channel, text)
            sent.append(text)

    def wait_all(what):
        return wait_state(page, lambda s: len(s["messages"]) >= len(sent),
                          f"{len(sent)} messages ({what})")

    publish(6)  # through the planned cuts: after 3 events (ready + 2), then at 150 bytes
    wait_all("through the planned cuts")
    for step in range(3):
        wait_until(lambda: proxy.open_sse_count() > 0, f"an SSE stream to cut ({step})", proxy)
        assert proxy.cut_open_sse() >= 1
        publish(4)  # published while the browser reconnects
        wait_all(f"after cut {step}")
    assert proxy.stats()["sse_cuts"] >= 5, proxy.stats()
    assert "reconnecting" in state(page)["statuses"]

    proxy.refuse_sse(refusal)
    proxy.cut_open_sse()
    publish(3)  # published while nothing is connected
    wait_state(page, lambda s: s["statuses"][-1:] == ["polling"], "status 'polling'")
    publish(5)
    wait_all("while polling")
    assert proxy.stats()["longpolls"] >= 1, proxy.stats()

    forwarded = proxy.stats()["sse_forwarded"]
    proxy.allow_sse()
    wait_until(lambda: proxy.stats()["sse_forwarded"] > forwarded and proxy.open_sse_count() > 0,
               "subscribe() to return to SSE after sseRetryMs", proxy)
    publish(5)
    s = wait_all("back on SSE")

    # Exactly once, in order, nothing else: the same list as published.
    assert texts(s) == sent, f"shown {texts(s)}"
    ids = [m["id"] for m in s["messages"]]
    keys = [tuple(int(p) for p in i.split("-")) for i in ids]
    assert keys == sorted(keys) and len(set(keys)) == len(keys), ids
    # The ids are the stream's: XRANGE over RESP lists the same messages.
    entries = w.xrange(f"redge:channel:{channel}")
    assert [e[0] for e in entries] == ids
    assert [e[1]["message"] for e in entries] == sent
    assert s["missed"] == [], s["missed"]
    assert s["errors"] == [], s["errors"]
    assert page.evaluate("document.querySelectorAll('#events li').length") == len(sent)
    # Nothing more arrives later (no replays after a reconnect).
    page.evaluate("new Promise(r => setTimeout(r, 1000))")
    assert len(state(page)["messages"]) == len(sent)


@pytest.mark.redge_flags("--durable-channels", "room:*", "--channel-history", "3")
def test_subscribe_from_an_id_older_than_the_retention_reports_missed(page, proxy, worker):
    w = worker()
    channel = "room:small"
    for i in range(5):
        w.publish(channel, f"m{i}")
    open_test_page(page, proxy)
    subscribe(page, channel, after="0")
    s = wait_state(page, lambda s: len(s["messages"]) >= 3, "the 3 messages kept")
    assert texts(s) == ["m2", "m3", "m4"]
    assert len(s["missed"]) == 1, s["missed"]
    missed = s["missed"][0]
    first_kept = w.xrange(f"redge:channel:{channel}")[0][0]
    assert missed["after"] == "0-0" and missed["first_id"] == first_kept, missed
    w.publish(channel, "m5")
    s = wait_state(page, lambda s: len(s["messages"]) >= 4, "the live message")
    assert texts(s) == ["m2", "m3", "m4", "m5"] and len(s["missed"]) == 1, s
    assert s["errors"] == [], s["errors"]
