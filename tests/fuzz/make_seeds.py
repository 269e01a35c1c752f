#!/usr/bin/env python3
"""Writes the seed inputs of the structured fuzz targets (fuzz_resp_commands,
fuzz_http_api) into tests/fuzz/corpus/<target>/: scenarios a person would try first
(a blocked BRPOP woken by an LPUSH from another client, MULTI/EXEC with WATCH, pub/sub,
the legacy-worker bridge; SSE resumes with Last-Event-ID, long-polls, worker calls with
and without the lease token...).

Those targets read their input through libFuzzer's FuzzedDataProvider: integral choices
from the end of the input (one byte each for the small ranges used here), strings from the
front (a backslash escapes a backslash; a backslash followed by anything else ends a
string). Encoder writes bytes in that layout. The pools of fuzz_resp_commands.cc (command
table, keys, numbers, words, ...) are read from its source, so the seeds follow the table.

    /usr/bin/python3 tests/fuzz/make_seeds.py      (rewrites the seed files it owns)
"""

import codecs
import pathlib
import re

HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE / "corpus"


class Encoder:
    """Bytes that make FuzzedDataProvider return the given choices in order."""

    def __init__(self):
        self.front = bytearray()
        self.back = []  # consumed from the end of the input, in consumption order

    def pick(self, value, lo, hi):
        """ConsumeIntegralInRange(lo, hi) == value, for hi - lo < 256."""
        assert lo <= value <= hi and hi - lo < 256, (value, lo, hi)
        self.back.append(value - lo)
        return self

    def boolean(self, value):
        self.back.append(1 if value else 0)
        return self

    def string(self, text, max_length):
        """ConsumeRandomLengthString(max_length) == text."""
        data = text.encode("latin-1") if isinstance(text, str) else bytes(text)
        assert len(data) <= max_length, (text, max_length)
        self.front += data.replace(b"\\", b"\\\\")
        if len(data) < max_length:
            self.front += b"\\e"  # ends the string
        return self

    def bytes(self):
        return bytes(self.front) + bytes(reversed(self.back))


def pool(source, name):
    m = re.search(r"const char\* const %s\[\] = \{(.*?)\};" % name, source, re.S)
    assert m, name
    return re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1))


def unescape(literal):
    return codecs.decode(literal, "unicode_escape")


