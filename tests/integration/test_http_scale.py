"""1,000 concurrent SSE streams, each receiving its own job's events, while the server
keeps answering other requests quickly."""

import json
import resource
import threading
import time

import pytest

from integration_support import KeepAlive, SseSwarm, enqueue, raise_nofile_limit
from redge_process import time_scale

N_STREAMS = 1000


def test_thousand_concurrent_streams(redge_factory):
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 4096:
        pytest.skip(f"RLIMIT_NOFILE hard limit is {hard}; 1,000 streams need at least 4096 "
                    "descriptors (raise it with ulimit -Hn or limits.conf)")
    soft, _ = raise_nofile_limit(8192)
    assert soft == resource.RLIM_INFINITY or soft >= 4096
    t_start = time.monotonic()

    server = redge_factory()
    http = server.http

    ka = KeepAlive(server.host, server.http_port)
    ids = []
    for i in range(N_STREAMS):
        reply = ka.post_json("/v1/queues/scale/jobs", {"i": i})
        assert reply.status == 202, reply
        ids.append(reply.json()["id"])
    ka.close()
    index_of = {job_id: i for i, job_id in enumerate(ids)}

    swarm = SseSwarm(server.host, server.http_port, [f"/v1/jobs/{j}/events" for j in ids])
    try:
        # Every stream is open and has its `queued` event.
        ok = swarm.run(lambda s: all(st.events or st.ended for st in s.streams), timeout=20)
        errors = [(st.index, st.error) for st in swarm.streams if st.error]
        assert not errors, f"{len(errors)} streams failed, e.g. {errors[:5]}"
        assert ok, "not every stream received its first event within 20 s"
        for st in swarm.streams:
            assert not st.ended, f"stream {st.index} ended early: {st.events}"
            assert (st.events[0].id, st.events[0].type) == (1, "queued"), st.events

        loop_done = {}

        def pump():
            loop_done["ok"] = swarm.run(lambda s: all(st.ended for st in s.streams), timeout=25)

        pump_thread = threading.Thread(target=pump, daemon=True)
        pump_thread.start()

        worker_errors = []

        def work():
            try:
                w = server.worker("bulk-worker")
                pipe = w.pipeline(transaction=False)
                for _ in range(N_STREAMS):
                    pipe.rpop("redge:queue:scale")
                envelopes = [json.loads(e) for e in pipe.execute() if e is not None]
                assert len(envelopes) == N_STREAMS, f"popped {len(envelopes)} envelopes"
                pipe = w.pipeline(transaction=False)
                for env in envelopes:
                    pipe.set(f"redge:response:{env['id']}",
                             json.dumps({"i": index_of[env["id"]], "id": env["id"]}), ex=60)
                assert all(pipe.execute())
            except Exception as e:  # reported by the main thread
                worker_errors.append(e)

        worker_thread = threading.Thread(target=work, daemon=True)
        worker_thread.start()

        # While 1,000 streams are open and the worker's writes are being applied.
        samples = []
        while worker_thread.is_alive() or len(samples) < 3:
            t0 = time.monotonic()
            assert http.get("/healthz", timeout=5).status == 200
            t1 = time.monotonic()
            enqueue(http, "other", {"probe": len(samples)})
            t2 = time.monotonic()
            samples.append((t1 - t0, t2 - t1))
            if len(samples) >= 50:
                break
        slow = [s for s in samples if max(s) >= 1.0 * time_scale()]
        assert not slow, f"slow answers during the load (healthz s, enqueue s): {slow}"

        worker_thread.join(20)
        assert not worker_thread.is_alive(), "the bulk worker did not finish"
        assert not worker_errors, worker_errors
        pump_thread.join(30)
        assert not pump_thread.is_alive()

        errors = [(st.index, st.error) for st in swarm.streams if st.error]
        assert not errors, f"{len(errors)} streams failed, e.g. {errors[:5]}"
        unfinished = [st.index for st in swarm.streams
                      if not st.events or st.events[-1].type != "completed"]
        assert loop_done.get("ok") and not unfinished, (
            f"{len(unfinished)} streams did not receive `completed`, e.g. "
            f"{[(i, swarm.streams[i].events) for i in unfinished[:3]]}")
        for st in swarm.streams:
            assert [(e.id, e.type) for e in st.events] == [
                (1, "queued"), (2, "started"), (3, "completed")], (st.index, st.events)
            job_id = ids[st.index]
            assert st.events[2].json == {"result": {"i": st.index, "id": job_id}}, st.events
    finally:
        swarm.close()
    assert time.monotonic() - t_start < 30 * time_scale(), "the 1,000-stream test took over 30 s"
