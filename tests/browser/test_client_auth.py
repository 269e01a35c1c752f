"""client.js with expiring credentials, in headless Chromium: an app backend (here, its
API key) enqueues and hands the page the job's short-lived stream_token; the stream ends
with `auth_expired` each time the token expires, watch() calls the page's refreshToken()
and resumes after the last delivered event: every event arrives exactly once, including
those published while no stream was open. Without refreshToken() watch() reports
`unauthorized`.
"""

import hashlib
import json
import secrets

from test_client_js import (WAIT_S, assert_events_exactly_once_in_order, chunks, open_test_page,
                            start_job, state, wait_state)


def backend_server(redge_factory, tmp_path, ttl):
    key = "rk_" + secrets.token_urlsafe(32)
    keyfile = tmp_path / "api-keys"
    keyfile.write_text(f"producer * {hashlib.sha256(key.encode()).hexdigest()} app\n")
    return redge_factory("--api-keys", keyfile, "--stream-token-ttl", str(ttl)), key


def pop_job(w, expected_id):
    _, envelope = w.brpop("redge:queue:browser", timeout=WAIT_S)
    job_id = json.loads(envelope)["id"]
    assert job_id == expected_id
    return job_id


def test_refresh_on_auth_expired_delivers_every_event_once(redge_factory, proxy_factory,
                                                           tmp_path, page, worker):
    server, key = backend_server(redge_factory, tmp_path, ttl=3)
    proxy = proxy_factory(server)
    w = worker("auth-worker", server)
    open_test_page(page, proxy)
    job = start_job(page, "browser", {"prompt": "refresh"}, submit_opts={"token": key},
                    watch_opts={"useStreamToken": True, "refreshKey": key, "gated": True})
    job_id = pop_job(w, job["id"])
    n = 0

    def publish(count):
        nonlocal n
        for _ in range(count):
            w.publish(f"redge:progress:{job_id}", json.dumps({"event": "chunk", "n": n}))
            n += 1

    for round_ in range(1, 3):
        publish(3)
        wait_state(page, lambda s: len(chunks(s)) == n, f"{n} chunks (round {round_})")
        # The token expires: the stream says auth_expired and watch() asks the page for a
        # fresh token (held at the gate). No stream is open now: events published meanwhile
        # must come after the refresh, once.
        wait_state(page, lambda s: s["refreshRequests"] == round_, f"refresh request {round_}")
        publish(4)
        page.evaluate("window.testApi.releaseRefresh()")
        wait_state(page, lambda s: s["refreshes"] == round_ and len(chunks(s)) == n,
                   f"{n} chunks after refresh {round_}")
    w.set(f"redge:response:{job_id}", '{"ok":true}')
    s = wait_state(page, lambda s: s["done"] is not None, "onDone")
    assert chunks(s) == list(range(n)), chunks(s)
    assert_events_exactly_once_in_order(s)
    assert s["done"]["state"] == "completed" and s["doneCount"] == 1
    assert "unauthorized" not in s["statuses"], s["statuses"]
    assert s["statuses"].count("reconnecting") >= 2 and s["statuses"][-1] == "done", s["statuses"]
    assert s["errors"] == [], s["errors"]
    # The refreshes really went through auth_expired: the server ended streams that way.
    assert not any(e["event"] == "auth_expired" for e in s["events"])


def test_without_refresh_watch_reports_unauthorized(redge_factory, proxy_factory, tmp_path,
                                                    page, worker):
    server, key = backend_server(redge_factory, tmp_path, ttl=2)
    proxy = proxy_factory(server)
    w = worker("auth-worker", server)
    open_test_page(page, proxy)
    job = start_job(page, "browser", {"prompt": "no refresh"}, submit_opts={"token": key},
                    watch_opts={"useStreamToken": True})
    job_id = pop_job(w, job["id"])
    w.publish(f"redge:progress:{job_id}", json.dumps({"event": "chunk", "n": 0}))
    s = wait_state(page, lambda s: s["statuses"][-1:] == ["unauthorized"], "status unauthorized")
    assert chunks(s) == [0]
    assert_events_exactly_once_in_order(s)
    assert s["done"] is None and s["errors"] == [], s
    # Nothing more is requested once unauthorized.
    seen = len(proxy.requests)
    page.evaluate("new Promise(r => setTimeout(r, 1500))")
    assert len(proxy.requests) == seen, proxy.requests[seen:]
    assert state(page)["statuses"][-1] == "unauthorized"
