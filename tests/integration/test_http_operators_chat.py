"""Operator routes (/healthz, /readyz, /v1/queues) and the /chat routes: the chat API of
the deployments redge replaces."""

import json

from integration_support import JOB_ID_RE, enqueue, lease, wait_state, worker_call


def test_healthz_and_readyz(redge, http):
    reply = http.get("/healthz")
    assert reply.status == 200 and reply.json() == {"status": "ok"}, reply
    reply = http.get("/readyz")
    assert reply.status == 200 and reply.json() == {"ready": True}, reply


def _queues(http):
    reply = http.get("/v1/queues")
    assert reply.status == 200, reply
    return {q["queue"]: q for q in reply.json()["queues"]}


def test_queues_show_depth_and_running(redge, http):
    ids = [enqueue(http, "depthq", {"n": i})["id"] for i in range(3)]
    enqueue(http, "otherq", {"n": 0})
    leased = lease(http, "depthq", wait=0)
    assert leased["id"] == ids[0]
    worker = redge.worker("legacy")
    assert worker.brpop("redge:queue:otherq", timeout=5) is not None

    queues = _queues(http)
    assert queues["depthq"]["depth"] == 2 and queues["depthq"]["running"] == 1, queues
    assert queues["otherq"]["depth"] == 0 and queues["otherq"]["running"] == 1, queues
    for q in ("depthq", "otherq"):
        age = queues[q]["oldest_age_ms"]
        assert isinstance(age, int) and age >= 0, queues[q]

    assert worker_call(http, ids[0], "complete", leased["lease_token"], {"result": 1}).status == 200
    assert http.delete(f"/v1/jobs/{ids[1]}").status == 200
    queues = _queues(http)
    assert queues["depthq"]["depth"] == 1 and queues["depthq"]["running"] == 0, queues


def test_chat_routes(redge, http):
    reply = http.post("/chat", json={"message": "hi"})
    assert reply.status == 202, reply
    body = reply.json()
    job_id = body["correlation_id"]
    assert JOB_ID_RE.match(job_id) and body["id"] == job_id, body

    before = http.get(f"/chat/response/{job_id}")
    assert before.status == 202, before
    assert before.json() == {"correlation_id": job_id, "state": "queued"}

    stream = redge.sse(f"/chat/stream/{job_id}")
    assert stream.next_event().type == "queued"
    worker = redge.worker("chat-worker")
    popped = worker.brpop("redge:queue:chat", timeout=5)
    env = json.loads(popped[1])
    assert env["id"] == job_id and env["queue"] == "chat"
    assert env["payload"] == {"message": "hi"}
    assert stream.next_event().type == "started"
    running = http.get(f"/chat/response/{job_id}")
    assert running.status == 202 and running.json()["state"] == "running", running

    worker.set(f"redge:response:{job_id}", json.dumps({"content": "Hello!"}), ex=60)
    ev = stream.next_event()
    assert (ev.type, ev.json) == ("completed", {"result": {"content": "Hello!"}})
    stream.expect_end()

    after = http.get(f"/chat/response/{job_id}")
    assert after.status == 200, after
    assert after.json() == {"correlation_id": job_id, "state": "completed",
                            "response": {"content": "Hello!"}}


def test_chat_response_failed_canceled_and_unknown(redge, http):
    failed = http.post("/chat", json={"message": "boom"}).json()["id"]
    worker = redge.worker("chat-worker")
    assert worker.brpop("redge:queue:chat", timeout=5) is not None
    worker.set(f"redge:response:{failed}", json.dumps({"isError": True, "content": "no"}), ex=60)
    wait_state(http, failed, "failed")
    reply = http.get(f"/chat/response/{failed}")
    assert reply.status == 200, reply
    assert reply.json()["state"] == "failed" and reply.json()["error"] == "no", reply
    assert "response" not in reply.json() or reply.json()["response"] is None

    canceled = http.post("/chat", json={"message": "never mind"}).json()["id"]
    assert http.delete(f"/v1/jobs/{canceled}").status == 200
    reply = http.get(f"/chat/response/{canceled}")
    assert reply.status == 200, reply
    assert reply.json()["state"] == "canceled" and reply.json().get("error") is not None, reply

    reply = http.get("/chat/response/" + "0" * 12 + "f" * 24)
    assert reply.status == 404 and reply.error_code() == "not_found", reply
    reply = http.post("/chat", body="{oops", headers={"Content-Type": "application/json"})
    assert reply.status == 400 and reply.error_code() == "invalid_json", reply
