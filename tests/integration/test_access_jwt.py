"""JWT bearer tokens: HS256 with --jwt-secret, RS256/ES256 from a --jwt-jwks file (a
Firebase-style ID token among them), and everything that must be refused: forged,
tampered, expired, not yet valid, wrong audience, wrong issuer, `alg: none`, HS/RS-confused
tokens. JWKS rotation on SIGHUP; roles from a claim; SSE streams that end with
`auth_expired` when their token expires or their API key is revoked."""

import signal
import time

import pytest

import access_support as acc
from integration_support import wait_until

SECRET = "s3cret-of-at-least-thirty-two-bytes!"
ISS, AUD = "https://issuer.test", "redge-test"


def hs(payload):
    return acc.sign(payload, SECRET, "HS256")


@pytest.fixture
def hs_server(redge_factory):
    return redge_factory("--jwt-secret", SECRET, "--jwt-issuer", ISS, "--jwt-audience", AUD)


def enqueue_as(server, token, queue="chat"):
    reply = server.http_with_token(token).post(f"/v1/queues/{queue}/jobs", json={"q": 1})
    assert reply.status == 202, reply
    return reply.json()["id"]


def refused(server, token, path="/v1/queues/chat/jobs"):
    reply = server.http_with_token(token).post(path, json={"q": 1})
    assert reply.status == 401, reply
    assert reply.error_code() == "unauthorized"
    return reply


def test_hs256_users_own_their_jobs(hs_server):
    alice, bob = hs(acc.claims("alice")), hs(acc.claims("bob"))
    job = enqueue_as(hs_server, alice)
    assert hs_server.http_with_token(alice).get(f"/v1/jobs/{job}").json()["owner"] == "jwt:alice"
    assert hs_server.http_with_token(bob).get(f"/v1/jobs/{job}").status == 404
    assert hs_server.http_with_token(bob).delete(f"/v1/jobs/{job}").status == 404
    assert hs_server.http_with_token(alice).delete(f"/v1/jobs/{job}").status == 200
    # The default role is producer on every queue: no metrics, no leases.
    assert hs_server.http_with_token(alice).get("/metrics").status == 403
    assert hs_server.http_with_token(alice).post("/v1/queues/chat/lease").status == 403


def test_bad_hs256_tokens_are_refused(hs_server):
    good = acc.claims("mallory")
    refused(hs_server, acc.sign(good, "another-secret-that-is-32-bytes-long", "HS256"))
    token = hs(good)
    head, payload, sig = token.split(".")
    tampered = acc.b64url(b'{"sub":"admin","iss":"%s","aud":"%s","exp":%d}' % (
        ISS.encode(), AUD.encode(), int(time.time()) + 300))
    refused(hs_server, f"{head}.{tampered}.{sig}")
    refused(hs_server, acc.unsigned(good))
    refused(hs_server, acc.unsigned(good, {"alg": "None"}))
    refused(hs_server, f"{head}.{payload}.")
    refused(hs_server, hs(acc.claims(ttl=-120)))                     # expired
    refused(hs_server, hs(acc.claims(nbf=int(time.time()) + 600)))   # not yet valid
    refused(hs_server, hs(acc.claims(iat=int(time.time()) + 600)))   # issued in the future
    refused(hs_server, hs(acc.claims(aud="someone-else")))
    refused(hs_server, hs(acc.claims(aud=None)))
    refused(hs_server, hs(acc.claims(iss="https://evil.test")))
    refused(hs_server, hs({k: v for k, v in good.items() if k != "exp"}))  # no expiry
    refused(hs_server, hs(acc.claims(sub="")))
    refused(hs_server, "not.a.jwt")
    # Within the default 60 s clock skew an expired token still passes.
    assert enqueue_as(hs_server, hs(acc.claims(ttl=-30)))


