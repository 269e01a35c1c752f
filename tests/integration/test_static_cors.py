"""Browser support: /v1/client.js, the /ui dashboard (embedded files, CSP) and CORS."""

import re

import integration_support as sup

ALLOWED = "https://app.example.com"
OTHER = "http://evil.example"
CORS_FLAGS = ("--cors-origins", f"{ALLOWED}, http://localhost:3000")


def test_client_js_is_served_as_javascript(http):
    reply = http.get("/v1/client.js")
    assert reply.status == 200, reply
    assert reply.header("content-type").startswith("text/javascript"), reply
    assert reply.header("cache-control") == "no-cache", reply
    etag = reply.header("etag")
    assert etag and etag.startswith('"'), reply
    text = reply.body.decode()
    assert re.search(r"export async function submit\(queue, payload, opts = \{\}\)", text)
    assert re.search(r"export function watch\(jobId,", text)
    for name in ("onEvent", "onStatus", "onDone", "pollAfterFailures", "sseRetryMs",
                 "access_token", "EventSource", "wait="):
        assert name in text, name
    # Revalidation by ETag.
    again = http.get("/v1/client.js", headers={"If-None-Match": etag})
    assert again.status == 304 and again.body == b"", again


def test_dashboard_has_csp_and_no_inline_code(http):
    reply = http.get("/ui")
    assert reply.status == 200, reply
    assert reply.header("content-type").startswith("text/html"), reply
    assert reply.header("content-security-policy") == (
        "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; frame-ancestors 'none'"), reply
    html = reply.body.decode()
    for m in re.finditer(r"<script\b([^>]*)>(.*?)</script>", html, re.S | re.I):
        assert "src=" in m.group(1) and m.group(2).strip() == "", m.group(0)
    assert "<style" not in html.lower() and " style=" not in html.lower()
    assert not re.search(r"\son[a-z]+=", html, re.I), "inline event handler"
    for element_id in ("queues", "running", "submit-form", "submit-queue", "submit-payload",
                       "submit-button", "job-events", "job-progress", "job-status"):
        assert f'id="{element_id}"' in html, element_id
    for path, kind in (("/ui/dashboard.js", "text/javascript"), ("/ui/dashboard.css", "text/css")):
        r = http.get(path)
        assert r.status == 200 and r.header("content-type").startswith(kind), r
    assert http.get("/ui/nope.js").status == 404


def test_static_files_need_no_token_but_the_api_does(redge_factory):
    server = redge_factory("--http-token", "s3cret")
    anon = server.http_with_token(None)
    assert anon.get("/ui").status == 200
    assert anon.get("/v1/client.js").status == 200
    assert anon.get("/v1/queues").status == 401


def test_no_cors_headers_by_default(http):
    reply = http.get("/v1/queues", headers={"Origin": ALLOWED})
    assert reply.status == 200
    assert not [k for k, _ in reply.headers if k.startswith("access-control-")], reply
    pre = http.request("OPTIONS", "/v1/queues", headers={
        "Origin": ALLOWED, "Access-Control-Request-Method": "GET"})
    assert pre.status == 403, pre
    assert pre.header("access-control-allow-origin") is None


def test_cors_allowed_origin(redge_factory):
    server = redge_factory(*CORS_FLAGS)
    reply = server.http.get("/v1/queues", headers={"Origin": ALLOWED,
                                                   "X-Correlation-ID": "c-1"})
    assert reply.status == 200, reply
    assert reply.header("access-control-allow-origin") == ALLOWED, reply
    assert "Origin" in reply.header("vary"), reply
    assert "X-Correlation-ID" in reply.header("access-control-expose-headers"), reply
    # Also on a created job and on an SSE stream's head.
    job = server.http.post("/v1/queues/demo/jobs", json={"x": 1}, headers={"Origin": ALLOWED})
    assert job.status == 202 and job.header("access-control-allow-origin") == ALLOWED, job
    pending = server.http.start("GET", f"/v1/jobs/{job.json()['id']}/events",
                                headers={"Origin": ALLOWED})
    head = pending.conn.getresponse()  # the stream's head; the body never ends
    assert head.status == 200
    assert head.getheader("Access-Control-Allow-Origin") == ALLOWED
    pending.close()
    # The second listed origin (after ", ") works too.
    r2 = server.http.get("/healthz", headers={"Origin": "http://localhost:3000"})
    assert r2.header("access-control-allow-origin") == "http://localhost:3000", r2


def test_cors_disallowed_origin(redge_factory):
    server = redge_factory(*CORS_FLAGS)
    reply = server.http.get("/v1/queues", headers={"Origin": OTHER})
    assert reply.status == 200
    assert not [k for k, _ in reply.headers if k.startswith("access-control-")], reply
    pre = server.http.request("OPTIONS", "/v1/queues/demo/jobs", headers={
        "Origin": OTHER, "Access-Control-Request-Method": "POST"})
    assert pre.status == 403, pre
    assert not [k for k, _ in pre.headers if k.startswith("access-control-")], pre


def test_cors_preflight_without_token(redge_factory):
    server = redge_factory(*CORS_FLAGS, "--http-token", "s3cret")
    anon = server.http_with_token(None)
    pre = anon.request("OPTIONS", "/v1/queues/demo/jobs", headers={
        "Origin": ALLOWED, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, idempotency-key"})
    assert pre.status == 204, pre
    assert pre.header("access-control-allow-origin") == ALLOWED, pre
    methods = {m.strip() for m in pre.header("access-control-allow-methods").split(",")}
    assert {"GET", "POST", "DELETE"} <= methods, pre
    headers = {h.strip().lower() for h in pre.header("access-control-allow-headers").split(",")}
    assert {"authorization", "content-type", "idempotency-key", "x-correlation-id",
            "last-event-id"} <= headers, pre
    assert int(pre.header("access-control-max-age")) > 0, pre
    # The real request still needs the token; its 401 carries CORS headers so the page
    # can read it.
    denied = anon.get("/v1/queues", headers={"Origin": ALLOWED})
    assert denied.status == 401
    assert denied.header("access-control-allow-origin") == ALLOWED, denied
    ok = server.http_with_token("s3cret").get("/v1/queues", headers={"Origin": ALLOWED})
    assert ok.status == 200 and ok.header("access-control-allow-origin") == ALLOWED


def test_cors_origins_flag_is_validated(redge_factory, tmp_path):
    import subprocess
    binary = sup.redge_binary()
    bad = subprocess.run([str(binary), "--cors-origins", "app.example.com/path",
                          "--data-dir", str(tmp_path / "d")],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0
    assert "cors-origins" in bad.stderr + bad.stdout
