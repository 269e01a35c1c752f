"""TLS on both listeners (--tls-cert/--tls-key, --tls-client-ca), with a test CA made per
test: curl --cacert (plain requests and a live SSE stream), redis-cli --tls, redis-py
ssl=True (commands, a 4 MB value, pub/sub, a blocking pop), TLS 1.2+ only, mutual TLS,
certificate reload on SIGHUP without dropping open connections, and the refusal to bind a
non-loopback address without TLS or credentials."""

import json
import signal
import ssl
import subprocess

import pytest
import redis

import access_support as acc
from integration_support import wait_until
from redge_process import redge_binary

CURL = ["curl", "-sS", "--max-time", "20"]


@pytest.fixture
def ca(tmp_path):
    return acc.TestCa(tmp_path / "ca")


@pytest.fixture
def tls_server(redge_factory, ca):
    cert, key = ca.issue("localhost")
    return redge_factory("--tls-cert", cert, "--tls-key", key)


def curl(*args, check=True):
    res = subprocess.run(CURL + [str(a) for a in args], capture_output=True, text=True, timeout=30)
    if check:
        assert res.returncode == 0, res
    return res


def tls_redis(server, ca, **kw):
    c = redis.Redis(host="127.0.0.1", port=server.resp_port, ssl=True, ssl_ca_certs=str(ca.ca_path),
                    decode_responses=True, socket_timeout=20, **kw)
    server._closers.append(c.close)
    return c


def test_https_with_curl(tls_server, ca):
    base = f"https://127.0.0.1:{tls_server.http_port}"
    assert json.loads(curl("--cacert", ca.ca_path, f"{base}/healthz").stdout) == {"status": "ok"}
    created = json.loads(curl("--cacert", ca.ca_path, "-H", "Content-Type: application/json",
                              "-d", '{"prompt": "hi"}', f"{base}/v1/queues/demo/jobs").stdout)
    assert created["state"] == "queued"
    # The name in the certificate is checked (localhost and 127.0.0.1 are in it).
    curl("--cacert", ca.ca_path, f"https://localhost:{tls_server.http_port}/healthz")
    # Not trusted without the CA; plain HTTP gets no answer; TLS 1.1 is refused.
    assert curl(f"{base}/healthz", check=False).returncode == 60
    assert curl(f"http://127.0.0.1:{tls_server.http_port}/healthz", check=False).returncode != 0
    assert curl("--cacert", ca.ca_path, "--tls-max", "1.1", f"{base}/healthz",
                check=False).returncode == 35
    assert curl("--cacert", ca.ca_path, "--tlsv1.2", "--tls-max", "1.2",
                f"{base}/healthz").stdout.startswith("{")