# --- fuzz_resp_commands -------------------------------------------------------------
class RespSeeds:
    def __init__(self):
        src = (HERE / "fuzz_resp_commands.cc").read_text()
        table = re.search(r"const Shape kCommands\[\] = \{(.*?)\n\};", src, re.S).group(1)
        self.commands = [(m.group(1), m.group(2) or "kNone")
                         for m in re.finditer(r'\{"([A-Z_]+)"(?:,\s*(k\w+))?\}', table)]
        self.names = [c[0] for c in self.commands]
        self.pools = {n: [unescape(x) for x in pool(src, n)] for n in (
            "kKeys", "kNumbers", "kWords", "kConfig", "kMembers", "kChannels", "kScripts",
            "kBlockTimeouts", "kBlockMs")}

    def arg(self, e, value):
        """Encodes one argument by finding it in the pools of Arg(); raw bytes otherwise."""
        specials = {"$RESPONSE": 0, "$PROGRESS": 1, "$JOB": 2, "$EVENTS": 3, "$COMPLETE": 4}
        if value in specials:
            return e.pick(7, 0, 9).pick(specials[value], 0, 5)
        for kind, name in ((0, "kKeys"), (2, "kNumbers"), (3, "kWords"), (5, "kMembers"),
                           (6, "kChannels"), (8, "kScripts")):
            if value in self.pools[name]:
                return e.pick(kind, 0, 9).pick(self.pools[name].index(value), 0,
                                               len(self.pools[name]) - 1)
        if value in self.pools["kConfig"]:
            return e.pick(7, 0, 9).pick(5, 0, 5).pick(self.pools["kConfig"].index(value), 0,
                                                      len(self.pools["kConfig"]) - 1)
        return e.pick(9, 0, 9).string(value, 48)

    def command(self, e, client, argv, inline=False, timeout=None):
        name, shape = argv[0], self.commands[self.names.index(argv[0])][1]
        args = list(argv[1:])
        e.pick(client, 0, 2).pick(0 if inline else 1, 0, 15)
        e.pick(self.names.index(name), 0, len(self.names) - 1).pick(len(args), 0, 7)
        for i, a in enumerate(args):
            if i > 0 and args[i - 1] in ("BLOCK", "block"):
                e.pick(self.pools["kBlockMs"].index(a), 0, len(self.pools["kBlockMs"]) - 1)
            elif (shape == "kLastArg" and i == len(args) - 1) or (shape == "kFirstArg" and i == 0):
                self.arg(e, "0")  # replaced by the timeout below
            else:
                self.arg(e, a)
        if shape != "kNone" and args:
            t = timeout or "0.01"
            e.pick(self.pools["kBlockTimeouts"].index(t), 0, len(self.pools["kBlockTimeouts"]) - 1)
        return e

    def all(self):
        c = lambda client, *argv, **kw: (client, list(argv), kw.get("inline", False),
                                         kw.get("timeout"))
        return {
            "strings": [c(0, "SET", "k", "a", "EX", "10"), c(0, "GET", "k"),
                        c(0, "INCRBYFLOAT", "k2", "1.5"), c(0, "GETEX", "k", "PERSIST"),
                        c(0, "APPEND", "k", "b"), c(0, "SETRANGE", "k", "3", "c")],
            "blocked_pop_woken": [c(0, "BRPOP", "l", "0.05", timeout="0.05"),
                                  c(1, "LPUSH", "l", "a", "b"), c(0, "LRANGE", "l", "0", "-1")],
            "blocked_zpop_woken": [c(0, "BZPOPMIN", "z", "0.05", timeout="0.05"),
                                   c(1, "ZADD", "z", "1", "a", "2", "b"), c(2, "ZRANGE", "z", "0", "-1", "WITHSCORES")],
            "blmove_two_waiters": [c(0, "BLMOVE", "l", "s", "LEFT", "RIGHT", "0.05", timeout="0.05"),
                                   c(1, "BLPOP", "l", "0.05", timeout="0.05"),
                                   c(2, "RPUSH", "l", "x", "y")],
            "multi_exec_watch": [c(0, "WATCH", "k"), c(1, "SET", "k", "b"), c(0, "MULTI"),
                                 c(0, "INCR", "k2"), c(0, "SET", "k", "c"), c(0, "EXEC"),
                                 c(0, "MULTI"), c(0, "LPUSH", "l", "a"), c(0, "BLPOP", "l", "0.01"),
                                 c(0, "EXEC")],
            "multi_error_discard": [c(0, "MULTI"), c(0, "NOSUCHCOMMAND"), c(0, "SET", "k"),
                                    c(0, "EXEC"), c(1, "MULTI"), c(1, "HSET", "h", "a", "1"),
                                    c(1, "DISCARD")],
            "pubsub": [c(0, "SUBSCRIBE", "ch"), c(1, "PSUBSCRIBE", "ch*", "redge:progress:*"),
                       c(2, "PUBLISH", "ch", "a"), c(0, "PING"), c(0, "UNSUBSCRIBE"),
                       c(2, "PUBSUB", "NUMSUB", "ch"), c(1, "RESET")],
            "hash_set_zset": [c(0, "HSET", "h", "a", "1", "b", "2"), c(0, "HINCRBY", "h", "a", "10"),
                              c(0, "HRANDFIELD", "h", "-5", "WITHVALUES"), c(1, "SADD", "s", "a", "b", "c"),
                              c(1, "SINTERSTORE", "s", "s", "h"), c(2, "ZADD", "z", "NX", "CH", "1", "a"),
                              c(2, "ZRANGE", "z", "(1", "+inf", "BYSCORE", "LIMIT", "0", "1"),
                              c(2, "ZUNIONSTORE", "z", "2", "z", "s", "AGGREGATE", "MAX")],
            "legacy_bridge": [c(0, "CLIENT", "SETNAME", "default"), c(0, "RPOP", "redge:queue:fq"),
                              c(0, "PUBLISH", "$PROGRESS", "$COMPLETE"), c(0, "SET", "$RESPONSE", "a"),
                              c(1, "LRANGE", "$EVENTS", "0", "-1"), c(1, "GET", "$JOB")],
            "bridge_brpop": [c(0, "BRPOP", "redge:queue:fq", "0.05", timeout="0.05"),
                             c(0, "SET", "$RESPONSE", "done", "EX", "10"),
                             c(1, "DEL", "$JOB"), c(1, "SET", "$JOB", "not json")],
            "keys_ttl": [c(0, "SET", "k", "a", "PX", "1"), c(0, "PEXPIRE", "h", "1"),
                         c(0, "SCAN", "0", "MATCH", "*", "COUNT", "10", "TYPE", "string"),
                         c(0, "RENAME", "k2", "k"), c(0, "COPY", "l", "{t}a", "DB", "1", "REPLACE"),
                         c(0, "SWAPDB", "0", "1"), c(0, "SELECT", "1"), c(0, "KEYS", "*")],
            "client_config": [c(0, "CLIENT", "ID"), c(1, "CLIENT", "LIST"), c(0, "CLIENT", "REPLY", "OFF"),
                              c(0, "SET", "k", "a"), c(0, "CLIENT", "REPLY", "ON"),
                              c(1, "CONFIG", "SET", "notify-keyspace-events", "KEA"),
                              c(2, "PSUBSCRIBE", "*"), c(1, "SET", "k", "b"),
                              c(1, "CONFIG", "GET", "*"), c(1, "HELLO", "3"), c(1, "HGETALL", "h")],
            "inline_and_monitor": [c(0, "MONITOR"), c(1, "SET", "k", "1", inline=True),
                                   c(1, "ECHO", "a", inline=True), c(2, "QUIT")],
            "stream_groups": [c(0, "XADD", "k", "*", "a", "1"),
                              c(0, "XGROUP", "CREATE", "k", "g", "0"),
                              c(1, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "k", ">"),
                              c(1, "XACK", "k", "g", "0-1"),
                              c(2, "XREAD", "BLOCK", "10", "STREAMS", "k", "$"),
                              c(0, "XADD", "k", "*", "b", "2"), c(2, "XPENDING", "k", "g"),
                              c(0, "XTRIM", "k", "MAXLEN", "~", "1")],
            "scripts_in_multi": [c(0, "EVAL", "redis.call('lpush', KEYS[1], 'x'); return redis.call('lrange', KEYS[1], 0, -1)", "1", "l"),
                                 c(0, "SCRIPT", "LOAD", "return 1"), c(1, "MULTI"),
                                 c(1, "EVAL", "return redis.call('set', KEYS[1], ARGV[1])", "1", "k", "a"),
                                 c(1, "EXEC"), c(2, "EVAL", "return redis.error_reply('ERR boom')", "0")],
            "streams_and_scripts": [c(0, "XADD", "k", "*", "a", "1"),
                                    c(1, "XREAD", "BLOCK", "10", "STREAMS", "k", "$"),
                                    c(0, "EVAL", "return redis.call('get', KEYS[1])", "1", "k"),
                                    c(0, "FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function(keys, args) return 1 end)"),
                                    c(0, "FCALL", "f", "0")],
        }

    def write(self):
        out = CORPUS / "resp_commands"
        out.mkdir(parents=True, exist_ok=True)
        for name, cmds in self.all().items():
            e = Encoder()
            for client, argv, inline, timeout in cmds:
                self.command(e, client, argv, inline, timeout)
            (out / name).write_bytes(e.bytes())


