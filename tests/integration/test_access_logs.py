"""No credential, token or payload reaches the log at info level: bearer tokens, API keys
(right and wrong), JWTs (valid, forged, expired), stream tokens (also as ?access_token=),
RESP passwords (AUTH, HELLO AUTH, ACL SETUSER >pass, CONFIG SET requirepass), job payloads
and results. Failures are logged, by address and reason only."""

import json
import signal
import time

import redis

import access_support as acc
from integration_support import enqueue, lease, wait_until, worker_call

SECRETS = {
    "token": "HTTP-TOKEN-SECRET-0001",
    "wrong_token": "WRONG-TOKEN-SECRET-0002",
    "jwt_secret": "JWT-SECRET-0003-that-is-long-enough-for-hs256",
    "requirepass": "REQUIREPASS-SECRET-0004",
    "wrong_pass": "WRONG-PASS-SECRET-0005",
    "acl_pass": "ACL-USER-PASS-SECRET-0006",
    "new_requirepass": "NEW-REQUIREPASS-SECRET-0007",
    "payload": "PAYLOAD-SECRET-0008",
    "result": "RESULT-SECRET-0009",
}


def test_no_secrets_in_the_log_at_info(redge_factory, tmp_path):
    producer, worker_key = acc.new_key(), acc.new_key()
    keys = acc.write_api_keys(tmp_path / "keys", [("producer", "*", producer, "app"),
                                                   ("worker", "*", worker_key, "w")])
    server = redge_factory("--log-level", "info", "--http-token", SECRETS["token"], "--api-keys",
                           keys, "--jwt-secret", SECRETS["jwt_secret"], "--requirepass",
                           SECRETS["requirepass"])
    secrets = dict(SECRETS, producer=producer, worker_key=worker_key)
    # HTTP: every kind of credential, right and wrong; a payload and a result.
    created = enqueue(server.http_with_token(producer), "q", {"secret": SECRETS["payload"]})
    secrets["stream_token"] = created["stream_token"]
    jwt_ok = acc.sign(acc.claims("user", iss=None, aud=None), SECRETS["jwt_secret"], "HS256")
    jwt_bad = acc.sign(acc.claims("user", iss=None, aud=None), "x" * 40, "HS256")
    jwt_old = acc.sign(acc.claims("user", iss=None, aud=None, ttl=-600), SECRETS["jwt_secret"],
                       "HS256")
    secrets.update(jwt_ok=jwt_ok, jwt_bad=jwt_bad, jwt_old=jwt_old)
    for t in (SECRETS["token"], SECRETS["wrong_token"], jwt_ok, jwt_bad, jwt_old,
              created["stream_token"], created["stream_token"][:-4] + "AAAA", producer + "x"):
        server.http_with_token(t).get(f"/v1/jobs/{created['id']}")
    server.http.get(f"/v1/jobs/{created['id']}?access_token={created['stream_token']}")
    stream = server.sse(f"/v1/jobs/{created['id']}/events?access_token={created['stream_token']}")
    assert stream.head() == 200
    w = server.http_with_token(worker_key)
    job = lease(w, "q", wait=5)
    assert worker_call(w, job["id"], "events", job["lease_token"],
                       {"event": "chunk", "data": SECRETS["payload"]}).status == 200
    assert worker_call(w, job["id"], "complete", job["lease_token"],
                       {"result": SECRETS["result"]}).status == 200
    secrets["lease_token"] = job["lease_token"]
    # RESP: passwords right and wrong, a new user's password, a new requirepass.
    for user, pw in (("default", SECRETS["wrong_pass"]), ("nobody", SECRETS["wrong_pass"])):
        try:
            server.client(username=user, password=pw, single_connection_client=True).ping()
        except redis.ResponseError:
            pass
    admin = server.client(password=SECRETS["requirepass"])
    admin.execute_command("HELLO", "2", "AUTH", "default", SECRETS["requirepass"])
    admin.execute_command("ACL", "SETUSER", "u", "on", ">" + SECRETS["acl_pass"], "+@all")
    admin.config_set("requirepass", SECRETS["new_requirepass"])
    server.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "reloaded" in server.log_path.read_text(), what="the reload line")
    log = server.log_path.read_text(errors="replace")
    assert "authentication failed" in log and "job enqueued" in log, log[-2000:]
    for name, value in secrets.items():
        assert value not in log, f"the log holds {name}"
    assert "access_token" not in log
