"""client.js in a real browser: submit() and watch() over SSE, through cuts of the
stream and a refused-SSE window that forces the long-poll fallback.

The page (tests/browser/static/page.html + page.js) is served by the proxy on the API's
origin; it records every onEvent/onStatus/onDone in window.testState. Every wait polls
the page or the proxy with a deadline.
"""

import json
import re
import threading
import time

import pytest

JOB_ID_RE = re.compile(r"^[0-9a-f]{36}$")
WAIT_S = 60  # generous: a loaded 2-core machine runs chromium and redge


def open_test_page(page, proxy):
    page.navigate(f"{proxy.base}/test/page.html")
    page.wait_for("window.testState && (window.testState.loaded || window.testState.loadError)",
                  timeout=WAIT_S, what="the test page to load /v1/client.js")
    err = page.evaluate("window.testState.loadError")
    assert err is None, f"/v1/client.js did not load: {err}; console: {page.console}"


def state(page):
    return page.evaluate("JSON.parse(JSON.stringify(window.testState))")


def wait_state(page, pred, what, timeout=WAIT_S):
    deadline = time.monotonic() + timeout
    while True:
        s = state(page)
        if pred(s):
            return s
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; page state: "
                                 f"{json.dumps(summary(s))}; console: {page.console[-20:]}")
        time.sleep(0.05)


def summary(s):
    return {"statuses": s["statuses"], "n_events": len(s["events"]),
            "last_events": s["events"][-5:], "done": s["done"], "errors": s["errors"]}


def chunks(s):
    return [e["data"]["n"] for e in s["events"] if e["event"] == "chunk"]


def start_job(page, queue, payload, submit_opts=None, watch_opts=None):
    arg = {"queue": queue, "payload": payload, "submitOpts": submit_opts or {},
           "watchOpts": watch_opts or {}}
    job = page.evaluate(f"window.testApi.start({json.dumps(arg)})", timeout=WAIT_S)
    assert isinstance(job, dict), f"submit() resolved to {job!r}"
    assert JOB_ID_RE.match(job.get("id", "")), f"submit() answer without a job id: {job}"
    return job


def assert_events_exactly_once_in_order(s):
    ids = [int(e["id"]) for e in s["events"]]
    assert ids == list(range(1, len(ids) + 1)), (
        f"event ids are not 1..N each exactly once in order: {ids}")
    assert s["eventsAfterDone"] == 0, "onEvent called after onDone"


def test_submit_and_watch_50_chunks(page, proxy, worker):
    w = worker()
    popped = {}

    def run_worker():
        try:
            _, envelope = w.brpop("redge:queue:browser", timeout=WAIT_S)
            job_id = json.loads(envelope)["id"]
            popped["id"] = job_id
            for i in range(50):
                w.publish(f"redge:progress:{job_id}", json.dumps({"event": "chunk", "n": i}))
            w.set(f"redge:response:{job_id}", '{"ok":true}')
        except Exception as e:  # reported by the main thread
            popped["error"] = repr(e)

    t = threading.Thread(target=run_worker, daemon=True)
    t.start()
    open_test_page(page, proxy)
    job = start_job(page, "browser", {"prompt": "fifty chunks"},
                    submit_opts={"correlationId": "browser-test-1"})
    assert job["queue"] == "browser"
    assert job["state"] == "queued"
    assert job["correlation_id"] == "browser-test-1"
    assert job["events_url"] and job["status_url"], job

    s = wait_state(page, lambda s: s["done"] is not None, "onDone")
    t.join(timeout=WAIT_S)
    assert "error" not in popped, f"worker: {popped['error']}"
    assert popped.get("id") == job["id"]

    assert chunks(s) == list(range(50)), f"chunks shown: {chunks(s)}"
    assert_events_exactly_once_in_order(s)
    types = [e["event"] for e in s["events"]]
    assert types[0] == "queued" and types[-1] == "completed", types
    assert s["done"]["state"] == "completed", s["done"]
    assert s["done"]["result"] == {"ok": True}, s["done"]
    assert s["doneCount"] == 1
    assert all(e["hasRaw"] for e in s["events"]), "onEvent without raw"
    assert "live" in s["statuses"] and s["statuses"][-1] == "done", s["statuses"]
    assert s["errors"] == [], s["errors"]
    # The page really shows them: one list item per event.
    assert page.evaluate("document.querySelectorAll('#events li').length") == len(s["events"])


