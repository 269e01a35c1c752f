"""The web backend of docs/celery.md (FastAPI): starts a Celery task and returns its id.
It does not stream, poll or store anything: the browser watches the task at redge.

    pip-free on Debian: apt-get install python3-fastapi uvicorn (or any ASGI stack)
    REDGE_REDIS_URL=redis://127.0.0.1:6379/0 REDGE_URL=http://127.0.0.1:8080 \
        uvicorn api:app --port 8000
    redge --cors-origins http://127.0.0.1:8000   # the page's origin may call redge
"""

import os
import pathlib

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from tasks import build_report

REDGE_URL = os.environ.get("REDGE_URL", "http://127.0.0.1:8080")

app = FastAPI()


@app.post("/api/reports")
def start_report(body: dict):
    task = build_report.delay(int(body.get("pages", 3)))
    # The job exists at redge before this returns: the page may watch it at once.
    return {"task_id": task.id, "redge_url": REDGE_URL}


app.mount("/", StaticFiles(directory=pathlib.Path(__file__).parent / "static", html=True))
