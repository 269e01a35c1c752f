"""The Celery app of docs/celery.md: an ordinary Celery app. Only its URLs point at redge
(broker and result backend); nothing else knows about redge.

    REDGE_REDIS_URL=redis://127.0.0.1:6379/0 celery -A tasks worker --loglevel INFO
"""

import os
import time

from celery import Celery

URL = os.environ.get("REDGE_REDIS_URL", "redis://127.0.0.1:6379/0")

app = Celery("tasks", broker=URL, backend=URL)
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_track_started=True,  # optional: redge then learns the worker's hostname early
)


@app.task(bind=True)
def build_report(self, pages):
    """Reports its progress the usual Celery way; redge turns each update_state into a
    `progress` event the browser receives as it happens."""
    for page in range(1, pages + 1):
        time.sleep(0.5)  # the real work
        self.update_state(state="PROGRESS", meta={"current": page, "total": pages})
    return {"pages": pages, "url": f"/reports/{self.request.id}.pdf"}
