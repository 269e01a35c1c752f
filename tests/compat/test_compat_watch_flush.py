"""WATCH against FLUSHDB/FLUSHALL side by side with a real Redis 7.0: a flush touches a
watched key only if it existed (Redis's touchAllWatchedKeysInDb); EXEC under load."""

import threading

import pytest
import redis


def test_flush_touches_only_existing_watched_keys(differ):
    differ.same_all([
        ("DEL", "x"), ("WATCH", "x"), ("FLUSHALL",), ("MULTI",), ("PING",), ("EXEC",),
        ("DEL", "x"), ("WATCH", "x"), ("FLUSHDB",), ("MULTI",), ("PING",), ("EXEC",),
        ("SET", "x", "30"), ("WATCH", "x"), ("FLUSHDB",), ("MULTI",), ("PING",), ("EXEC",),
        ("SET", "x", "30"), ("WATCH", "x"), ("FLUSHALL",), ("MULTI",), ("PING",), ("EXEC",),
        # Created after WATCH, then flushed: the creation already touched it.
        ("WATCH", "y"), ("SET", "y", "1"), ("FLUSHALL",), ("MULTI",), ("PING",), ("EXEC",),
        # A flush of another database leaves it alone.
        ("SET", "z", "1"), ("WATCH", "z"), ("SELECT", "1"), ("FLUSHDB",), ("SELECT", "0"),
        ("MULTI",), ("PING",), ("EXEC",),
    ])


def test_exec_sees_writes_to_watched_keys_under_load(redge):
    """EXEC checks its watches when its body runs, not when it is read: with the store busy
    (another client pipelining writes), an EXEC queued behind them must still abort when a
    watched key changed before it."""
    stop = threading.Event()

    def load():
        c = redge.client()
        while not stop.is_set():
            p = c.pipeline(transaction=False)
            for i in range(200):
                p.set(f"load{i}", i)
            p.execute()

    t = threading.Thread(target=load)
    t.start()
    try:
        r = redge.client()
        for i in range(200):
            r.set("x", "foo")
            with r.pipeline() as p:
                p.watch("x")
                p.expire("x", 10)  # touches the watched key
                p.multi()
                p.ping()
                with pytest.raises(redis.WatchError):
                    p.execute()
    finally:
        stop.set()
        t.join()