def test_expired_tokens_are_not_held_like_guesses(hs_server):
    expired = hs(acc.claims(ttl=-120))
    started = time.monotonic()
    for _ in range(8):
        refused(hs_server, expired)
    assert time.monotonic() - started < 0.5  # a stale credential is not a guess
    forged = acc.sign(acc.claims(), "another-secret-that-is-32-bytes-long", "HS256")
    started = time.monotonic()
    for _ in range(8):
        refused(hs_server, forged)
    assert time.monotonic() - started >= 0.6  # guesses past the 5 free ones are held


@pytest.fixture
def jwks_setup(redge_factory, tmp_path):
    rsa1, ec1 = acc.rsa_key(), acc.p256_key()
    jwks = acc.write_jwks(tmp_path / "jwks.json", [(rsa1, "rsa-1"), (ec1, "ec-1")])
    server = redge_factory("--jwt-jwks", jwks, "--jwt-issuer", ISS, "--jwt-audience", AUD,
                           "--jwt-secret", SECRET)
    return server, jwks, rsa1, ec1


def test_rs256_and_es256_from_the_jwks(jwks_setup):
    server, _, rsa1, ec1 = jwks_setup
    assert enqueue_as(server, acc.sign(acc.claims("r"), rsa1, "RS256", kid="rsa-1"))
    assert enqueue_as(server, acc.sign(acc.claims("e"), ec1, "ES256", kid="ec-1"))
    assert enqueue_as(server, acc.sign(acc.claims("r"), rsa1, "RS256"))  # no kid: tried
    refused(server, acc.sign(acc.claims(), rsa1, "RS256", kid="rsa-9"))
    refused(server, acc.sign(acc.claims(), acc.rsa_key(), "RS256", kid="rsa-1"))
    refused(server, acc.sign(acc.claims(), rsa1, "RS512", kid="rsa-1"))
    refused(server, acc.sign(acc.claims(), ec1, "ES256", kid="rsa-1"))  # kid of another alg


def test_hs_rs_confusion_is_refused(jwks_setup):
    server, _, rsa1, _ = jwks_setup
    pem = acc.public_pem(rsa1)
    refused(server, acc.hs256_with(pem, acc.claims("attacker"), {"kid": "rsa-1"}))
    refused(server, acc.hs256_with(pem, acc.claims("attacker"), {}))


def test_firebase_id_token(redge_factory, tmp_path):
    # Google's securetoken JWKS holds several RSA keys; a Firebase ID token names one by kid.
    google = [(acc.rsa_key(), f"k{i}") for i in range(3)]
    jwks = acc.write_jwks(tmp_path / "securetoken.json", google)
    project = "my-firebase-app"
    server = redge_factory("--jwt-jwks", jwks, "--jwt-audience", project, "--jwt-issuer",
                           f"https://securetoken.google.com/{project}")
    key, kid = google[1]
    token = acc.sign(acc.firebase_claims(project, "uid-42"), key, "RS256", kid=kid)
    job = enqueue_as(server, token)
    assert server.http_with_token(token).get(f"/v1/jobs/{job}").json()["owner"] == "jwt:uid-42"
    # The same keys sign every Firebase project's tokens: another project's is refused.
    refused(server, acc.sign(acc.firebase_claims("another-app", "uid-42"), key, "RS256", kid=kid))


def test_jwks_without_audience_is_refused_at_start(tmp_path):
    import subprocess
    from redge_process import redge_binary
    jwks = acc.write_jwks(tmp_path / "jwks.json", [(acc.rsa_key(), "k")])
    res = subprocess.run([str(redge_binary()), "--jwt-jwks", str(jwks), "--data-dir",
                          str(tmp_path / "d"), "--resp", "off", "--http", "127.0.0.1:0"],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 2 and "--jwt-audience" in res.stderr, res.stderr


def test_jwks_rotation_on_sighup(jwks_setup, tmp_path):
    server, jwks, rsa1, _ = jwks_setup
    old = acc.sign(acc.claims("u"), rsa1, "RS256", kid="rsa-1")
    assert enqueue_as(server, old)
    rsa2 = acc.rsa_key()
    new = acc.sign(acc.claims("u"), rsa2, "RS256", kid="rsa-2")
    refused(server, new)
    acc.write_jwks(jwks, [(rsa2, "rsa-2")])
    server.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: server.http_with_token(new).get("/v1/jobs").status == 200, timeout=10,
               what="the new JWKS key to be accepted after SIGHUP")
    refused(server, old)
    # A broken JWKS file keeps the keys that were loaded (and the error is logged).
    jwks.write_text("{not json")
    server.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "kept the previous credentials" in server.log_path.read_text(),
               timeout=10, what="the reload error in the log")
    assert server.http_with_token(new).get("/v1/jobs").status == 200


