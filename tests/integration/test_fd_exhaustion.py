"""File descriptors: the connection limits come from RLIMIT_NOFILE with the store's share
reserved first (and the split is logged), and a store that ran out of descriptors writes
again by itself once they are back, without a restart."""

import json
import os
import resource
import socket

import pytest
import redis

import redge_process
from integration_support import KeepAlive, ResponseParser, wait_until

NOFILE = 300
VALUE = b"v" * (1 << 20)


def fd_plan(server):
    """The 'file descriptors' log line as a dict."""
    def find():
        for line in server.log_path.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("msg", "").startswith("file descriptors"):
                return entry
        return None
    return wait_until(find, timeout=5, what="the 'file descriptors' log line")


def test_connection_limits_leave_the_store_its_descriptors(redge_factory):
    server = redge_factory(nofile=(NOFILE, NOFILE))
    plan = fd_plan(server)
    resp_max, http_max = int(plan["resp_maxclients"]), int(plan["http_max_connections"])
    store, reserved = int(plan["store_table_files"]), int(plan["reserved"])
    assert int(plan["rlimit_nofile"]) == NOFILE
    assert resp_max + http_max + store + reserved == NOFILE, plan
    assert 0 < resp_max < 10000 and 0 < http_max < 11024, plan  # lowered, and said so

    clients = []
    for _ in range(resp_max):
        c = redis.Redis(host=server.host, port=server.resp_port, single_connection_client=True,
                        socket_timeout=10)
        assert c.ping()
        clients.append(c)
    extra = socket.create_connection((server.host, server.resp_port), timeout=10)
    assert extra.recv(100) == b"-ERR max number of clients reached\r\n"
    extra.close()

    conns = []
    for _ in range(http_max):
        k = KeepAlive(server.host, server.http_port)
        k.conn.request("GET", "/healthz")
        assert k.conn.getresponse().read() and True
        conns.append(k)
    extra = socket.create_connection((server.host, server.http_port), timeout=10)
    data = b""
    while chunk := extra.recv(65536):
        data += chunk
    p = ResponseParser()
    p.feed(data)
    assert p.status == 503, data
    extra.close()

    # With every connection slot taken, the store still opens new files: 70 MB of writes
    # switch memtables (a new WAL each time) and flush table files.
    writer = clients[0]
    for i in range(70):
        assert writer.set(f"k{i}", VALUE)
    assert writer.get("k69") == VALUE
    for c in clients:
        c.close()
    for k in conns:
        k.close()


def lowest_free_fd(pid):
    used = {int(n) for n in os.listdir(f"/proc/{pid}/fd")}
    return next(n for n in range(1 << 20) if n not in used)


@pytest.mark.skipif(redge_process.sanitized_build(), reason="the sanitizer runtime needs descriptors of its own (UBSan probes memory through a pipe)")
def test_store_writes_again_once_descriptors_are_back(redge_factory):
    server = redge_factory()
    pid = server.proc.pid
    r = redis.Redis(host=server.host, port=server.resp_port, single_connection_client=True,
                    socket_timeout=30)
    assert r.ping()
    ready = KeepAlive(server.host, server.http_port)  # opened before descriptors run out

    def readyz():
        ready.conn.request("GET", "/readyz")
        resp = ready.conn.getresponse()
        resp.read()
        return resp.status

    assert readyz() == 200
    soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    # No descriptor can be opened any more: every number below the limit is taken.
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (lowest_free_fd(pid), hard))
    acknowledged, error = 0, None
    try:
        for i in range(200):  # a new WAL is needed after 64 MB
            r.set(f"k{i}", VALUE)
            acknowledged += 1
    except redis.ResponseError as e:
        error = str(e)
    assert error and "Too many open files" in error, error
    assert readyz() == 503
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
    # No restart: the store notices by itself (RocksDB retries every second, /readyz
    # probes once a second).
    wait_until(lambda: readyz() == 200, timeout=15, interval=0.2,
               what="/readyz to turn 200 again")
    assert r.set("after", "1")
    for i in range(acknowledged):
        assert r.get(f"k{i}") == VALUE, i
    ready.close()
    r.close()
