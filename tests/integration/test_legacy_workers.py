"""The example legacy workers in worker/examples, run unchanged against a real redge over
RESP: the Python one (BRPOP, PUBLISH progress, SET response EX) and the Node.js one
(node-redis; PUBLISH {message, progress} then {complete, content, isError} to a channel
named after the bare job id)."""

import os
import pathlib
import shutil
import subprocess

import pytest

import redge_process

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "worker" / "examples"
NODE_PATH = "/usr/share/nodejs"  # Debian's node-redis lives here


def start(args, env=None):
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env)
    return proc


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def node_available():
    node = shutil.which("node")
    if not node:
        return False
    env = dict(os.environ, NODE_PATH=NODE_PATH)
    return subprocess.run([node, "-e", "require('redis')"], env=env,
                          capture_output=True).returncode == 0


def test_python_legacy_worker_streams_a_job(redge):
    worker = start(["/usr/bin/python3", str(EXAMPLES / "legacy_python_worker.py"),
                    "--url", f"redis://127.0.0.1:{redge.resp_port}", "--queue", "demo",
                    "--delay", "0"])
    try:
        created = redge.http.post("/v1/queues/demo/jobs", json={"prompt": "hi"})
        assert created.status == 202, created
        job_id = created.json()["id"]
        events = redge.sse(f"/v1/jobs/{job_id}/events").until_terminal(timeout=20)
        types = [e.type for e in events]
        assert types[0] == "queued" and types[1] == "started" and types[-1] == "completed"
        chunks = [e for e in events if e.type == "chunk"]
        assert chunks and all("text" in e.json for e in chunks)
        assert [e.id for e in events] == list(range(1, len(events) + 1))
        job = redge.http.get(f"/v1/jobs/{job_id}").json()
        assert job["state"] == "completed" and "You said: hi" in job["result"]["text"]
        assert job["lease"] is None
    finally:
        stop(worker)


def test_node_legacy_worker_with_the_chat_key_layout(redge_factory):
    if not node_available():
        redge_process.skip_unless_ci(
            "node or Debian's node-redis (NODE_PATH=/usr/share/nodejs) missing")
    server = redge_factory("--progress-channel-template", "{id}",
                           "--queue-key-template", "mobius:chat:queue:{queue}",
                           "--response-key-template", "mobius:chat:response:{id}")
    env = dict(os.environ, NODE_PATH=NODE_PATH)
    worker = start(["node", str(EXAMPLES / "legacy_node_worker.js"),
                    "--url", f"redis://127.0.0.1:{server.resp_port}",
                    "--queue-key", "mobius:chat:queue:chat", "--name", "node-1"], env=env)
    try:
        ok = server.http.post("/chat", json={"message": "hello"})
        assert ok.status == 202, ok
        ok_id = ok.json()["correlation_id"]
        events = server.sse(f"/chat/stream/{ok_id}").until_terminal(timeout=20)
        assert [e.type for e in events] == ["queued", "started", "progress", "progress",
                                            "progress", "completed"]
        assert events[1].json["worker"] == "node-1"
        assert [e.json["progress"] for e in events[2:5]] == pytest.approx([1 / 3, 2 / 3, 1])
        assert events[2].json["message"] == "step 1 of 3"
        answer = server.http.get(f"/chat/response/{ok_id}")
        assert answer.status == 200 and answer.json()["response"] == 'echo: {"message":"hello"}'

        bad = server.http.post("/chat", json={"message": "x", "fail": True}).json()
        events = server.sse(f"/chat/stream/{bad['id']}").until_terminal(timeout=20)
        assert events[-1].type == "failed"
        assert events[-1].json["error"] == "the model refused"
        assert server.http.get(f"/v1/jobs/{bad['id']}").json()["state"] == "failed"
    finally:
        stop(worker)
