"""A full disk: writes are refused with a clear error and never acknowledged, reads keep
working, /readyz says not ready, and redge recovers by itself once space is freed.

The data directory lives on a small tmpfs the test mounts (root only; skipped otherwise).
"""

import os
import subprocess
import time

import pytest
import redis

import redge_process

DISK_MB = 160  # RocksDB resumes only with >= 64 MiB free (its reserved disk buffer)


@pytest.fixture
def small_disk(tmp_path):
    if os.geteuid() != 0:
        redge_process.skip_unless_ci("mounting a tmpfs needs root")
    mnt = tmp_path / "disk"
    mnt.mkdir()
    rc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m", "tmpfs", str(mnt)],
                        capture_output=True)
    if rc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {rc.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        # The server (set up after this fixture) is stopped before this runs.
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(path, leave_bytes):
    """Creates a file that leaves about `leave_bytes` free on the filesystem of `path`."""
    st = os.statvfs(path.parent)
    free = st.f_bavail * st.f_frsize
    size = max(0, free - leave_bytes)
    chunk = b"\0" * (1 << 20)
    with open(path, "wb") as f:
        while size > 0:
            n = min(size, len(chunk))
            try:
                f.write(chunk[:n])
            except OSError:
                break
            size -= n


def test_full_disk_refuses_writes_keeps_reads_and_recovers(small_disk, redge_factory):
    server = redge_factory("--data-dir", str(small_disk / "data"))
    r = server.client()
    http = server.http
    assert r.set("before", "kept") is True
    job = http.post("/v1/queues/disk/jobs", json={"n": 1})
    assert job.status == 202, job
    job_id = job.json()["id"]

    filler = small_disk / "filler"
    fill(filler, 2 << 20)
    big = b"x" * (256 * 1024)
    written = 0
    with pytest.raises(redis.ResponseError) as refused:
        for i in range(400):
            r.set(f"big{i}", big)
            written += 1
    assert "No space left on device" in str(refused.value)
    assert str(refused.value).startswith("store write failed")
    # The refused write was not acknowledged and is not there; earlier data is intact.
    assert r.exists(f"big{written}") == 0
    assert r.get("before") == "kept"
    if written:
        assert r.strlen("big0") == len(big)

    # HTTP: reads work, writes answer 503, /readyz is not ready, /healthz is alive.
    got = http.get(f"/v1/jobs/{job_id}")
    assert got.status == 200 and got.json()["state"] == "queued", got
    refused_job = http.post("/v1/queues/disk/jobs", json={"n": 2})
    assert refused_job.status == 503, refused_job
    assert refused_job.json()["error"]["code"] == "unavailable"
    assert http.get("/readyz").status == 503
    assert http.get("/healthz").status == 200

    # Free the space: redge notices by itself (RocksDB's recovery plus redge's probe).
    filler.unlink()
    deadline = time.monotonic() + 30
    while http.get("/readyz").status != 200:
        assert time.monotonic() < deadline, "redge did not become ready after space was freed"
        time.sleep(0.2)  # polling a readiness endpoint, as an orchestrator does
    assert r.set("after", "ok") is True
    assert r.get("after") == "ok"
    again = http.post("/v1/queues/disk/jobs", json={"n": 3})
    assert again.status == 202, again
