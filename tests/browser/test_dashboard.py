"""The dashboard at /ui in a real browser: submit a job with its form, watch a worker's
progress and the completion; a screenshot goes to tests/artifacts/dashboard.png."""

import json
import pathlib

ARTIFACTS = pathlib.Path(__file__).resolve().parent.parent / "artifacts"

WAIT_S = 60
QUEUE = "dash-test"


def wait_dom(page, expr, what, timeout=WAIT_S):
    try:
        return page.wait_for(expr, timeout=timeout, what=what)
    except AssertionError as e:
        body = page.evaluate("document.body ? document.body.innerText.slice(0, 2000) : ''")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(ARTIFACTS / "dashboard-failure.png")
        raise AssertionError(f"{e}\npage text: {body}") from None


def test_dashboard_submit_progress_complete(page, proxy, worker):
    w = worker()
    page.navigate(f"{proxy.base}/ui")
    ids = ["queues", "running", "submit-form", "submit-queue", "submit-payload",
           "submit-button", "job-events", "job-progress", "job-status"]
    missing = page.evaluate(f"{json.dumps(ids)}.filter(id => !document.getElementById(id))")
    assert missing == [], f"/ui lacks elements {missing}; console: {page.console}"
    assert page.evaluate("document.getElementById('job-progress').tagName") == "PROGRESS"

    page.evaluate(f"""(() => {{
        const set = (id, v) => {{
            const el = document.getElementById(id);
            el.value = v;
            el.dispatchEvent(new Event('input', {{bubbles: true}}));
            el.dispatchEvent(new Event('change', {{bubbles: true}}));
        }};
        set('submit-queue', {json.dumps(QUEUE)});
        set('submit-payload', {json.dumps(json.dumps({"prompt": "from the dashboard"}))});
        document.getElementById('submit-button').click();
        return true;
    }})()""")
    _, envelope = w.brpop(f"redge:queue:{QUEUE}", timeout=WAIT_S)
    env = json.loads(envelope)
    job_id = env["id"]
    assert env["payload"] == {"prompt": "from the dashboard"}, env

    w.publish(f"redge:progress:{job_id}", json.dumps({"event": "progress", "progress": 0.5}))
    wait_dom(page, """(() => { const p = document.getElementById('job-progress');
                         return p.max > 0 && Math.abs(p.value / p.max - 0.5) < 1e-6; })()""",
             "#job-progress at 0.5")
    wait_dom(page, "document.querySelectorAll('#job-events li[data-event-id]').length >= 3",
             "#job-events to list queued, started, progress")
    wait_dom(page, f"document.getElementById('queues').textContent.includes({json.dumps(QUEUE)})",
             f"#queues to list {QUEUE}")
    wait_dom(page, f"""(() => {{ const t = document.getElementById('running').textContent;
                          return t.includes({json.dumps(job_id)}) || t.includes({json.dumps(job_id[:8])}) ||
                                 t.includes({json.dumps(QUEUE)}); }})()""",
             "#running to show the running job")
    ev_ids = page.evaluate("[...document.querySelectorAll('#job-events li[data-event-id]')]"
                           ".map(li => Number(li.dataset.eventId))")
    assert ev_ids == list(range(1, len(ev_ids) + 1)), ev_ids
    ARTIFACTS.mkdir(exist_ok=True)
    shot = page.screenshot(ARTIFACTS / "dashboard.png")
    assert shot.stat().st_size > 1000

    w.set(f"redge:response:{job_id}", '{"ok":true}')
    # #job-status shows the watch status ('done') or the final state; the completed
    # event is listed in #job-events.
    wait_dom(page, "/done|completed/i.test(document.getElementById('job-status').textContent) && "
             "[...document.querySelectorAll('#job-events li[data-event-id]')]"
             ".some(li => li.textContent.includes('completed'))",
             "#job-status done and a completed event in #job-events")
    page.screenshot(ARTIFACTS / "dashboard-completed.png")