@pytest.mark.parametrize("refusal", ["503", "close"])
def test_watch_survives_cuts_and_falls_back_to_polling(page, proxy, worker, refusal):
    w = worker()
    open_test_page(page, proxy)
    # Cut the first SSE responses after 3 events, then mid-event after 150 bytes.
    proxy.plan_cuts(("events", 3), ("bytes", 150))
    job = start_job(page, "browser", {"prompt": "faults"},
                    watch_opts={"pollAfterFailures": 2, "sseRetryMs": 4000})
    _, envelope = w.brpop("redge:queue:browser", timeout=WAIT_S)
    job_id = json.loads(envelope)["id"]
    assert job_id == job["id"]
    channel = f"redge:progress:{job_id}"
    n = 0

    def publish(count):
        nonlocal n
        for _ in range(count):
            w.publish(channel, json.dumps({"event": "chunk", "n": n}))
            n += 1

    def wait_chunks(what):
        return wait_state(page, lambda s: len(chunks(s)) >= n, f"{n} chunks ({what})")

    # Phase 1: the planned cuts (after 3 events: queued, started, chunk 0; then at 150
    # bytes, inside an event) and 3 more cuts on demand, each after new events arrived.
    publish(5)
    wait_chunks("through the planned cuts")
    for step in range(3):
        # Wait until a stream is open (so the cut hits a live stream), cut it, publish.
        wait_until(lambda: proxy.open_sse_count() > 0, f"an SSE stream to cut (step {step})", proxy)
        assert proxy.cut_open_sse() >= 1
        publish(4)
        wait_chunks(f"after on-demand cut {step}")
    st = proxy.stats()
    assert st["sse_cuts"] >= 5, st
    s = state(page)
    assert "reconnecting" in s["statuses"], s["statuses"]

    # Phase 2: SSE refused; the open stream is cut; watch() must go to long-polling.
    proxy.refuse_sse(refusal)
    proxy.cut_open_sse()
    wait_state(page, lambda s: s["statuses"][-1:] == ["polling"], "status 'polling'")
    publish(6)
    wait_chunks("while polling")
    publish(3)
    wait_chunks("while polling, second batch")
    st = proxy.stats()
    assert st["longpolls"] >= 1, st
    assert st["sse_refused"] >= 1, st

    # Phase 3: SSE allowed again; after sseRetryMs the watch returns to SSE.
    forwarded = proxy.stats()["sse_forwarded"]
    proxy.allow_sse()
    wait_until(lambda: proxy.stats()["sse_forwarded"] > forwarded and proxy.open_sse_count() > 0,
               "watch() to return to SSE after sseRetryMs", proxy, timeout=WAIT_S)
    publish(5)
    s = wait_chunks("back on SSE")
    i = max(i for i, x in enumerate(s["statuses"]) if x == "polling")
    assert "live" in s["statuses"][i:], f"no 'live' after 'polling': {s['statuses']}"

    w.set(f"redge:response:{job_id}", '{"ok":true}')
    s = wait_state(page, lambda s: s["done"] is not None, "onDone")
    assert chunks(s) == list(range(n)), f"chunks shown: {chunks(s)}"
    assert_events_exactly_once_in_order(s)
    assert s["events"][-1]["event"] == "completed"
    assert s["done"]["state"] == "completed" and s["done"]["result"] == {"ok": True}, s["done"]
    assert s["doneCount"] == 1
    assert s["statuses"][-1] == "done", s["statuses"]
    assert "polling" in s["statuses"] and "reconnecting" in s["statuses"], s["statuses"]
    assert s["errors"] == [], s["errors"]
    # Nothing reconnects after done: the counters stay put.
    st = proxy.stats()
    page.evaluate("new Promise(r => setTimeout(r, 1000))")
    assert proxy.stats()["sse_requests"] == st["sse_requests"], (st, proxy.stats())


def wait_until(pred, what, proxy, timeout=WAIT_S):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; proxy: "
                                 f"{proxy.stats()}; last requests: {proxy.requests[-10:]}")
        time.sleep(0.05)


def test_watch_ends_when_the_job_is_deleted(page, proxy, worker):
    """FLUSHALL over RESP while watched: the stream's `gone` event ends the watch."""
    w = worker()
    open_test_page(page, proxy)
    job = start_job(page, "browser", {"prompt": "deleted"})
    _, envelope = w.brpop("redge:queue:browser", timeout=WAIT_S)
    assert json.loads(envelope)["id"] == job["id"]
    wait_state(page, lambda s: [e["event"] for e in s["events"]] == ["queued", "started"],
               "queued and started")
    w.flushall()
    s = wait_state(page, lambda s: s["done"] is not None, "onDone after FLUSHALL")
    assert s["done"]["state"] == "not_found", s["done"]
    assert job["id"] in s["done"]["error"], s["done"]
    assert s["doneCount"] == 1 and s["errors"] == [], s
