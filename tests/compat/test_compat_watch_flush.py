"""WATCH against FLUSHDB/FLUSHALL side by side with a real Redis 7.0: a flush touches a
watched key only if it existed (Redis's touchAllWatchedKeysInDb)."""


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
