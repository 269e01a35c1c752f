"""Bad input gets the documented status and error code; the bearer token guards every
route but /healthz and /readyz."""

import json
import time

import pytest

from integration_support import enqueue, wait_until

UNKNOWN_ID = "0" * 12 + "f" * 24


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2", b"{\"a\": }", b"nul"])
def test_invalid_json_body_is_400(redge, http, r, body):
    reply = http.post("/v1/queues/bad/jobs", body=body,
                      headers={"Content-Type": "application/json"})
    assert reply.status == 400, reply
    assert reply.error_code() == "invalid_json"
    assert r.llen("redge:queue:bad") == 0


def test_any_json_value_is_a_payload(redge, http, r):
    for value in ("a string", 12, None, [1, {"b": 2}], True):
        reply = http.post("/v1/queues/vals/jobs", body=json.dumps(value),
                          headers={"Content-Type": "application/json"})
        assert reply.status == 202, (value, reply)
        env = json.loads(r.lindex("redge:queue:vals", 0))
        assert env["payload"] == value


def test_body_over_max_body_is_413(redge_factory):
    server = redge_factory("--max-body", "1024")
    http = server.http
    small = json.dumps({"text": "x" * 900})
    assert len(small) <= 1024
    assert http.post("/v1/queues/mb/jobs", body=small).status == 202
    big = json.dumps({"text": "x" * 2000})
    reply = http.post("/v1/queues/mb/jobs", body=big,
                      headers={"Content-Type": "application/json"})
    assert reply.status == 413, reply
    assert reply.error_code() == "payload_too_large"
    assert server.client().llen("redge:queue:mb") == 1


def test_unknown_job_is_404_everywhere(redge, http):
    for unknown in (UNKNOWN_ID, "not-a-job-id"):
        for method, path in [("GET", f"/v1/jobs/{unknown}"),
                             ("GET", f"/v1/jobs/{unknown}?after=0&wait=0.1"),
                             ("GET", f"/v1/jobs/{unknown}/events"),
                             ("DELETE", f"/v1/jobs/{unknown}")]:
            reply = http.request(method, path)
            assert reply.status == 404, reply
            assert reply.error_code() == "not_found", reply
    s = redge.sse(f"/v1/jobs/{UNKNOWN_ID}/events")
    assert s.head() == 404
    assert s.body_json()["error"]["code"] == "not_found"


def test_unknown_route_404_and_wrong_method_405(redge, http):
    reply = http.get("/v1/no-such-route")
    assert reply.status == 404 and reply.error_code() == "not_found", reply
    reply = http.get("/v1/queues/q/jobs")
    assert reply.status == 405, reply
    assert reply.error_code() == "method_not_allowed"
    assert "POST" in (reply.header("Allow") or ""), reply


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "3x"])
def test_malformed_last_event_id_is_400(redge, http, value):
    job_id = enqueue(http, "lei", {"x": 1})["id"]
    s = redge.sse(f"/v1/jobs/{job_id}/events", headers={"Last-Event-ID": value})
    assert s.head() == 400, s.http.body
    assert s.body_json()["error"]["code"] == "bad_request"


@pytest.mark.parametrize("query", ["after=abc", "after=-1", "after=1.5"])
def test_malformed_after_is_400_on_stream(redge, http, query):
    job_id = enqueue(http, "aft", {"x": 1})["id"]
    reply = http.get(f"/v1/jobs/{job_id}/events?{query}")
    assert reply.status == 400, reply
    assert reply.error_code() == "bad_request"


@pytest.mark.parametrize("query", ["after=abc", "after=-2", "wait=0", "wait=61", "wait=abc",
                                   "wait=-1", "after=1&wait=nan"])
def test_malformed_after_or_wait_is_400_on_long_poll(redge, http, query):
    job_id = enqueue(http, "lpbad", {"x": 1})["id"]
    reply = http.get(f"/v1/jobs/{job_id}?{query}")
    assert reply.status == 400, reply
    assert reply.error_code() == "bad_request"


