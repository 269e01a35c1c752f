"""RQ 1.13 (Debian's python3-rq) unchanged against the server: jobs enqueued with
rq.Queue are run by a real `rq worker --burst` subprocess; a finished job's result is
readable (RQ 1.13 keeps results in a stream, rq:results:<id>, when INFO reports
redis_version >= 5.0), and a job that raises lands in the failed job registry with its
exception.
"""

import pytest
from redis import Redis
from rq import Queue
from rq.job import Job, JobStatus
from rq.results import Result

import fw_support

QUEUE = "fw"
WORKER_S = 60


@pytest.fixture
def rq_env(target, procs, tmp_path):
    fw_support.copy_app("rq_jobs", tmp_path)
    conn = Redis.from_url(target.url)
    yield Queue(QUEUE, connection=conn), procs, tmp_path, target
    conn.close()


def run_burst_worker(procs, workdir, url):
    """`rq worker --burst` works off the queue and exits 0."""
    worker = procs.start(
        "rq-worker",
        ["/usr/bin/rq", "worker", "--burst", "--url", url, "--name", "fw-burst", QUEUE],
        env=fw_support.python_env(workdir, url))
    rc = worker.wait_exit(WORKER_S)
    assert rc == 0, worker.log_text()


def test_enqueue_burst_worker_result(rq_env):
    queue, procs, workdir, target = rq_env
    jobs = [queue.enqueue("rq_jobs.add", i, 10) for i in range(3)]
    assert queue.count == 3
    assert jobs[0].get_status() == JobStatus.QUEUED

    run_burst_worker(procs, workdir, target.url)
    assert queue.count == 0
    for i, job in enumerate(jobs):
        done = Job.fetch(job.id, connection=queue.connection)
        assert done.get_status() == JobStatus.FINISHED
        assert done.return_value() == i + 10
        result = done.latest_result()
        assert result.type == Result.Type.SUCCESSFUL and result.return_value == i + 10
        assert job.id in queue.finished_job_registry.get_job_ids()


def test_failed_job_lands_in_failed_registry(rq_env):
    queue, procs, workdir, target = rq_env
    bad = queue.enqueue("rq_jobs.fail", "boom")
    good = queue.enqueue("rq_jobs.add", 1, 1)

    run_burst_worker(procs, workdir, target.url)
    failed = Job.fetch(bad.id, connection=queue.connection)
    assert failed.get_status() == JobStatus.FAILED
    assert queue.failed_job_registry.get_job_ids() == [bad.id]
    result = failed.latest_result()
    assert result.type == Result.Type.FAILED
    assert "ValueError: boom" in result.exc_string
    # The failure did not stop the worker: the next job ran.
    assert Job.fetch(good.id, connection=queue.connection).return_value() == 2
