"""Output buffers of RESP clients: client-output-buffer-limit for normal clients (hard and
soft, CONFIG GET/SET in Redis's format), backpressure for a client that pipelines without
reading its replies (memory stays bounded, the other clients of its loop are served
promptly), and output dropped and memory returned when a client leaves."""

import socket
import threading
import time

import pytest

from compat_support import RawConn, wait_until

ERR_PREFIX = ("ERR CONFIG SET failed (possibly related to argument "
              "'client-output-buffer-limit') - ")
DEFAULT = ("normal 1073741824 0 0 slave 268435456 67108864 60 "
           "pubsub 33554432 8388608 60")


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def info_stat(r, name):
    return int(r.info("stats")[name])


def test_config_get_and_set_in_redis_format(redge, r):
    assert r.config_get("client-output-buffer-limit") == {"client-output-buffer-limit": DEFAULT}
    assert r.config_set("client-output-buffer-limit", "normal 10mb 5mb 30 pubsub 1gb 0 0")
    assert r.config_get("client-output-buffer-limit")["client-output-buffer-limit"] == (
        "normal 10485760 5242880 30 slave 268435456 67108864 60 pubsub 1073741824 0 0")
    assert r.config_set("client-output-buffer-limit", "replica 1 2 3 NORMAL 4kb 1k 0")
    assert r.config_get("client-output-buffer-limit")["client-output-buffer-limit"] == (
        "normal 4096 1000 0 slave 1 2 3 pubsub 1073741824 0 0")
    c = redge.raw()
    for value, err in [
            ("normal 1 2", "Wrong number of arguments in buffer limit configuration."),
            ("master 1 2 3", "Invalid client class specified in buffer limit configuration."),
            ("normal 1x 2 3",
             "Error in hard, soft or soft_seconds setting in buffer limit configuration."),
            ("normal -1 0 0",
             "Error in hard, soft or soft_seconds setting in buffer limit configuration."),
            ("normal 1 2 3 pubsub 1 2 -3",
             "Error in hard, soft or soft_seconds setting in buffer limit configuration.")]:
        assert c.call("CONFIG", "SET", "client-output-buffer-limit", value) == ERR_PREFIX + err
    # A refused value changes nothing, not even its valid part.
    assert r.config_get("client-output-buffer-limit")["client-output-buffer-limit"] == (
        "normal 4096 1000 0 slave 1 2 3 pubsub 1073741824 0 0")


def test_flag_sets_the_limits(redge_factory):
    server = redge_factory("--client-output-buffer-limit", "normal 64mb 16mb 10")
    r = server.client()
    assert r.config_get("client-output-buffer-limit")["client-output-buffer-limit"] == (
        "normal 67108864 16777216 10 slave 268435456 67108864 60 pubsub 33554432 8388608 60")


def non_reader(server):
    conn = RawConn(server.host, server.port, timeout=10, rcvbuf=4096)
    server._raws.append(conn)
    return conn


@pytest.mark.parametrize("limit", ["normal 4mb 0 0", "normal 0 4mb 1"])
def test_client_over_its_limit_is_disconnected(redge, r, limit):
    r.set("huge", "h" * (16 << 20))
    assert r.config_set("client-output-buffer-limit", limit)
    c = non_reader(redge)
    assert c.call("CLIENT", "SETNAME", "nonreader") == "OK"
    c.send_command("GET", "huge")  # a 16 MB reply the client never reads
    started = time.monotonic()
    wait_until(lambda: "nonreader" not in [x["name"] for x in r.client_list()],
               timeout=10, what="the client over its limit to be disconnected")
    if "0 4mb 1" in limit:
        assert time.monotonic() - started >= 0.9  # the soft limit allows 1 s
    assert info_stat(r, "client_output_buffer_limit_disconnections") == 1
    redge.assert_serving()


def test_pipelining_without_reading_keeps_memory_bounded(redge_factory):
    """The issue's reproduction: 20,000 GETs of a 64 KB value, the replies never read
    (1.3 GB of output). RSS stays bounded, the other clients of the same loop are served
    promptly, and when the client leaves its output goes at once."""
    server = redge_factory("--resp-threads", "1")  # every client on the one loop
    r = server.client()
    r.set("v64", "x" * 65536)
    pid = server.proc.pid
    base = rss_bytes(pid)

    flood = socket.create_connection((server.host, server.port), timeout=30)
    flood.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    pipeline = b"*2\r\n$3\r\nGET\r\n$3\r\nv64\r\n" * 20000

    def send_all():
        try:
            flood.sendall(pipeline)  # blocks once redge stops reading: that is the point
        except OSError:
            pass

    sender = threading.Thread(target=send_all, daemon=True)
    sender.start()
    other = RawConn(server.host, server.port, timeout=10)
    server._raws.append(other)
    peak, slowest = 0, 0.0
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        started = time.monotonic()
        assert other.call("PING") == "PONG"
        slowest = max(slowest, time.monotonic() - started)
        peak = max(peak, rss_bytes(pid) - base)
        assert peak < 200 << 20, f"RSS grew by {peak >> 20} MB"  # old code: gigabytes
        time.sleep(0.05)
    assert slowest < 0.5, f"a PING on the flooding client's loop took {slowest:.3f} s"

    flood.close()
    wait_until(lambda: int(r.info("clients")["connected_clients"]) == 2, timeout=10,
               what="the flooding client to be gone")
    # It left: nothing of its pipeline runs any more.
    before = info_stat(r, "total_commands_processed")
    time.sleep(0.5)
    assert info_stat(r, "total_commands_processed") - before <= 2
    wait_until(lambda: rss_bytes(pid) - base < 64 << 20, timeout=10,
               what="the memory of the flooding client's output to be returned")
    sender.join(timeout=5)