@pytest.mark.parametrize("queue", ["bad%20queue", "x" * 129, "bad!q", "caf%C3%A9"])
def test_bad_queue_name_is_400(redge, http, queue):
    reply = http.post(f"/v1/queues/{queue}/jobs", json={"x": 1})
    assert reply.status == 400, reply
    assert reply.error_code() == "bad_request"
    reply = http.post(f"/v1/queues/{queue}/lease", params={"wait": 0})
    assert reply.status == 400, reply


def test_queue_name_edges_are_accepted(redge, http):
    for queue in ("A-z_0.9:-", "q" * 128, "x"):
        body = enqueue(http, queue, {"x": 1})
        assert body["queue"] == queue


def test_http_token(redge_factory):
    server = redge_factory("--http-token", "s3cret")
    anon = server.http
    authed = server.http_with_token("s3cret")
    wrong = server.http_with_token("nope")

    for client in (anon, wrong):
        reply = client.post("/v1/queues/tq/jobs", json={"x": 1})
        assert reply.status == 401, reply
        assert reply.error_code() == "unauthorized"
        assert client.get("/v1/queues").status == 401
        assert client.post("/chat", json={"message": "hi"}).status == 401
    assert server.client().llen("redge:queue:tq") == 0

    assert anon.get("/healthz").status == 200
    assert anon.get("/readyz").status == 200

    assert authed.get("/v1/queues").status == 200
    job_id = enqueue(authed, "tq", {"x": 1})["id"]
    assert authed.get(f"/v1/jobs/{job_id}").status == 200
    assert anon.get(f"/v1/jobs/{job_id}").status == 401

    # EventSource cannot set headers: ?access_token= on the SSE route.
    s = server.sse(f"/v1/jobs/{job_id}/events")
    assert s.head() == 401
    assert s.body_json()["error"]["code"] == "unauthorized"
    s = server.sse(f"/v1/jobs/{job_id}/events?access_token=nope")
    assert s.head() == 401
    s = server.sse(f"/v1/jobs/{job_id}/events?access_token=s3cret")
    assert s.head() == 200
    assert s.next_event().type == "queued"
    s = server.sse(f"/v1/jobs/{job_id}/events", headers={"Authorization": "Bearer s3cret"})
    assert s.head() == 200
    assert s.next_event().type == "queued"


def test_oversized_headers_are_431(redge, http):
    reply = http.get("/healthz", headers={"X-Big": "b" * (70 * 1024)})
    assert reply.status == 431, reply
    assert reply.error_code() == "request_header_fields_too_large"
    assert http.get("/healthz").status == 200


def test_result_ttl_expires_terminal_jobs(redge_factory):
    server = redge_factory("--result-ttl", "1")
    http = server.http
    done = enqueue(http, "ttl", {"x": 1})["id"]
    leased = http.post("/v1/queues/ttl/lease", params={"wait": 0}).json()
    assert leased["id"] == done
    assert http.post(f"/v1/jobs/{done}/complete", json={"result": 1},
                     headers={"X-Lease-Token": leased["lease_token"]}).status == 200
    waiting = enqueue(http, "ttl", {"x": 2})["id"]
    assert http.get(f"/v1/jobs/{done}").status == 200

    # Gone about a second after it finished: 404 on every route.
    t0 = time.monotonic()
    wait_until(lambda: http.get(f"/v1/jobs/{done}").status == 404, timeout=5,
               what="the finished job to expire")
    assert time.monotonic() - t0 > 0.3
    assert http.get(f"/v1/jobs/{done}/events").status == 404
    assert http.delete(f"/v1/jobs/{done}").status == 404
    # A job that is not terminal does not expire.
    assert http.get(f"/v1/jobs/{waiting}").json()["state"] == "queued"
