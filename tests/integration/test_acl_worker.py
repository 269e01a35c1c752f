"""A legacy Redis worker confined by an ACL user to its queue, its progress channels and
its response keys: it serves jobs as before (BRPOP, PUBLISH, SET ... EX) and everything else
is refused with Redis's NOPERM errors; the admin sees the denials in ACL LOG."""

import json

import pytest
import redis

from integration_support import enqueue, wait_state

WORKER_RULES = ["on", ">worker-pw", "~redge:queue:demo", "~redge:response:*",
                "&redge:progress:*", "-@all", "+brpop", "+publish", "+set", "+@connection"]


@pytest.fixture
def server(redge_factory):
    return redge_factory("--requirepass", "admin-pw")


def test_confined_worker_serves_its_queue_and_nothing_else(server):
    admin = server.client(password="admin-pw")
    assert admin.execute_command("ACL", "SETUSER", "worker", *WORKER_RULES) == "OK"
    worker = server.worker("demo-worker", username="worker", password="worker-pw")
    job = enqueue(server.http, "demo", {"prompt": "hi"})
    _, envelope = worker.brpop("redge:queue:demo", timeout=5)
    job_id = json.loads(envelope)["id"]
    assert job_id == job["id"]
    assert worker.publish(f"redge:progress:{job_id}", json.dumps({"event": "chunk", "n": 1})) >= 0
    assert worker.set(f"redge:response:{job_id}", json.dumps({"answer": 42}), ex=60)
    done = wait_state(server.http, job_id, "completed")
    assert done["result"] == {"answer": 42}

    def refused(fn, *args):
        with pytest.raises(redis.exceptions.NoPermissionError) as e:
            fn(*args)
        return str(e.value)

    assert "no permissions to run the 'get'" in refused(worker.get, f"redge:job:{job_id}")
    assert "one of the keys" in refused(worker.set, f"redge:job:{job_id}", "forged")
    assert "no permissions to run the 'flushall'" in refused(worker.flushall)
    assert "no permissions to run the 'keys'" in refused(worker.keys, "*")
    assert "one of the keys" in refused(worker.brpop, "redge:queue:billing", 1)
    assert "one of the keys" in refused(worker.set, "anything", "x")
    assert "one of the channels" in refused(worker.publish, "other", "x")
    assert "no permissions to run the 'lpush'" in refused(worker.lpush, "redge:queue:demo", "x")
    log = admin.acl_log()
    reasons = {(e["reason"], e["object"]) for e in log}
    assert ("key", f"redge:job:{job_id}") in reasons and ("command", "flushall") in reasons
    assert ("channel", "other") in reasons
    # Wrong password: WRONGPASS, and an `auth` entry in the log naming the user only.
    with pytest.raises(redis.ResponseError, match="WRONGPASS"):
        server.client(username="worker", password="guess", single_connection_client=True).ping()
    entry = admin.acl_log(count=1)[0]
    assert entry["reason"] == "auth" and entry["username"] == "worker"
    assert "guess" not in repr(admin.acl_log())
