"""redge names its threads (top -H, ps -L, gdb and perf show them), so an operator can
tell the store's writer from the event loops."""

import pathlib


def thread_names(pid):
    return sorted(p.read_text().strip() for p in pathlib.Path(f"/proc/{pid}/task").glob("*/comm"))


def test_threads_are_named_by_role(redge_factory):
    server = redge_factory("--io-threads", "2", "--resp-threads", "2",
                           "--fsync", "always")
    names = thread_names(server.proc.pid)
    for expected in ("redge-writer", "redge-fsync", "redge-expirer", "redge-leases",
                     "redge-http-0", "redge-http-1", "redge-http-acc",
                     "redge-resp-0", "redge-resp-1", "redge-resp-acc"):
        assert expected in names, names
    everysec = redge_factory()
    assert "redge-fsync-1s" in thread_names(everysec.proc.pid)
