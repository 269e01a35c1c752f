"""Roles on the HTTP API, route by route: each principal (the --http-token admin, API keys
of each role, a per-job stream token) is allowed exactly what its role permits and gets 401
(no or a bad credential), 403 `forbidden_<permission>` (a permission it lacks) or 404 (a job
it may not see) for everything else. Producers see and cancel only the jobs they created."""

import pytest

import access_support as acc
from integration_support import JOB_ID_RE, wait_until

TOKEN = "admin-token-0123456789"

KEYS = {
    "admin": ("admin", "*"),
    "alice": ("producer", "chat*"),  # producer: alice and bob share the queues
    "bob": ("producer", "chat*"),
    "wchat": ("worker", "chat"),
    "wother": ("worker", "other"),
    "rchat": ("reader", "chat*"),
    "mon": ("metrics", "*"),
}


@pytest.fixture
def api(redge_factory, tmp_path):
    keys = {name: acc.new_key() for name in KEYS}
    keyfile = acc.write_api_keys(tmp_path / "api-keys",
                                 [(role, glob, keys[name], name)
                                  for name, (role, glob) in KEYS.items()])
    server = redge_factory("--http-token", TOKEN, "--api-keys", keyfile)
    clients = {name: server.http_with_token(k) for name, k in keys.items()}
    clients["token"] = server.http_with_token(TOKEN)
    clients["none"] = server.http
    clients["wrong"] = server.http_with_token("rk_not-a-key")
    return server, clients, keys


def job_of(http, queue="chat", payload=None):
    reply = http.post(f"/v1/queues/{queue}/jobs", json=payload or {"p": 1})
    assert reply.status == 202, reply
    body = reply.json()
    assert JOB_ID_RE.match(body["id"]) and body["stream_token"].startswith("rst1."), body
    return body


def status_and_code(reply):
    code = None
    if reply.status >= 400:
        code = reply.error_code()
    return reply.status, code


F = lambda perm: (403, f"forbidden_{perm}")  # noqa: E731
NF = (404, "not_found")
UN = (401, "unauthorized")


def test_public_routes_need_nothing(api):
    _, c, _ = api
    for path in ("/healthz", "/readyz", "/v1/client.js", "/ui", "/ui/", "/ui/dashboard.js"):
        assert c["none"].get(path).status == 200, path
        assert c["wrong"].get(path).status == 200, path


def test_every_guarded_route_refuses_missing_and_wrong_credentials(api):
    _, c, _ = api
    job = job_of(c["alice"])["id"]
    routes = [("POST", "/v1/queues/chat/jobs"), ("POST", "/v1/queues/chat/lease"),
              ("GET", "/v1/queues"), ("GET", "/v1/jobs"), ("GET", f"/v1/jobs/{job}"),
              ("DELETE", f"/v1/jobs/{job}"), ("GET", f"/v1/jobs/{job}/trace"),
              ("GET", f"/v1/jobs/{job}/events"), ("POST", f"/v1/jobs/{job}/stream-token"),
              ("POST", f"/v1/jobs/{job}/retry"), ("POST", f"/v1/jobs/{job}/events"),
              ("POST", f"/v1/jobs/{job}/heartbeat"), ("POST", f"/v1/jobs/{job}/complete"),
              ("POST", f"/v1/jobs/{job}/fail"), ("GET", "/metrics"), ("POST", "/chat"),
              ("GET", f"/chat/stream/{job}"), ("GET", f"/chat/response/{job}")]
    for method, path in routes:
        reply = c["none"].request(method, path, json={} if method == "POST" else None)
        assert status_and_code(reply) == UN, reply
        assert reply.header("www-authenticate") == "Bearer", reply
        # Unknown jobs need a credential too (no existence oracle for the anonymous).
        reply = c["none"].request(method, path.replace(job, "0" * 36))
        assert reply.status == 401, reply
    # A wrong credential: 401 too (the first few are answered at once; see test_http_auth).
    reply = c["wrong"].get(f"/v1/jobs/{job}")
    assert status_and_code(reply) == UN and "invalid_token" in reply.header("www-authenticate")


