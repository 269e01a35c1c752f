"""The Celery app of tests/celery: a stock Celery 5.2 app whose broker and result backend
are the redge under test (FW_REDIS_URL). Nothing in it knows about redge: the bridge sees
what Celery and kombu write. Copied into each test's temp dir as app.py and run by
`python3 -m celery -A app worker`.

FW_ACKS_LATE=1 turns on task_acks_late with a visibility timeout of
FW_VISIBILITY_TIMEOUT seconds (the killed-worker test); FW_BACKEND_URL puts the results
elsewhere.
"""

import os

import redis
from celery import Celery

URL = os.environ["FW_REDIS_URL"]
# FW_BACKEND_URL: another result backend (the visibility tests: redge is the broker only).
BACKEND = os.environ.get("FW_BACKEND_URL", URL)

app = Celery("app", broker=URL, backend=BACKEND)
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    worker_prefetch_multiplier=1,
    task_track_started=True,
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
    """A redis-py client on the same server: tasks leave traces the tests read, and wait
    for the tests' go-ahead on lists (a blocking pop, never a sleep)."""
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


@app.task(bind=True)
def steps(self, n, gate=None):
    """Reports n PROGRESS states ({"current", "total"}), then returns {"done": n}. With
    `gate`, waits for an element on the list `gate` before each step (the test paces it)."""
    for i in range(n):
        if gate:
            store().blpop(gate, 120)
        self.update_state(state="PROGRESS", meta={"current": i + 1, "total": n})
    return {"done": n}


@app.task(bind=True)
def custom_state(self):
    self.update_state(state="RESIZING", meta={"width": 640})
    self.update_state(state="COMPLETED", meta={"not": "terminal"})
    return "resized"


@app.task
def fail(code):
    raise ValueError(f"boom {code}")


@app.task(bind=True, max_retries=5)
def flaky(self):
    """Asks to be retried twice, then succeeds.

    The countdown lets each run's RETRY reach the backend before the next run ends, so the
    live test sees every reason; with countdown=0 a next run may finish first (that order
    is test_celery_orderings.test_success_before_the_retry_reason_arrives)."""
    if self.request.retries < 2:
        raise self.retry(exc=RuntimeError(f"flaky attempt {self.request.retries + 1}"),
                         countdown=0.2)
    return f"ok after {self.request.retries} retries"


@app.task
def record(tag):
    """Appends `tag` to the list tests:ran (which tasks ran, in order)."""
    store().rpush("tests:ran", tag)
    return tag


@app.task(bind=True)
def hold(self, gate):
    """Says it started (PROGRESS), then blocks until `gate` gets an element or the
    worker kills it."""
    store().rpush("tests:holding", self.request.id)
    self.update_state(state="PROGRESS", meta={"holding": True})
    store().blpop(gate, 300)
    return "released"


@app.task(bind=True)
def stuck_once(self):
    """The first run records its pid in tests:started and blocks (its worker gets
    SIGKILLed); a later run returns its pid."""
    runs = store().rpush("tests:started", os.getpid())
    if runs == 1:
        self.update_state(state="PROGRESS", meta={"run": 1})
        store().blpop("tests:never-pushed", 300)
        raise RuntimeError("the first run was expected to be killed")
    return os.getpid()


@app.task(ignore_result=True)
def fire_and_forget(tag):
    store().rpush("tests:ran", tag)