def test_live_sse_over_tls(tls_server, ca):
    base = f"https://127.0.0.1:{tls_server.http_port}"
    job = json.loads(curl("--cacert", ca.ca_path, "-d", "{}", f"{base}/v1/queues/q/jobs").stdout)
    stream = subprocess.Popen(CURL + ["-N", "--cacert", str(ca.ca_path),
                                      f"{base}/v1/jobs/{job['id']}/events"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert stream.stdout.readline().startswith("retry:")
        assert stream.stdout.readline() == "\n"
        assert stream.stdout.readline() == "id: 1\n"  # queued: the stream is live now
        w = tls_redis(tls_server, ca)
        _, envelope = w.brpop("redge:queue:q", timeout=10)
        for i in range(200):
            w.publish(f"redge:progress:{job['id']}", json.dumps({"event": "chunk", "n": i}))
        w.set(f"redge:response:{job['id']}", json.dumps({"ok": True}))
        out, _ = stream.communicate(timeout=20)
    finally:
        stream.kill()
    assert stream.returncode == 0
    ids = [int(line[4:]) for line in out.splitlines() if line.startswith("id: ")]
    assert ids == list(range(2, 204)), ids[:5]  # started, 200 chunks, completed
    assert "event: completed" in out


def test_redis_cli_and_redis_py_over_tls(tls_server, ca, tmp_path):
    cli = ["redis-cli", "--tls", "--cacert", str(ca.ca_path), "-p", str(tls_server.resp_port)]
    assert subprocess.run(cli + ["PING"], capture_output=True, text=True).stdout == "PONG\n"
    assert subprocess.run(cli + ["SET", "k", "v"], capture_output=True, text=True).stdout == "OK\n"
    # 20,000 pipelined commands in one go (redis-cli --pipe): partial TLS writes both ways.
    proto = tmp_path / "pipe.txt"
    proto.write_text("".join(f"RPUSH big {i}\r\n" for i in range(20000)))
    with open(proto) as f:
        res = subprocess.run(cli + ["--pipe"], stdin=f, capture_output=True, text=True, timeout=60)
    assert "errors: 0, replies: 20000" in res.stdout, res
    r = tls_redis(tls_server, ca)
    assert r.get("k") == "v" and r.llen("big") == 20000
    value = "x" * (4 << 20)
    assert r.set("large", value) and r.get("large") == value
    # Pub/sub and a blocking pop across two TLS connections.
    sub = tls_redis(tls_server, ca).pubsub()
    sub.subscribe("news")
    assert sub.get_message(timeout=5)["type"] == "subscribe"
    assert r.publish("news", "hello") == 1
    assert sub.get_message(timeout=5)["data"] == "hello"
    sub.close()
    blocked = tls_redis(tls_server, ca)
    import threading
    got = {}
    t = threading.Thread(target=lambda: got.update(v=blocked.blpop("jobs", timeout=10)))
    t.start()
    wait_until(lambda: r.info("clients")["blocked_clients"] == 1, what="the BLPOP to park")
    r.rpush("jobs", "j1")
    t.join(10)
    assert got["v"] == ("jobs", "j1")
    # Plain RESP on the TLS port gets nothing.
    with pytest.raises(redis.ConnectionError):
        redis.Redis(port=tls_server.resp_port, socket_timeout=5).ping()
    # TLS 1.2 negotiates; 1.1 does not.
    ctx = ssl.create_default_context(cafile=str(ca.ca_path))
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    import socket
    with socket.create_connection(("127.0.0.1", tls_server.resp_port)) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            assert s.version() == "TLSv1.2"
            s.sendall(b"PING\r\n")
            assert s.recv(16) == b"+PONG\r\n"


def test_mutual_tls(redge_factory, ca):
    cert, key = ca.issue("localhost")
    client_cert, client_key = ca.issue("worker-1", server=False)
    other = acc.TestCa(ca.dir.parent / "other", "another CA")
    stranger_cert, stranger_key = other.issue("stranger", server=False)
    server = redge_factory("--tls-cert", cert, "--tls-key", key, "--tls-client-ca", ca.ca_path)
    url = f"https://127.0.0.1:{server.http_port}/healthz"
    assert curl("--cacert", ca.ca_path, url, check=False).returncode != 0
    assert curl("--cacert", ca.ca_path, "--cert", stranger_cert, "--key", stranger_key, url,
                check=False).returncode != 0
    assert curl("--cacert", ca.ca_path, "--cert", client_cert, "--key", client_key,
                url).stdout.startswith('{"status":"ok"}')
    r = tls_redis(server, ca, ssl_certfile=str(client_cert), ssl_keyfile=str(client_key))
    assert r.ping()
    with pytest.raises(redis.ConnectionError):
        tls_redis(server, ca).ping()


def test_certificate_reload_on_sighup(redge_factory, ca, tmp_path):
    cert, key = ca.issue("localhost")
    server = redge_factory("--tls-cert", cert, "--tls-key", key)
    before = tls_redis(server, ca)
    assert before.set("k", "1")
    renewed = acc.TestCa(tmp_path / "renewed", "renewed CA")
    new_cert, new_key = renewed.issue("localhost")
    cert.write_bytes(new_cert.read_bytes())
    key.write_bytes(new_key.read_bytes())
    server.proc.send_signal(signal.SIGHUP)
    url = f"https://127.0.0.1:{server.http_port}/healthz"
    wait_until(lambda: curl("--cacert", renewed.ca_path, url, check=False).returncode == 0,
               timeout=10, what="the renewed certificate to be served")
    assert curl("--cacert", ca.ca_path, url, check=False).returncode == 60
    assert before.get("k") == "1"  # an open connection keeps going
    assert tls_redis(server, renewed).get("k") == "1"
    # A broken certificate file keeps the one in use.
    cert.write_text("not a certificate")
    server.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "kept the previous TLS certificate" in server.log_path.read_text(),
               timeout=10, what="the reload error in the log")
    assert curl("--cacert", renewed.ca_path, url).returncode == 0


def run_redge(tmp_path, *args):
    return subprocess.run([str(redge_binary()), "--data-dir", str(tmp_path / "data"),
                           "--log-level", "warn", *[str(a) for a in args]],
                          capture_output=True, text=True, timeout=30)


def test_non_loopback_needs_tls_and_credentials(redge_factory, ca, tmp_path):
    cert, key = ca.issue("localhost")
    tls = ["--tls-cert", cert, "--tls-key", key]
    res = run_redge(tmp_path, "--resp", "off", "--http", "0.0.0.0:0", "--http-token", "t" * 20)
    assert res.returncode == 2 and "without TLS" in res.stderr, res.stderr
    res = run_redge(tmp_path, "--resp", "off", "--http", "0.0.0.0:0", *tls)
    assert res.returncode == 2 and "without credentials" in res.stderr, res.stderr
    assert "TLS" not in res.stderr.split("without", 1)[1], res.stderr
    res = run_redge(tmp_path, "--http", "off", "--resp", "0.0.0.0:0", "--requirepass", "pw")
    assert res.returncode == 2 and "RESP" in res.stderr and "without TLS" in res.stderr
    res = run_redge(tmp_path, "--http", "off", "--resp", "0.0.0.0:0", *tls)
    assert res.returncode == 2 and "--requirepass" in res.stderr, res.stderr
    res = run_redge(tmp_path, "--tls-cert", cert)
    assert res.returncode == 2 and "go together" in res.stderr, res.stderr
    assert not (tmp_path / "data").exists()  # refused before anything was opened
    # TLS and credentials: both listeners on every interface.
    server = redge_factory("--http", "0.0.0.0:0", "--resp", "0.0.0.0:0", "--http-token",
                           "tok-12345678", "--requirepass", "pw", *tls)
    url = f"https://127.0.0.1:{server.http_port}/v1/jobs"
    assert curl("--cacert", ca.ca_path, "-o", "/dev/null", "-w", "%{http_code}", url).stdout == "401"
    r = tls_redis(server, ca, password="pw")
    assert r.ping()
    # --insecure is the explicit opt-out.
    server = redge_factory("--http", "0.0.0.0:0", "--resp", "0.0.0.0:0", "--insecure")
    assert server.http.get("/healthz").status == 200


def test_redge_worker_and_redgectl_over_https_with_api_keys(redge_factory, ca, tmp_path):
    cert, key = ca.issue("localhost")
    producer, worker_key = acc.new_key(), acc.new_key()
    keys = acc.write_api_keys(tmp_path / "keys", [("producer", "jobs", producer, "cli"),
                                                   ("worker", "jobs", worker_key, "w")])
    server = redge_factory("--tls-cert", cert, "--tls-key", key, "--api-keys", keys)
    url = f"https://localhost:{server.http_port}"
    build = redge_binary().parent
    worker = subprocess.Popen([str(build / "redge-worker"), "--url", url, "--queue", "jobs",
                               "--token", worker_key, "--cacert", str(ca.ca_path), "--",
                               "sh", "-c", "echo started; cat"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        res = subprocess.run([str(build / "redgectl"), "--url", url, "--token", producer,
                              "--cacert", str(ca.ca_path), "--json", "enqueue", "jobs",
                              '{"q": "over tls"}', "--wait"],
                             capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res
        assert "completed" in res.stdout, res.stdout
        # Without the CA the certificate is not trusted: unreachable (exit 3).
        res = subprocess.run([str(build / "redgectl"), "--url", url, "--token", producer,
                              "status"], capture_output=True, text=True, timeout=30,
                             env={"PATH": "/usr/bin:/bin"})
        assert res.returncode == 3, res
    finally:
        worker.terminate()
        worker.wait(timeout=20)


def test_many_tls_streams_a_stalled_reader_and_stalled_handshakes(tls_server, ca):
    """Handshakes run inside the event loops without blocking them: connections that
    stall mid-handshake (or never start it) and a TLS reader that stops reading while 4 MB
    of events pile up for it delay nobody; 10 TLS streams each get every event once, in
    order, and the stalled reader gets everything once it reads."""
    import socket
    import threading

    base = f"https://127.0.0.1:{tls_server.http_port}"

    def new_job(queue):
        return json.loads(curl("--cacert", ca.ca_path, "-d", "{}",
                               f"{base}/v1/queues/{queue}/jobs").stdout)["id"]

    fast_job, slow_job = new_job("fast"), new_job("slow")
    ctx = ssl.create_default_context(cafile=str(ca.ca_path))

    def request(job_id):
        return f"GET /v1/jobs/{job_id}/events HTTP/1.1\r\nHost: localhost\r\n\r\n".encode()

    # Never finish a handshake: a bare TCP connection, and one that sent half a ClientHello.
    idle = socket.create_connection(("127.0.0.1", tls_server.http_port))
    half = socket.create_connection(("127.0.0.1", tls_server.resp_port))
    half.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
    # A TLS SSE reader that reads nothing for now.
    slow_raw = socket.socket()
    slow_raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow_raw.connect(("127.0.0.1", tls_server.http_port))
    slow = ctx.wrap_socket(slow_raw, server_hostname="localhost")
    slow.sendall(request(slow_job))

    def read_until_completed(s):
        data = b""
        while b"event: completed" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return [int(line[4:]) for line in data.decode().splitlines() if line.startswith("id: ")]

    results = {}

    def reader(n):
        with socket.create_connection(("127.0.0.1", tls_server.http_port), timeout=30) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                s.sendall(request(fast_job))
                results[n] = read_until_completed(s)

    w = tls_redis(tls_server, ca)
    w.brpop("redge:queue:slow", timeout=10)
    big = "x" * 100_000
    for i in range(40):  # 4 MB for the stalled reader: more than the kernel buffers take
        w.publish(f"redge:progress:{slow_job}", json.dumps({"event": "chunk", "n": i, "b": big}))
    w.set(f"redge:response:{slow_job}", json.dumps({"ok": True}))

    def held():
        text = curl("--cacert", ca.ca_path, f"{base}/metrics").stdout
        line = [x for x in text.splitlines() if x.startswith("redge_output_buffer_bytes ")][0]
        return float(line.split()[1]) > 16384
    # The stalled reader really is stalled: redge holds its unsent (encrypted) output.
    wait_until(held, timeout=10, what="output held for the stalled TLS reader")

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    w.brpop("redge:queue:fast", timeout=10)
    for i in range(300):
        w.publish(f"redge:progress:{fast_job}", json.dumps({"event": "chunk", "n": i}))
    w.set(f"redge:response:{fast_job}", json.dumps({"ok": True}))
    for t in threads:
        t.join(60)
    assert len(results) == 10
    for ids in results.values():
        assert ids == list(range(1, 304)), (len(ids), ids[:3], ids[-3:])
    # The stalled reader catches up with everything once it reads.
    slow.settimeout(30)
    assert read_until_completed(slow) == list(range(1, 44))
    # Meanwhile the stalled handshakes held nothing up, and RESP still answers.
    assert w.ping()
    for s in (slow, idle, half):
        s.close()


CELERY_TLS_APP = '''
import os
import ssl

from celery import Celery

URL = os.environ["TLS_URL"]
TLS = {"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_ca_certs": os.environ["TLS_CA"]}
app = Celery("tlsapp", broker=URL, backend=URL)
app.conf.update(broker_use_ssl=TLS, redis_backend_use_ssl=TLS, task_serializer="json",
                result_serializer="json", accept_content=["json"])


@app.task(bind=True)
def add(self, x, y):
    self.update_state(state="PROGRESS", meta={"step": 1})
    return x + y
'''


def test_celery_worker_over_rediss(tls_server, ca, tmp_path):
    # A stock Celery worker and producer with broker and backend rediss:// (CA verified):
    # the task runs, its result comes back, and the bridge shows it as a job over HTTPS.
    import os
    import sys
    (tmp_path / "tlsapp.py").write_text(CELERY_TLS_APP)
    env = dict(os.environ, PYTHONPATH=str(tmp_path), PYTHONDONTWRITEBYTECODE="1",
               TLS_URL=f"rediss://localhost:{tls_server.resp_port}/0", TLS_CA=str(ca.ca_path))
    log = open(tmp_path / "worker.log", "w+")
    worker = subprocess.Popen(
        ["/usr/bin/python3", "-m", "celery", "-A", "tlsapp", "worker", "--pool", "solo",
         "--hostname", "tlsw@%h", "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: " ready." in (tmp_path / "worker.log").read_text(), timeout=60,
                   what="the Celery worker over TLS to log 'ready.'")
        sys.path.insert(0, str(tmp_path))
        os.environ["TLS_URL"], os.environ["TLS_CA"] = env["TLS_URL"], env["TLS_CA"]
        try:
            import tlsapp
            result = tlsapp.add.delay(2, 3)
            assert result.get(timeout=60) == 5
            tlsapp.app.close()
        finally:
            sys.path.remove(str(tmp_path))
            sys.modules.pop("tlsapp", None)
            os.environ.pop("TLS_URL", None)
            os.environ.pop("TLS_CA", None)
        body = json.loads(curl("--cacert", ca.ca_path,
                               f"https://localhost:{tls_server.http_port}/v1/jobs/{result.id}"
                               "?after=0").stdout)
        assert body["state"] == "completed" and body["result"] == 5, body
        assert [e["event"] for e in body["events"]] == ["queued", "started", "progress",
                                                       "completed"], body["events"]
    finally:
        worker.terminate()
        worker.wait(30)
        log.close()