def test_route_matrix(api):
    server, c, keys = api
    a = job_of(c["alice"])["id"]       # alice's job on chat
    b = job_of(c["bob"])["id"]         # bob's job on chat
    o = job_of(c["token"], "other")["id"]  # the admin's job on another queue
    assert c["token"].get(f"/v1/jobs/{a}").json()["owner"] == "key:alice"
    assert c["token"].get(f"/v1/jobs/{o}").json()["owner"] is None

    def expect(who, method, path, want, body=None):
        reply = c[who].request(method, path, json=body)
        got = status_and_code(reply)
        if isinstance(want, int):
            assert got[0] == want, (who, method, path, reply)
        else:
            assert got == want, (who, method, path, reply)
        return reply

    # Enqueue: producers on their globs, the admin anywhere.
    expect("alice", "POST", "/v1/queues/chat-2/jobs", 202, {"x": 1})
    expect("alice", "POST", "/v1/queues/other/jobs", F("enqueue"), {"x": 1})
    expect("admin", "POST", "/v1/queues/other/jobs", 202, {"x": 1})
    for who in ("wchat", "rchat", "mon"):
        expect(who, "POST", "/v1/queues/chat/jobs", F("enqueue"), {"x": 1})
    expect("alice", "POST", "/chat", 202, {"x": 1})
    expect("rchat", "POST", "/chat", F("enqueue"), {"x": 1})

    # Reading a job: its owner, readers of its queue, the admin; others do not see it.
    for who in ("alice", "rchat", "admin", "token"):
        expect(who, "GET", f"/v1/jobs/{a}", 200)
        expect(who, "GET", f"/v1/jobs/{a}?after=0&wait=0.05", 200)
        expect(who, "GET", f"/chat/response/{a}", 202)
    for who in ("bob", "mon", "wother"):
        expect(who, "GET", f"/v1/jobs/{a}", NF)
        expect(who, "GET", f"/chat/response/{a}", NF)
        expect(who, "GET", f"/v1/jobs/{a}/events", NF)
    expect("wchat", "GET", f"/v1/jobs/{a}", F("read"))  # a worker of the queue sees it exists
    expect("alice", "GET", f"/v1/jobs/{o}", NF)
    expect("rchat", "GET", f"/v1/jobs/{o}", NF)
    # The 404 for a job that exists is the one for a job that does not.
    hidden = c["bob"].get(f"/v1/jobs/{a}").json()
    missing = c["bob"].get(f"/v1/jobs/{'0' * 36}").json()
    assert hidden["error"]["message"].replace(a, "ID") == missing["error"]["message"].replace(
        "0" * 36, "ID")

    # SSE: the same readers.
    for who, want in (("alice", 200), ("rchat", 200), ("bob", 404), ("wchat", 403)):
        stream = server.sse(f"/v1/jobs/{a}/events", headers={"Authorization": f"Bearer {keys[who]}"})
        assert stream.head() == want, (who, stream.items)
        stream.close()

    # Listing: only what the caller may read.
    def listed(who, queue=None):
        reply = expect(who, "GET", "/v1/jobs" + (f"?queue={queue}" if queue else ""), 200)
        return {j["id"] for j in reply.json()["jobs"]}
    assert a in listed("alice") and b not in listed("alice") and o not in listed("alice")
    assert {a, b} <= listed("rchat") and o not in listed("rchat")
    assert {a, b, o} <= listed("admin")
    for who in ("wchat", "mon"):
        expect(who, "GET", "/v1/jobs", F("list"))

    # Queue stats: readers and workers see their queues.
    def queues(who):
        return {q["queue"] for q in expect(who, "GET", "/v1/queues", 200).json()["queues"]}
    assert "chat" in queues("rchat") and "other" not in queues("rchat")
    assert queues("wother") == {"other"}
    assert {"chat", "other"} <= queues("admin")
    expect("alice", "GET", "/v1/queues", F("queues"))
    expect("mon", "GET", "/v1/queues", F("queues"))

    # Trace: readers and the admin. Retry: the admin only.
    expect("rchat", "GET", f"/v1/jobs/{a}/trace", 200)
    expect("alice", "GET", f"/v1/jobs/{a}/trace", F("trace"))
    expect("alice", "POST", f"/v1/jobs/{a}/retry", F("retry"))
    expect("rchat", "POST", f"/v1/jobs/{a}/retry", F("retry"))
    expect("admin", "POST", f"/v1/jobs/{a}/retry", (409, "conflict"))  # allowed; not failed

    # Metrics: the metrics role and the admin.
    expect("mon", "GET", "/metrics", 200)
    expect("admin", "GET", "/metrics", 200)
    for who in ("alice", "wchat", "rchat"):
        expect(who, "GET", "/metrics", F("metrics"))

    # Workers: lease on their queue; act on its jobs (the lease token is still required).
    expect("alice", "POST", "/v1/queues/chat/lease", F("lease"))
    expect("rchat", "POST", "/v1/queues/chat/lease", F("lease"))
    expect("wother", "POST", "/v1/queues/chat/lease", F("lease"))
    for action in ("events", "heartbeat", "complete", "fail"):
        expect("wchat", "POST", f"/v1/jobs/{a}/{action}", (409, "lease_lost"), {})
        expect("alice", "POST", f"/v1/jobs/{a}/{action}", F("work"), {})
        expect("rchat", "POST", f"/v1/jobs/{a}/{action}", F("work"), {})
        expect("wother", "POST", f"/v1/jobs/{a}/{action}", NF, {})
    leased = c["wchat"].post("/v1/queues/chat/lease", params={"wait": 2}, json={"worker": "w1"})
    assert leased.status == 200, leased
    job = leased.json()
    reply = c["wchat"].post(f"/v1/jobs/{job['id']}/complete", json={"result": "ok"},
                            headers={"X-Lease-Token": job["lease_token"]})
    assert reply.status == 200 and reply.json()["state"] == "completed", reply

    # Cancel: the producer that created the job, and the admin.
    expect("bob", "DELETE", f"/v1/jobs/{a}", NF)
    expect("rchat", "DELETE", f"/v1/jobs/{a}", F("cancel"))
    expect("wchat", "DELETE", f"/v1/jobs/{b}", F("cancel"))
    live = {job_of(c["alice"])["id"], job_of(c["alice"])["id"]}
    first, second = sorted(live)
    assert expect("alice", "DELETE", f"/v1/jobs/{first}", 200).json()["state"] == "canceled"
    assert expect("admin", "DELETE", f"/v1/jobs/{second}", 200).json()["state"] == "canceled"

    # Minting a fresh stream token: whoever may read the job.
    expect("alice", "POST", f"/v1/jobs/{b}/stream-token", NF)
    minted = expect("rchat", "POST", f"/v1/jobs/{b}/stream-token", 200).json()
    assert minted["stream_token"].startswith(f"rst1.{b}.")


