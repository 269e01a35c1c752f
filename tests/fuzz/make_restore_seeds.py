#!/usr/bin/env python3
"""Writes the seeds of fuzz_restore (tests/fuzz/corpus/restore/): DUMPs of keys of every
type, as a real redge writes them, without their 10-byte footer (the target appends it).

    /usr/bin/python3 tests/fuzz/make_restore_seeds.py [BUILD_DIR]   (default: build)

Starts BUILD_DIR/redge on ephemeral ports with a temporary data directory, builds the
keys, dumps them and stops it. Rewrites every seed file it owns (named seed-<name>).
"""

import pathlib
import re
import subprocess
import sys
import tempfile
import time

import redis

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OUT = HERE / "corpus" / "restore"


def build_keys(r):
    r.set("string-short", "hello")
    r.set("string-int", "12345")
    r.set("string-long", "x" * 300)
    r.rpush("list-small", "a", "b", "c")
    r.rpush("list-big", *[f"e{i}" for i in range(200)])
    r.lpush("list-big", "front")  # head below zero
    r.hset("hash-small", mapping={"f1": "v1", "f2": "v2"})
    r.hset("hash-big", mapping={f"field{i}": "v" * (i % 90) for i in range(150)})
    r.sadd("set-ints", 1, 2, 3, 100)
    r.sadd("set-strings", *[f"m{i}" for i in range(140)])
    r.zadd("zset-small", {"a": 1, "b": 2.5, "c": -3})
    r.zadd("zset-big", {f"m{i:05d}": i % 97 for i in range(1100)})  # has rank blocks
    r.xadd("stream", {"f": "v"}, id="1-1")
    r.xadd("stream", {"f": "v", "g": "w"}, id="2-0")
    r.xadd("stream", {"f": "v2"}, id="3-0")
    r.xdel("stream", "2-0")
    r.xgroup_create("stream", "g", id="0")
    r.xreadgroup("g", "c", {"stream": ">"}, count=1)
    r.xgroup_createconsumer("stream", "g", "idle")
    r.xadd("stream-trimmed", {"k": "v"}, id="5-0")
    r.xadd("stream-trimmed", {"k": "v"}, id="6-0")
    r.xtrim("stream-trimmed", maxlen=1)
    r.set("with-ttl", "v", ex=1000)


def main():
    build = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "build")
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen(
            [str(build / "redge"), "--resp", "127.0.0.1:0", "--http", "127.0.0.1:0",
             "--data-dir", f"{tmp}/data", "--fsync", "no"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            port = None
            deadline = time.monotonic() + 20
            while port is None and time.monotonic() < deadline:
                m = re.match(r"redge ready resp_port=(\d+)", proc.stdout.readline())
                port = int(m.group(1)) if m else None
            if port is None:
                sys.exit("redge did not start")
            r = redis.Redis(port=port)
            build_keys(r)
            for key in sorted(k.decode() for k in r.keys("*")):
                payload = r.dump(key)
                (OUT / f"seed-{key}").write_bytes(payload[:-10])
        finally:
            proc.terminate()
            proc.wait(timeout=20)


if __name__ == "__main__":
    main()
