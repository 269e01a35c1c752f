"""The Celery app of tests/frameworks/test_fw_celery.py, copied into a temp dir as app.py
and run unchanged by `python3 -m celery -A app worker`.

Broker and result backend are both FW_REDIS_URL (the server under test). FW_ACKS_LATE=1
turns on task_acks_late with a visibility timeout of FW_VISIBILITY_TIMEOUT seconds, as
a deployment that must survive a worker's death configures it.
"""

import os

import redis
from celery import Celery

URL = os.environ["FW_REDIS_URL"]

app = Celery("app", broker=URL, backend=URL)
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    worker_prefetch_multiplier=1,
)
if os.environ.get("FW_ACKS_LATE") == "1":
    app.conf.update(
        task_acks_late=True,
        broker_transport_options={
            "visibility_timeout": int(os.environ.get("FW_VISIBILITY_TIMEOUT", "3")),
        },
    )

_redis = None


def store():
    """A redis-py client on the same server, for tasks that leave a trace the test reads."""
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(URL, decode_responses=True)
    return _redis


@app.task
def add(x, y):
    return x + y


@app.task
def tsum(numbers):
    return sum(numbers)


@app.task
def record(tag):
    """Appends `tag` to the list fw:order: the order in which tasks ran."""
    store().rpush("fw:order", tag)
    return tag


@app.task
def stuck_once():
    """Records the pid running it in fw:started. The first run then blocks (as a long
    task would) until its worker is killed; any later run returns that pid."""
    runs = store().rpush("fw:started", os.getpid())
    if runs == 1:
        store().blpop("fw:never-pushed", 300)
        raise RuntimeError("the first run was expected to be killed")
    return os.getpid()