def test_idempotency_keys_are_per_owner(api):
    _, c, _ = api
    h = {"Idempotency-Key": "same-key"}
    first = c["alice"].post("/v1/queues/chat/jobs", json={"n": 1}, headers=h)
    again = c["alice"].post("/v1/queues/chat/jobs", json={"n": 2}, headers=h)
    other = c["bob"].post("/v1/queues/chat/jobs", json={"n": 3}, headers=h)
    assert first.status == 202 and again.status == 200 and other.status == 202
    assert again.json()["id"] == first.json()["id"]
    # Bob's repeat of alice's key is a job of his own, never hers.
    assert other.json()["id"] != first.json()["id"]
    assert c["bob"].get(f"/v1/jobs/{other.json()['id']}").status == 200


def test_stream_token_reads_its_job_only(redge_factory, tmp_path):
    backend = acc.new_key()
    keyfile = acc.write_api_keys(tmp_path / "keys", [("producer", "*", backend, "app")])
    server = redge_factory("--api-keys", keyfile, "--stream-token-ttl", "2")
    app = server.http_with_token(backend)
    a, b = job_of(app), job_of(app)
    browser = server.http_with_token(a["stream_token"])
    assert browser.get(f"/v1/jobs/{a['id']}").status == 200
    assert browser.get(f"/v1/jobs/{a['id']}?after=0&wait=0.05").status == 200
    assert browser.get(f"/chat/response/{a['id']}").status == 202
    # As ?access_token= (EventSource) on its SSE routes.
    for path in (f"/v1/jobs/{a['id']}/events", f"/chat/stream/{a['id']}"):
        stream = server.sse(f"{path}?access_token={a['stream_token']}")
        assert stream.head() == 200
        assert stream.next_event().type == "queued"
        stream.close()
    # Another job: as if it did not exist. Anything but reading: refused.
    assert status_and_code(browser.get(f"/v1/jobs/{b['id']}")) == NF
    assert status_and_code(browser.get(f"/v1/jobs/{b['id']}/events")) == NF
    assert status_and_code(browser.delete(f"/v1/jobs/{a['id']}")) == F("cancel")
    assert status_and_code(browser.post(f"/v1/jobs/{a['id']}/stream-token")) == F("read")
    assert status_and_code(browser.post("/v1/queues/q/jobs", json={})) == F("enqueue")
    assert status_and_code(browser.get("/v1/jobs")) == F("list")
    assert status_and_code(browser.get(f"/v1/jobs/{a['id']}/trace")) == F("trace")
    # A token with its job id swapped does not verify.
    forged = a["stream_token"].replace(a["id"], b["id"])
    assert status_and_code(server.http_with_token(forged).get(f"/v1/jobs/{b['id']}")) == UN
    # After its expiry (2 s here): 401, and a fresh one from the backend works again.
    wait_until(lambda: browser.get(f"/v1/jobs/{a['id']}").status == 401, timeout=5,
               what="the stream token to expire")
    fresh = app.post(f"/v1/jobs/{a['id']}/stream-token").json()["stream_token"]
    assert server.http_with_token(fresh).get(f"/v1/jobs/{a['id']}").status == 200


