"""What redge sees of Celery tasks whose results it does not store, and that the revoke it
broadcasts is Celery's own.

- A worker whose results go to another backend (here the worker's own memory) and that
  sends task events (`-E`): redge learns the outcome from the events.
- The message redge PUBLISHes for DELETE ?terminate=true is, field for field, what
  `app.control.revoke(id, terminate=True)` publishes (but for the per-message delivery
  tag, Lamport clock and expiry stamp).
"""

import base64
import json
import time

import celery_support as cs

TIMEOUT = 60


def test_other_backend_with_task_events(redge_factory, procs, tmp_path):
    target = redge_factory()
    cs.copy_app(tmp_path)
    worker = cs.start_worker(procs, tmp_path, target.url, "wev", concurrency=1,
                             extra_args=["-E"], FW_BACKEND_URL="cache+memory://")
    app = cs.client_app(target.url)
    try:
        ok = app.send_task("app.add", args=(2, 3))
        bad = app.send_task("app.fail", args=(3,))
        for task_id, last in ((ok.id, "completed"), (bad.id, "failed")):
            stream = cs.SseStream(target.host, target.http_port, task_id)
            try:
                events = stream.until_terminal(TIMEOUT)
            finally:
                stream.close()
            assert cs.names(events) == ["queued", "started", last], events
            if last == "completed":
                # Events carry the result as Python's repr, not as JSON.
                assert events[-1]["data"] == {"result": "5"}
            else:
                assert events[-1]["data"] == {"error": "ValueError('boom 3')"}
            _, job = target.http.get(f"/v1/jobs/{task_id}")
            assert job["celery"]["outcome_source"] == "worker events"
            # The task-received event named the worker.
            assert job["celery"]["worker"].startswith("wev@")
        # Nothing was written to redge as a result backend.
        assert target.client().keys("celery-task-meta-*") == []
        assert worker.alive()
    finally:
        app.close()


def test_revoke_broadcast_is_what_app_control_revoke_sends(celery_env):
    env = celery_env
    sub = env.target.client().pubsub()
    sub.psubscribe("/0.celery.pidbox")
    deadline = time.monotonic() + TIMEOUT

    def next_message():
        while time.monotonic() < deadline:
            m = sub.get_message(timeout=1)
            if m and m["type"] == "pmessage":
                return json.loads(m["data"])
        raise AssertionError("no broadcast on /0.celery.pidbox")

    try:
        # Celery's own revoke of some id, then redge's revoke of a queued task.
        env.app.control.revoke("celery-made-this", terminate=True)
        theirs = next_message()
        res = env.app.send_task("app.add", args=(1, 2), queue="revoke-compare")
        status, _ = env.http.call("DELETE", f"/v1/jobs/{res.id}?terminate=true")
        assert status == 200
        ours = next_message()
    finally:
        sub.close()

    def body(m):
        return json.loads(base64.b64decode(m["body"]))

    assert body(theirs) == {"method": "revoke",
                            "arguments": {"task_id": "celery-made-this", "terminate": True,
                                          "signal": "SIGTERM"},
                            "destination": None, "pattern": None, "matcher": None}
    expected = body(theirs)
    expected["arguments"]["task_id"] = res.id
    assert body(ours) == expected
    assert list(body(ours)) == list(body(theirs))  # same key order, as json.dumps wrote it
    for m in (ours, theirs):
        m.pop("body")
        m["properties"].pop("delivery_tag")
        m["headers"]["clock"] = "N"
        assert m["headers"]["expires"] > time.time() - TIMEOUT
        m["headers"]["expires"] = "T"
    assert ours == theirs
