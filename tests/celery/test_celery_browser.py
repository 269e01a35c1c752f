"""The example of docs/celery.md, unchanged, in headless Chromium: its FastAPI app (under
uvicorn) calls `build_report.delay()` and returns the task id; its page watches the task
at redge with client.js and shows a progress bar and the result. A stock Celery worker
runs the task; redge is the broker and the result backend, on another origin than the
page (--cors-origins).

Chromium is driven over the DevTools protocol (tests/browser/cdp.py). Chromium, FastAPI
and uvicorn are Debian packages (tools/setup.sh): a missing one fails the test.
"""

import pathlib
import re
import shutil
import socket
import sys
import time
import urllib.request

import celery_support as cs
from fw_support import PYTHON, wait_for

HERE = pathlib.Path(__file__).resolve().parent
EXAMPLE = HERE.parent.parent / "docs" / "examples" / "celery"
sys.path.insert(0, str(HERE.parent / "browser"))
import cdp  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
TIMEOUT = 60
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serves(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def test_docs_example_page_shows_progress_and_result(redge_factory, procs, tmp_path):
    app_dir = tmp_path / "example"
    shutil.copytree(EXAMPLE, app_dir)
    api_port = free_port()
    origin = f"http://127.0.0.1:{api_port}"
    target = redge_factory("--cors-origins", origin)
    redge_url = f"http://127.0.0.1:{target.http_port}"
    env = cs.fw_support.python_env(app_dir, target.url, REDGE_REDIS_URL=target.url,
                                   REDGE_URL=redge_url)
    worker = procs.start("celery-worker-docs", [
        PYTHON, "-m", "celery", "-A", "tasks", "worker", "--loglevel", "INFO",
        "--hostname", "docs@%h", "--concurrency", "1"], env=env, cwd=app_dir)
    wait_for(lambda: " ready." in worker.log_text(), cs.WORKER_READY_S,
             "the docs' Celery worker to log 'ready.'", watch=[worker])
    api = procs.start("uvicorn-api", [
        PYTHON, "-m", "uvicorn", "api:app", "--host", "127.0.0.1", "--port", str(api_port)],
        env=env, cwd=app_dir)
    wait_for(lambda: serves(origin + "/"), TIMEOUT, "the FastAPI app to serve its page",
             watch=[api])

    browser = cdp.Chromium(CHROMIUM, tmp_path / "chromium").start()
    try:
        page = browser.page()
        page.navigate(origin + "/")
        page.evaluate("document.getElementById('start').click(), true")
        task_id = page.wait_for("document.getElementById('task').textContent", TIMEOUT,
                                what="the API to return a task id")
        assert UUID_RE.match(task_id), task_id
        # The bar moves as the worker reports each page (0.5 s apart): record what it shows.
        seen = set()
        deadline = time.monotonic() + TIMEOUT
        while True:
            value, state = page.evaluate(
                "[document.getElementById('bar').value, "
                "document.getElementById('state').textContent]")
            seen.add(value)
            if state:
                break
            assert time.monotonic() < deadline, f"no end within {TIMEOUT}s; bar showed {seen}"
            assert worker.alive() and api.alive()
            time.sleep(0.05)
        assert state == "completed", page.console[-20:]
        assert page.evaluate("document.getElementById('bar').max") == 3
        assert page.evaluate("document.getElementById('bar').value") == 3
        assert seen & {1, 2}, f"the bar never showed an intermediate step: {seen}"
        result = page.evaluate("document.getElementById('result').textContent")
        assert result == '{"pages":3,"url":"/reports/%s.pdf"}' % task_id
        events = page.evaluate(
            "[...document.querySelectorAll('#events li')].map((li) => li.textContent)")
        assert [e.split(" ")[0] for e in events] == [
            "queued", "started", "progress", "progress", "progress", "completed"], events
        assert events[2] == 'progress {"current":1,"total":3}'
        # Delivered over SSE (not the long-poll fallback): redge's trace says who got the end.
        _, trace = target.http.get(f"/v1/jobs/{task_id}/trace")
        readers = [s.get("reader") for s in trace["timeline"]
                   if s["what"] == "terminal state delivered"]
        assert "sse" in readers, trace["timeline"]
        artifacts = HERE.parent / "artifacts"
        page.screenshot(artifacts / "celery_example_page.png")

        # The dashboard shows Celery queues with their priority sub-queues.
        status, _ = target.http.call("POST", "/v1/queues/parked/jobs",
                                     {"celery": {"task": "tasks.build_report", "args": [1],
                                                 "priority": 9}})
        assert status == 202
        page.navigate(redge_url + "/ui")
        row = page.wait_for(
            "(() => { const r = document.querySelector('#queues tr[data-queue=\"parked\"]');"
            " return r && [...r.cells].map((c) => c.textContent); })()",
            TIMEOUT, what="the dashboard to list queue 'parked'")
        assert row[0] == "parked" and row[1] == "1" and row[4] == "p9: 1", row
    finally:
        browser.stop()