def test_no_access_control_means_anonymous_admin(redge):
    # Loopback without credentials configured: open, as before roles existed; jobs have no
    # owner; the 202 still carries a stream token, which reads its job.
    created = job_of(redge.http)
    assert redge.http.get(f"/v1/jobs/{created['id']}").json()["owner"] is None
    assert redge.http.get("/metrics").status == 200
    assert redge.http_with_token("anything").get("/v1/queues").status == 200


def test_stream_key_rotation_with_a_grace_period(redge_factory, tmp_path):
    import signal
    import subprocess
    from redge_process import redge_binary
    backend = acc.new_key()
    keyfile = acc.write_api_keys(tmp_path / "keys", [("producer", "*", backend, "app")])
    server = redge_factory("--api-keys", keyfile)
    app = server.http_with_token(backend)
    old = job_of(app)
    old_kid = old["stream_token"].split(".")[3]
    res = subprocess.run([str(redge_binary()), "rotate-stream-key", str(server.data_dir), "2"],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res
    server.proc.send_signal(signal.SIGHUP)

    def new_kid():
        kid = job_of(app)["stream_token"].split(".")[3]
        return kid if kid != old_kid else None

    wait_until(new_kid, timeout=10, what="tokens signed with the new key after SIGHUP")
    browser = server.http_with_token(old["stream_token"])
    assert browser.get(f"/v1/jobs/{old['id']}").status == 200  # within the grace period
    wait_until(lambda: browser.get(f"/v1/jobs/{old['id']}").status == 401, timeout=10,
               what="the old key's grace period to end")
    fresh = app.post(f"/v1/jobs/{old['id']}/stream-token").json()["stream_token"]
    assert server.http_with_token(fresh).get(f"/v1/jobs/{old['id']}").status == 200
    assert (server.data_dir / "stream-token-keys").stat().st_mode & 0o777 == 0o600
