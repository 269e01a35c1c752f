"""Chromium over HTTPS: redge with a certificate from a test CA that is installed in the
browser's NSS database (no certificate error is ignored). The dashboard loads over https,
client.js submits a job and watches its SSE stream over TLS while a legacy worker serves
it over RESP with TLS (redis-py ssl=True); every event arrives once, in order."""

import hashlib
import json
import secrets
import sys
import pathlib

import redis

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "integration"))
import access_support as acc  # noqa: E402

from test_client_js import WAIT_S  # noqa: E402


def test_dashboard_and_client_js_over_https(redge_factory, tmp_path, page_factory):
    ca = acc.TestCa(tmp_path / "ca")
    cert, key = ca.issue("localhost")
    api_key = "rk_" + secrets.token_urlsafe(32)
    keys = tmp_path / "keys"
    keys.write_text(f"producer * {hashlib.sha256(api_key.encode()).hexdigest()} page\n")
    server = redge_factory("--tls-cert", cert, "--tls-key", key, "--api-keys", keys)
    page = page_factory(trust_ca=ca.ca_path)
    base = f"https://localhost:{server.http_port}"
    page.navigate(f"{base}/ui")
    assert page.evaluate("location.protocol") == "https:"
    assert page.evaluate("document.querySelector('script[src]') !== null")
    page.evaluate("""window.__t = {events: [], statuses: [], done: null};
        import('/v1/client.js').then((m) => { window.__client = m; return true; })""")
    job = page.evaluate(f"""(async () => {{
        const t = window.__t;
        const job = await window.__client.submit('tls', {{prompt: 'over https'}},
                                                 {{token: {json.dumps(api_key)}}});
        window.__client.watch(job.id, {{
          token: job.stream_token,
          onEvent: (e) => t.events.push([e.id, e.event]),
          onStatus: (s) => t.statuses.push(s),
          onDone: (d) => {{ t.done = d.state; }},
        }});
        return job;
    }})()""")
    worker = redis.Redis(host="127.0.0.1", port=server.resp_port, ssl=True,
                         ssl_ca_certs=str(ca.ca_path), decode_responses=True, socket_timeout=WAIT_S)
    try:
        _, envelope = worker.brpop("redge:queue:tls", timeout=WAIT_S)
        assert json.loads(envelope)["id"] == job["id"]
        page.wait_for("window.__t.statuses.includes('live')", timeout=WAIT_S, what="SSE live")
        for i in range(20):
            worker.publish(f"redge:progress:{job['id']}", json.dumps({"event": "chunk", "n": i}))
        worker.set(f"redge:response:{job['id']}", '{"ok":true}')
    finally:
        worker.close()
    page.wait_for("window.__t.done", timeout=WAIT_S, what="onDone over https")
    t = page.evaluate("window.__t")
    assert t["done"] == "completed", t
    assert [e[0] for e in t["events"]] == list(range(1, 24)), t["events"]
    assert t["events"][0][1] == "queued" and t["events"][-1][1] == "completed"
