"""CONFIG GET / CONFIG SET: every Redis 7.0 parameter is known, validated with Redis's error
texts, and read back; checked side by side against a real Redis 7.0."""

import pytest


SIDE_BY_SIDE = [
    ("CONFIG", "SET", "foo", "bar"),
    ("CONFIG", "SET", "maxmemory", "abc"),
    # Memory values are unsigned: a leading '-' is refused, "-0" included.
    ("CONFIG", "SET", "hash-max-listpack-value", "-5"),
    ("CONFIG", "SET", "stream-node-max-bytes", "-1"),
    ("CONFIG", "SET", "maxmemory", "-0"),
    ("CONFIG", "SET", "proto-max-bulk-len", "-1mb"),
    ("CONFIG", "GET", "hash-max-listpack-value"),
    # Old names are aliases: setting one changes the other.
    ("CONFIG", "SET", "list-max-ziplist-size", "5"),
    ("CONFIG", "GET", "list-max-listpack-size"),
    ("CONFIG", "SET", "list-max-listpack-size", "-2"),
    ("CONFIG", "GET", "list-max-ziplist-size"),
    ("CONFIG", "SET", "slave-announce-ip", "10.1.2.3"),
    ("CONFIG", "GET", "replica-announce-ip"),
    ("CONFIG", "SET", "replica-announce-ip", ""),
    ("CONFIG", "SET", "appendonly", "maybe"),
    ("CONFIG", "SET", "maxmemory", "1", "maxmemory", "2"),
    ("CONFIG", "SET", "hash-max-listpack-entries", "-1"),
    ("CONFIG", "SET", "lua-time-limit", "x"),
    ("CONFIG", "SET", "maxmemory-policy", "foo"),
    ("CONFIG", "SET", "loglevel", "foo"),
    ("CONFIG", "SET", "appendfsync", "foo"),
    ("CONFIG", "SET", "daemonize", "yes"),
    ("CONFIG", "SET", "dir", "/tmp"),
    ("CONFIG", "SET", "save", "100"),
    ("CONFIG", "SET", "save", "a b"),
    ("CONFIG", "SET", "hz", "0x10"),
    ("CONFIG", "SET", "hash-max-ziplist-entries", "100"),
    ("CONFIG", "GET", "hash-max-*"),
    ("CONFIG", "SET", "zset-max-listpack-entries", "64", "lua-time-limit", "200"),
    ("CONFIG", "GET", "zset-max-*"),
    ("CONFIG", "GET", "busy-reply-threshold"),
    ("CONFIG", "GET", "lua-time-limit"),
    ("CONFIG", "SET", "maxmemory", "10mb"),
    ("CONFIG", "GET", "maxmemory"),
    ("CONFIG", "SET", "maxmemory", "1kb", "appendonly", "bad"),
    ("CONFIG", "GET", "maxmemory"),
    ("CONFIG", "SET", "save", ""),
    ("CONFIG", "GET", "save"),
    ("CONFIG", "SET", "save", "900 1 300 10"),
    ("CONFIG", "GET", "save"),
    ("CONFIG", "SET", "notify-keyspace-events", "KEA"),
    ("CONFIG", "GET", "notify-keyspace-events"),
    ("CONFIG", "SET", "notify-keyspace-events", "Elx"),
    ("CONFIG", "GET", "notify-keyspace-events"),
    ("CONFIG", "SET", "notify-keyspace-events", "lx"),
    ("CONFIG", "GET", "notify-keyspace-events"),
    ("CONFIG", "SET", "notify-keyspace-events", "Q"),
    ("CONFIG", "SET", "client-output-buffer-limit", "pubsub 64mb 32mb 60"),
    ("CONFIG", "SET", "client-output-buffer-limit", "bogus 1 2 3"),
    ("CONFIG", "SET", "appendonly", "YES"),
    ("CONFIG", "GET", "appendonly"),
    ("CONFIG", "SET", "maxmemory-policy", "ALLKEYS-LRU"),
    ("CONFIG", "GET", "maxmemory-policy"),
    ("CONFIG", "GET", "no-such-parameter"),
    ("CONFIG", "GET"),
    ("CONFIG", "SET", "maxmemory"),
]


def test_config_set_and_get_match_redis(same_as_redis):
    try:
        for command in SIDE_BY_SIDE:
            same_as_redis(*command, pairs_unordered=command[1] == "GET")
    finally:
        # The reference server is shared by the module: put back what the list changed.
        for name, value in RESTORE:
            same_as_redis("CONFIG", "SET", name, value)


RESTORE = [("appendonly", "no"), ("save", ""), ("maxmemory", "0"),
           ("maxmemory-policy", "noeviction"), ("notify-keyspace-events", ""),
           ("hash-max-listpack-entries", "512"), ("zset-max-listpack-entries", "128"),
           ("lua-time-limit", "5000"),
           ("client-output-buffer-limit", "pubsub 33554432 8388608 60")]


def test_every_redis_parameter_is_known(differ):
    from differential import parse
    ours, theirs = (parse(raw) for raw in differ.both("CONFIG", "GET", "*"))
    names = lambda tree: {item[1] for item in tree[1][0::2]}  # noqa: E731
    assert names(ours) == names(theirs)


def test_requirepass_set_at_runtime_takes_effect(redge):
    c = redge.raw()
    assert c.call("CONFIG", "SET", "requirepass", "s3cret") == "OK"
    other = redge.raw()
    assert other.call("GET", "x").startswith("NOAUTH")
    assert other.call("AUTH", "s3cret") == "OK"
    assert other.call("CONFIG", "GET", "requirepass") == [b"requirepass", b"s3cret"]


def test_port_and_dir_are_redges_own(redge):
    reply = redge.raw().call("CONFIG", "GET", "port")
    assert reply == [b"port", str(redge.port).encode()]
    assert redge.raw().call("CONFIG", "GET", "databases") == [b"databases", b"16"]
