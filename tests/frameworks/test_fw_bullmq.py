"""BullMQ (npm, pinned in tests/frameworks/bullmq/package.json, installed there by
`npm ci`: tools/setup.sh) unchanged against the server: about a hundred Lua scripts with
cjson and cmsgpack, streams for its events, BZPOPMIN on a marker key, INFO checks.

Node processes run tests/frameworks/bullmq/app.mjs (each prints JSON lines): a Queue
adds jobs and a Worker processes them with job.updateProgress while QueueEvents sees
`progress` and `completed`; a failing job retries with a fixed backoff, then fails; a
delayed job runs after its delay; a worker SIGKILLed during a job has that job picked up
as stalled by another worker; queue.getJobCounts() is checked at each step.
"""

import json
import pathlib
import shutil
import signal

import pytest

import fw_support

APP_DIR = pathlib.Path(__file__).resolve().parent / "bullmq"
NODE = shutil.which("node") or "/usr/bin/node"
RUN_S = 90



@pytest.fixture(autouse=True)
def bullmq_installed():
    # A missing install fails loudly: it is never a reason to skip.
    if not (APP_DIR / "node_modules" / "bullmq").is_dir():
        pytest.fail("BullMQ is not installed in tests/frameworks/bullmq: run tools/setup.sh "
                    "(it runs `npm ci` there)", pytrace=False)


def lines(proc):
    out = []
    for line in proc.log_text().splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def node(procs, name, target, *args):
    env = fw_support.python_env(APP_DIR, target.url, FW_TIMEOUT_MS=60000)
    return procs.start(name, [NODE, APP_DIR / "app.mjs", *args], env=env, cwd=APP_DIR)


def run(procs, name, target, *args):
    """Runs an app command to its end; returns its last JSON line."""
    proc = node(procs, name, target, *args)
    rc = proc.wait_exit(RUN_S)
    out = lines(proc)
    assert rc == 0 and out and "error" not in out[-1], proc.log_tail()
    return out[-1]


def idle(counts, **expect):
    """getJobCounts() with every state 0 except those given."""
    want = {k: 0 for k in counts}
    want.update(expect)
    return counts == want


def test_queue_worker_progress_and_queue_events(target, procs):
    r = run(procs, "basic", target, "scenario-basic", "fw-basic")
    assert r["added"] == ["1", "2", "3"]
    for jid in r["added"]:
        n = int(jid)
        assert r["progress"][jid] == [50, {"step": "done", "pct": 100}], r["progress"]
        assert r["completed"][jid] == {"double": 2 * n}
        res = r["results"][jid]
        assert res["returnvalue"] == {"double": 2 * n} and res["finishedOn"], res
        assert res["progress"] == {"step": "done", "pct": 100} and res["attemptsMade"] == 1
    assert idle(r["counts"], completed=3), r["counts"]


def test_failing_job_retries_with_backoff_then_fails(target, procs):
    r = run(procs, "retry", target, "scenario-retry", "fw-retry")
    attempts = r["attempts"]
    assert [a["attemptsMade"] for a in attempts] == [0, 1, 2], attempts
    gaps = [b["at"] - a["at"] for a, b in zip(attempts, attempts[1:])]
    assert all(g >= 400 for g in gaps), f"retried before the 400 ms backoff: {gaps}"
    assert r["exhausted"] == {"jobId": r["id"], "attemptsMade": "3"}
    assert r["failedEvents"] and r["failedEvents"][-1]["failedReason"] == "boom 2"
    assert r["state"] == "failed" and r["attemptsMade"] == 3 and r["failedReason"] == "boom 2"
    assert r["failedIds"] == [r["id"]]
    assert idle(r["counts"], failed=1), r["counts"]


def test_delayed_job_runs_after_its_delay(target, procs):
    r = run(procs, "delay", target, "scenario-delay", "fw-delay")
    assert r["stateWhileDelayed"] == "delayed"
    assert idle(r["countsWhileDelayed"], delayed=1), r["countsWhileDelayed"]
    assert r["waitedMs"] >= 1500, r
    assert r["waitedMs"] < 1500 + 10000, f"the delayed job ran late: {r}"
    assert idle(r["counts"], completed=1), r["counts"]


def test_killed_workers_job_is_picked_up_as_stalled(target, procs):
    queue = "fw-stall"
    hanging = node(procs, "worker-hang", target, "worker", queue, "hang")
    fw_support.wait_for(lambda: any(x.get("ready") for x in lines(hanging)), RUN_S,
                        "the first worker to be ready", watch=[hanging])
    job_id = run(procs, "add", target, "add", queue, "work")["id"]
    fw_support.wait_for(lambda: any(x.get("active") == job_id for x in lines(hanging)), RUN_S,
                        "the first worker to take the job", watch=[hanging])
    hanging.signal_group(signal.SIGKILL)
    hanging.kill()
    rescuer = node(procs, "worker-rescue", target, "worker", queue, "complete")
    waiter = node(procs, "wait", target, "wait", queue, job_id)
    rc = waiter.wait_exit(RUN_S)
    done = lines(waiter)
    assert rc == 0 and done and "error" not in done[-1], waiter.log_tail() + rescuer.log_tail()
    result = done[-1]
    assert result["returnvalue"] == {"by": rescuer.pid}, result
    assert result["stalledCounter"] >= 1, result
    assert idle(result["counts"], completed=1), result["counts"]
    seen = lines(rescuer)
    assert any(x.get("stalled") == job_id for x in seen), seen
    assert any(x.get("completed") == job_id for x in seen), seen