def test_roles_from_a_claim(redge_factory):
    server = redge_factory("--jwt-secret", SECRET, "--jwt-roles-claim", "app.roles",
                           "--jwt-default-role", "none")
    producer = hs(acc.claims("p", iss=None, aud=None, app={"roles": ["producer:chat"]}))
    reader = hs(acc.claims("r", iss=None, aud=None, app={"roles": "reader:chat metrics"}))
    nobody = hs(acc.claims("n", iss=None, aud=None))
    job = enqueue_as(server, producer)
    assert server.http_with_token(reader).get(f"/v1/jobs/{job}").status == 200
    assert server.http_with_token(reader).get("/metrics").status == 200
    assert server.http_with_token(reader).post("/v1/queues/chat/jobs", json={}).status == 403
    assert server.http_with_token(producer).post("/v1/queues/other/jobs", json={}).status == 403
    reply = server.http_with_token(nobody).post("/v1/queues/chat/jobs", json={})
    assert reply.status == 403 and reply.error_code() == "forbidden_enqueue", reply


def test_sse_ends_with_auth_expired_when_the_token_expires(redge_factory):
    server = redge_factory("--jwt-secret", SECRET, "--jwt-clock-skew", "0")
    token = hs(acc.claims("u", iss=None, aud=None, ttl=3))
    job = enqueue_as(server, token)
    stream = server.sse(f"/v1/jobs/{job}/events", headers={"Authorization": f"Bearer {token}"},
                        timeout=10)
    assert stream.head() == 200
    assert stream.next_event().type == "queued"
    ev = stream.next_event(timeout=10)
    assert ev.type == "auth_expired" and ev.id is None, ev
    assert ev.json["error"]["code"] == "auth_expired"
    stream.expect_end(timeout=5)
    # A long-poll with that token is refused now; a fresh one resumes after event 1.
    assert server.http_with_token(token).get(f"/v1/jobs/{job}").status == 401
    fresh = hs(acc.claims("u", iss=None, aud=None))
    assert server.http_with_token(fresh).get(f"/v1/jobs/{job}?after=1").json()["events"] == []


def test_sse_of_a_revoked_api_key_ends_on_sighup(redge_factory, tmp_path):
    keep, revoke = acc.new_key(), acc.new_key()
    keys = acc.write_api_keys(tmp_path / "keys", [("producer", "*", keep, "keep"),
                                                   ("reader", "*", revoke, "gone")])
    server = redge_factory("--api-keys", keys)
    job = enqueue_as(server, keep)
    kept = server.sse(f"/v1/jobs/{job}/events", headers={"Authorization": f"Bearer {keep}"})
    doomed = server.sse(f"/v1/jobs/{job}/events?access_token={revoke}")
    assert kept.head() == 200 and doomed.head() == 200
    assert doomed.next_event().type == "queued" and kept.next_event().type == "queued"
    acc.write_api_keys(keys, [("producer", "*", keep, "keep")])
    server.proc.send_signal(signal.SIGHUP)
    assert doomed.next_event(timeout=10).type == "auth_expired"
    doomed.expect_end(timeout=5)
    assert server.http_with_token(revoke).get(f"/v1/jobs/{job}").status == 401
    # The other stream goes on: it still gets the job's events.
    server.http_with_token(keep).delete(f"/v1/jobs/{job}")
    assert kept.next_event(timeout=10).type == "canceled"