# --- fuzz_http_api ------------------------------------------------------------------
class HttpSeeds:
    ROUTES = {"enqueue": 0, "lease": 2, "queues": 3, "list": 4, "poll": 5, "cancel": 6,
              "trace": 7, "sse": 8, "retry": 10, "event": 11, "heartbeat": 12,
              "complete": 13, "fail": 14, "ops": 15, "chat": 16}
    IDS = {"queued": 0, "running": 1, "done": 3}
    ID_NUMBERS = ["0", "1", "2", "3", "99", "-1", "", "1e3", "0x10", "999999999999999999",
                  "9999999999999999999", " 1"]
    SECONDS = ["0", "0.005", "0.01", "0.02", "-1", "", "nan", "inf", "1e-9", "0x10", "61", "60"]
    VALUES = ["true", "false", "null", "1", '"yes"', "{}", "[]", '""', '{"a": [1, 2]}',
              '"x\\ny"', "1e999", '"\\ud800"', "-0", "[[[[]]]]"]
    QUEUES = {"hq": 0, "hr0": 1, "a:b": 2}

    def number(self, e, value, seconds):
        table = self.SECONDS if seconds else self.ID_NUMBERS
        if value in table:
            e.pick(1, 0, 3).pick(table.index(value), 0, len(table) - 1)
        else:
            e.pick(0, 0, 3).string(value, 12)

    def json_value(self, e, value):
        if value in self.VALUES:
            e.boolean(True).pick(self.VALUES.index(value), 0, len(self.VALUES) - 1)
        else:
            e.boolean(False).string(value, 24)

    def request(self, e, route, job="running", queue="hq", after=None, wait=None,
                last_event_id=False, chat=False, headers=(), body=None, op=0):
        e.pick(self.IDS[job], 0, 5)
        e.pick(self.ROUTES[route], 0, 17)
        if route in ("enqueue", "lease", "list"):
            e.pick(self.QUEUES[queue], 0, 4)
        if route == "lease":
            self.number(e, wait or "0.01", True)
        if route == "list":
            e.string("queued", 10)
            self.number(e, after or "2", False)
        if route == "poll":
            self.number(e, after or "0", False)
            self.number(e, wait or "0.01", True)
        if route == "sse":
            self.number(e, after or "0", False)
            e.boolean(chat).boolean(last_event_id)
        if route == "ops":
            e.pick(op, 0, 4)
        if route == "chat":
            e.boolean(True)
        e.pick(1, 0, 7)  # no method override
        e.pick(len(headers), 0, 4)
        for kind, value in headers:
            e.pick(kind, 0, 6)
            if kind in (1, 2, 3, 5):
                e.string(value, {1: 40, 2: 140, 3: 20, 5: 20}[kind])
            elif kind == 4:
                e.boolean(value)
        if route not in ("queues", "list", "poll", "cancel", "trace", "sse", "ops"):
            kind, *values = body or (0,)
            e.pick(kind, 0, 7)
            if kind == 1:
                e.string(values[0], 256)
            for v in values if kind >= 2 else ():
                self.json_value(e, v)

    TOKEN = (0, None)

    def all(self):
        r = lambda route, **kw: (route, kw)
        tok = [self.TOKEN]
        return {
            "sse_resume": [r("sse", job="done", after="1", last_event_id=True),
                           r("sse", job="done", after="2"), r("sse", job="running", chat=True)],
            "long_poll": [r("poll", job="running", after="1", wait="0.02"),
                          r("poll", job="done", after="0", wait="0"),
                          r("poll", job="queued", after="x", wait="nan")],
            "worker_flow": [r("event", headers=tok, body=(2, 'chunk', '{"a": [1, 2]}')),
                            r("heartbeat", headers=tok),
                            r("complete", headers=tok, body=(3, '{"a": [1, 2]}')),
                            r("sse", job="running", after="0")],
            "worker_fail_retry": [r("fail", headers=tok, body=(4, '"x\\ny"', "true")),
                                  r("fail", headers=tok, body=(4, "1", '"yes"')),
                                  r("retry", job="done")],
            "worker_bad_token": [r("event", headers=[(1, "nope")], body=(2, "null", "{}")),
                                 r("complete", body=(3, "[]"))],
            "enqueue_lease": [r("enqueue", queue="hq", headers=[(3, "idem-1"), (2, "corr-1")],
                                body=(1, '{"prompt": "hi"}')),
                              r("enqueue", queue="hq", headers=[(3, "idem-1")],
                                body=(1, '{"prompt": "hi"}')),
                              r("lease", queue="hq", wait="0.01", body=(5, 'w1')),
                              r("queues"), r("list", queue="hq")],
            "cancel_trace": [r("cancel", job="queued"), r("trace", job="queued"),
                             r("cancel", job="running"), r("trace", job="done")],
            "chat_and_ops": [r("chat", body=(1, '{"message": "hi"}')), r("ops", op=0),
                             r("ops", op=1), r("ops", op=2)],
            "cors": [r("sse", job="done", headers=[(4, True), (6, None)]),
                     r("enqueue", queue="a:b", headers=[(4, False)], body=(7, "{}"))],
        }

    def write(self):
        out = CORPUS / "http_api"
        out.mkdir(parents=True, exist_ok=True)
        for name, requests in self.all().items():
            e = Encoder()
            for route, kw in requests:
                self.request(e, route, **kw)
            (out / name).write_bytes(e.bytes())


if __name__ == "__main__":
    RespSeeds().write()
    HttpSeeds().write()
    print("seeds written to", CORPUS)
