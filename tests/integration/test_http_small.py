"""Small defects of issue 11, each pinned: the bearer scheme is case-insensitive, an
HTTP/1.1 request needs exactly one Host, unknown expectations get 417, /ui/ serves the
dashboard, waits are plain decimals, queues "." and ".." are refused, a token of spaces is
refused at start, and accept errors never stop a listener."""

import errno
import pathlib
import socket
import subprocess

import pytest
import redis

from integration_support import ResponseParser, enqueue, redge_binary, wait_until

TOKEN = "t0ken-small"


def raw_request(server, data, timeout=10):
    s = socket.create_connection((server.host, server.http_port), timeout=timeout)
    server._closers.append(s.close)
    s.sendall(data)
    p = ResponseParser()
    while p.status is None or not p.done:
        chunk = s.recv(65536)
        if not chunk:
            p.feed_eof()
            break
        p.feed(chunk)
    return p


@pytest.mark.parametrize("header,status", [
    ("Bearer " + TOKEN, 200), ("bearer " + TOKEN, 200), ("BEARER " + TOKEN, 200),
    ("Bearer   " + TOKEN, 200), ("Basic " + TOKEN, 401), ("Bearer" + TOKEN, 401),
    ("bearer wrong", 401)])
def test_bearer_scheme_is_case_insensitive(redge_factory, header, status):
    server = redge_factory("--http-token", TOKEN)
    reply = server.http.get("/v1/queues", headers={"Authorization": header})
    assert reply.status == status, reply


def test_http11_needs_exactly_one_host(redge):
    p = raw_request(redge, b"GET /healthz HTTP/1.1\r\n\r\n")
    assert p.status == 400 and b"Host" in p.body, p.body
    p = raw_request(redge, b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
    assert p.status == 400, p.body
    p = raw_request(redge, b"GET /healthz HTTP/1.0\r\n\r\n")  # HTTP/1.0 may omit it
    assert p.status == 200, p.body
    p = raw_request(redge, b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
    assert p.status == 200, p.body


def test_unknown_expectation_is_417(redge):
    p = raw_request(redge, b"POST /v1/queues/q/jobs HTTP/1.1\r\nHost: a\r\nExpect: foo\r\n"
                           b"Content-Length: 2\r\n\r\n{}")
    assert p.status == 417, p.body
    assert b"expectation_failed" in p.body
    assert redis.Redis(port=redge.resp_port).llen("redge:queue:q") == 0


def test_ui_with_a_trailing_slash_is_the_dashboard(redge, http):
    reply = http.get("/ui/")
    assert reply.status == 200, reply
    assert reply.header("content-type").startswith("text/html")
    assert reply.body == http.get("/ui").body


@pytest.mark.parametrize("wait", ["0x10", "1e1", "inf", "nan", "+1", " 1", "1.2.3", "-1", ""])
def test_waits_are_plain_decimals(redge, http, wait):
    job_id = enqueue(http, "w", {"n": 1})["id"]
    assert http.get(f"/v1/jobs/{job_id}", params={"wait": wait}).status == 400
    assert http.post("/v1/queues/w/lease", params={"wait": wait}).status == 400


def test_decimal_waits_still_work(redge, http):
    job_id = enqueue(http, "w", {"n": 1})["id"]
    assert http.get(f"/v1/jobs/{job_id}", params={"wait": ".2"}).status == 200
    assert http.post("/v1/queues/empty/lease", params={"wait": "0.1"}).status == 204


def test_dot_queue_names_are_refused(redge, http):
    for queue in (".", ".."):
        for path in (f"/v1/queues/{queue}/jobs", f"/v1/queues/{queue}/lease"):
            p = raw_request(redge, f"POST {path} HTTP/1.1\r\nHost: a\r\nContent-Length: 2"
                                   f"\r\n\r\n{{}}".encode())
            assert p.status == 400, (path, p.body)
    assert enqueue(http, "...", {"n": 1})["queue"] == "..."


@pytest.mark.parametrize("flags", [("--http-token", "   "), ("--http-token", "two words"),
                                   ("--lease-timeout", "0x10"), ("--sse-heartbeat", "inf")])
def test_bad_settings_refused_at_start(tmp_path, flags):
    proc = subprocess.run([str(redge_binary()), "--data-dir", str(tmp_path / "d"),
                           "--resp", "127.0.0.1:0", "--http", "127.0.0.1:0", *flags],
                          capture_output=True, timeout=30)
    assert proc.returncode == 2, proc
    assert flags[0].encode() in proc.stderr, proc.stderr
    if flags[0] == "--http-token":
        assert flags[1].encode() not in proc.stderr  # a secret is not echoed


FAULT_LIB = pathlib.Path(redge_binary()).parent / "tests" / "libfault_accept.so"


@pytest.mark.parametrize("err", [errno.ENOBUFS, errno.EPERM, errno.EMFILE])
def test_accept_errors_never_stop_the_listeners(redge_factory, monkeypatch, err):
    assert FAULT_LIB.exists(), f"{FAULT_LIB} is not built"
    monkeypatch.setenv("LD_PRELOAD", str(FAULT_LIB))
    monkeypatch.setenv("REDGE_FAULT_ACCEPT4", f"{err},6")
    server = redge_factory()
    monkeypatch.delenv("LD_PRELOAD")
    r = redis.Redis(host=server.host, port=server.resp_port, socket_timeout=10)
    assert r.ping()
    assert server.http.get("/healthz").status == 200
    if err != errno.EPERM:  # a pending connection's own error is retried silently
        wait_until(lambda: "accept failed" in server.log_path.read_text(errors="replace"),
                   timeout=5, what="the accept error to be logged")
    r.close()
