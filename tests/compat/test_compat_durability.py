"""What a Redis user with appendonly expects across restarts: data written before a clean
shutdown is there after a restart on the same data directory (TTLs keep counting), and with
--fsync always every acknowledged write survives a SIGKILL."""

import time
from concurrent.futures import ThreadPoolExecutor

from compat_support import wait_until


def test_data_survives_clean_restart(redge_factory, tmp_path):
    data_dir = tmp_path / "shared-data"
    first = redge_factory(data_dir=data_dir)
    r = first.client()
    r.set("plain", "v")
    r.set("ttl", "v", ex=100)
    r.set("soon", "v", px=400)
    r.rpush("list", *[f"e{i}" for i in range(100)])
    r1 = first.client(db=1)
    r1.set("db1key", "x")
    t_soon = time.monotonic()
    assert first.stop() is None  # SIGTERM: exits 0

    second = redge_factory(data_dir=data_dir)
    r = second.client()
    assert r.get("plain") == "v"
    assert 1 <= r.ttl("ttl") <= 100
    assert r.lrange("list", 0, -1) == [f"e{i}" for i in range(100)]
    assert second.client(db=1).get("db1key") == "x"
    assert r.get("db1key") is None
    left = t_soon + 0.45 - time.monotonic()
    if left > 0:
        time.sleep(left)  # past the PX deadline of "soon"
    assert r.get("soon") is None
    assert r.exists("soon") == 0


def test_fsync_always_acknowledged_writes_survive_sigkill(redge_factory, tmp_path):
    data_dir = tmp_path / "crash-data"
    first = redge_factory("--fsync", "always", data_dir=data_dir)
    writers, per_writer = 8, 40
    clients = [first.client() for _ in range(writers)]

    def write(w):
        acked = []
        for i in range(per_writer):
            assert clients[w].rpush(f"log:{w}", i) == i + 1
            assert clients[w].set(f"last:{w}", i) is True
            acked.append(i)
        return acked

    with ThreadPoolExecutor(max_workers=writers) as ex:
        results = list(ex.map(write, range(writers)))
    assert all(len(a) == per_writer for a in results)
    first.kill_on_purpose()

    second = redge_factory("--fsync", "always", data_dir=data_dir)
    r = second.client()
    for w in range(writers):
        assert r.lrange(f"log:{w}", 0, -1) == [str(i) for i in range(per_writer)]
        assert r.get(f"last:{w}") == str(per_writer - 1)
    wait_until(lambda: r.ping(), timeout=5, what="PING")
