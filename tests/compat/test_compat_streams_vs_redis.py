"""Streams differentially: the same command sequences against a real redis-server 7.0
(Debian's, on a private unix socket) and a real redge, compared byte for byte on the wire,
in RESP2 and RESP3. Ids are explicit (auto ids depend on the clock); the few replies that
carry times (idle, delivery and seen times) have their integers masked.

Covers XADD/XTRIM trimming (exact, '~' by nodes with Redis's entry and byte limits, LIMIT),
XDEL down to empty (radix-tree counters included), ranges, XSETID, every group command,
XINFO, error texts, and blocking XREAD/XREADGROUP with a second client writing."""

import os
import random
import re
import shutil
import socket
import subprocess
import time

import pytest

from compat_support import wait_until


class Wire:
    """A socket that returns each reply as the exact bytes the server sent."""

    def __init__(self, port=None, path=None, protocol=2):
        if path:
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.connect(path)
        else:
            self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.settimeout(10)
        self.buf = b""
        if protocol == 3:
            self.call("HELLO", "3")

    def close(self):
        self.sock.close()

    def send(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("server closed the connection")
        self.buf += chunk

    def _end(self, pos):
        while (i := self.buf.find(b"\r\n", pos)) < 0:
            self._fill()
        kind, n, nxt = self.buf[pos:pos + 1], self.buf[pos + 1:i], i + 2
        if kind in (b"$", b"!", b"="):
            if int(n) < 0:
                return nxt
            while len(self.buf) < nxt + int(n) + 2:
                self._fill()
            return nxt + int(n) + 2
        if kind in (b"*", b">", b"~", b"%", b"|"):
            count = int(n) * (2 if kind in (b"%", b"|") else 1)
            for _ in range(max(count, 0)):
                nxt = self._end(nxt)
        return nxt

    def reply(self):
        end = self._end(0)
        data, self.buf = self.buf[:end], self.buf[end:]
        return data

    def call(self, *args):
        self.send(*args)
        return self.reply()

    def silent(self, wait=0.2):
        """True if nothing arrives within `wait` seconds."""
        self.sock.settimeout(wait)
        try:
            data = self.sock.recv(1)
        except socket.timeout:
            data = b""
        finally:
            self.sock.settimeout(10)
        self.buf += data
        return data == b""


@pytest.fixture(scope="module")
def redis_socket(tmp_path_factory):
    exe = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.path.exists(exe):
        pytest.fail("redis-server not found: install Debian's redis-server (tools/setup.sh does)")
    d = tmp_path_factory.mktemp("redis")
    path = str(d / "redis.sock")
    proc = subprocess.Popen([exe, "--port", "0", "--unixsocket", path, "--save", "",
                             "--appendonly", "no", "--dir", str(d)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def ready():
        try:
            return Wire(path=path).call("PING") == b"+PONG\r\n"
        except OSError:
            return False

    try:
        wait_until(ready, timeout=20, what="redis-server to answer PING")
        yield path
    finally:
        proc.terminate()
        proc.wait(timeout=20)


MASK = re.compile(rb":\d+\r\n")


def run_script(connect, script):
    """Runs `script` (commands; "~cmd" masks integers in its reply) on fresh data."""
    w = connect()
    w.call("FLUSHALL")
    out = []
    for cmd in script:
        masked = cmd.startswith("~")
        reply = w.call(*cmd.lstrip("~").split(" "))
        out.append((cmd, MASK.sub(b":N\r\n", reply) if masked else reply))
    w.close()
    return out


def compare(redis_socket, redge, script, protocol):
    want = run_script(lambda: Wire(path=redis_socket, protocol=protocol), script)
    got = run_script(lambda: Wire(port=redge.port, protocol=protocol), script)
    diffs = [(c, a, b) for (c, a), (_, b) in zip(want, got) if a != b]
    assert not diffs, "\n".join(f"{c!r}\n  redis: {a[:400]!r}\n  redge: {b[:400]!r}"
                                for c, a, b in diffs[:10])


ENTRIES = [
    "XADD s 1-1 a 1", "XADD s 1-1 a 1", "XADD s 1-0 a 1", "XADD s 0-0 a 1", "XADD s2 0-0 a 1",
    "EXISTS s2", "XADD s 1-* b 2", "XADD s 2-* b 2", "XADD s 1-* c", "XADD s", "XADD s *",
    "XADD s * f", "XADD s MAXLEN", "XADD s MAXLEN 5", "XADD s MAXLEN -1 * a b",
    "XADD s MAXLEN abc * a b", "XADD s MAXLEN 1 MINID 1 * a b", "XADD s LIMIT 5 * a b",
    "XADD s MAXLEN 5 LIMIT 5 * a b", "XADD s MAXLEN ~ 5 LIMIT -1 * a b", "XADD s NOMKSTREAM 9-1 a b",
    "XADD nokey NOMKSTREAM 9-1 a b", "XADD s foo a b", "XADD s 18446744073709551616 a b",
    "XADD s 5 a b", "XRANGE s - +", "XLEN s", "XADD t 1-18446744073709551615 a b", "XADD t 1-* a b",
    "XADD v 0-1 foo bar", "XADD v 0-18446744073709551615 foo bar", "XADD v 42-0 foo bar",
    "XADD v 42-42 foo bar", "XADD v 18446744073709551615-18446744073709551615 foo bar",
    "XRANGE v (0-1 +", "XRANGE v - (18446744073709551615-18446744073709551615",
    "XRANGE v (0-1 (42-42", "XRANGE v (- +", "XRANGE v - (+", "XRANGE v - (0-0",
    "XRANGE v (18446744073709551615-18446744073709551615 +", "XRANGE v - + COUNT 0",
    "XRANGE v - + COUNT -1", "XRANGE v - + COUNT 2", "XRANGE v - + COUNT", "XRANGE v - + FOO 1",
    "XRANGE nokey - + COUNT 0", "XREVRANGE v + - COUNT 3", "XREVRANGE v 42 -", "XRANGE v 42 42",
    "XRANGE v abc +", "XRANGE v + -", "SET str x", "XRANGE str - +", "XLEN str", "XADD str * a b",
    "XDEL v 42-0", "XDEL v 42-0 9", "XDEL nokey xx", "XDEL v xx", "XINFO STREAM v",
    "XTRIM v MAXLEN 1", "XINFO STREAM v FULL", "XTRIM v", "XTRIM v FOO 1",
    "XTRIM v MINID ~ 1 LIMIT 1", "XTRIM v MAXLEN 1 LIMIT 1", "XTRIM nokey MAXLEN 0",
    "XSETID v 5", "XSETID nokey 1-1", "XSETID v 1-1 0", "XADD y 1-0 a b",
    "XSETID y 1-0 ENTRIESADDED -1", "XSETID y 1-0 ENTRIESADDED 1 MAXDELETEDID 2-0",
    "XSETID y 1-0 ENTRIESADDED 0 MAXDELETEDID 0-0", "XSETID y 0-5",
    "XSETID y 5-0 ENTRIESADDED 10 MAXDELETEDID 3-0", "XINFO STREAM y FULL", "XSETID y 6 FOO 1",
    "XINFO", "XINFO FOO", "XINFO HELP", "XINFO HELP x", "XINFO STREAM", "XINFO STREAM nokey",
    "XINFO STREAM y FOO", "XINFO STREAM y FULL COUNT", "XINFO STREAM y FULL COUNT x",
    "XINFO STREAM y FULL FOO 1", "XINFO STREAM y FULL COUNT -5", "XINFO GROUPS y",
    "XINFO CONSUMERS y g", "XINFO STREAM str",
]

GROUPS = [
    "XADD s 1 foo bar", "XGROUP CREATE s g $", "XGROUP CREATE s g $", "XGROUP CREATE nokey g $",
    "XGROUP CREATE nokey g $ MKSTREAM", "XGROUP CREATE s g2 0 ENTRIESREAD",
    "XGROUP CREATE s g2 0 ENTRIESREAD -2", "XGROUP CREATE s g2 0 FOO", "XGROUP CREATE s g2 abc",
    "XGROUP CREATE s g2 0 ENTRIESREAD 3", "XINFO GROUPS s", "XGROUP", "XGROUP FOO", "XGROUP HELP",
    "XGROUP HELP x", "XGROUP CREATE s", "XGROUP SETID s nog 0", "XGROUP SETID s g +",
    "XGROUP SETID s g - ENTRIESREAD 5", "XGROUP SETID s g $ MKSTREAM", "XGROUP DESTROY s g",
    "XGROUP DESTROY s g", "XGROUP DESTROY nokey2 g", "XGROUP CREATECONSUMER s g2 c1",
    "XGROUP CREATECONSUMER s g2 c1", "XGROUP CREATECONSUMER s nog c1", "XGROUP DELCONSUMER s g2 c1",
    "XGROUP DELCONSUMER s nog c1", "SET str x", "XGROUP CREATE str g $",
    "XGROUP CREATE ms g $ MKSTREAM", "XADD ms 1 a 1", "XADD ms 2 b 2",
    "XREADGROUP GROUP g c1 STREAMS ms >", "XADD ms 3 c 3", "XADD ms 4 d 4",
    "XREADGROUP GROUP g c2 STREAMS ms >", "XREADGROUP GROUP g c1 COUNT 10 STREAMS ms 0",
    "~XPENDING ms g - + 10", "~XPENDING ms g - + 10 c1", "XPENDING ms g",
    "~XPENDING ms g IDLE 99999999 - + 10", "~XPENDING ms g (1-0 (4-0 10", "XPENDING ms g - + 0",
    "XPENDING ms g - +", "XPENDING ms nog", "XPENDING ms g x + 10", "XPENDING ms g - + x",
    "~XPENDING ms g - + 10 c1 extra1 extra2", "XACK ms g 1-0", "XACK ms g 1 2 3", "XACK ms nog xx",
    "XACK ms g xx", "~XINFO CONSUMERS ms g", "XINFO CONSUMERS ms nog",
    "XREADGROUP GROUP g c1 STREAMS ms $", "XREAD STREAMS ms >", "XREADGROUP GROUP nog c1 STREAMS ms >",
    "XREADGROUP GROUP g c1 STREAMS nokey >", "XREAD COUNT x STREAMS ms 0", "XREAD STREAMS ms a b",
    "XREAD BLOCK x STREAMS ms 0", "XREAD STREAMS ms ms 0 0", "XREAD COUNT 1 STREAMS ms nokey 0 0",
    "XREAD STREAMS ms xx", "XREADGROUP GROUP g c STREAMS str >",
    "XREADGROUP GROUP g c1 NOACK STREAMS ms 0", "XGROUP SETID ms g -",
    "XREADGROUP GROUP g c3 STREAMS ms >", "~XPENDING ms g - + 10",
    "XREADGROUP GROUP g c STREAMS ms 18446744073709551615-18446744073709551615",
    "XADD x 1-0 f v", "XADD x 2-0 f v", "XADD x 3-0 f v", "XGROUP CREATE x grp 0",
    "XREADGROUP GROUP grp Alice STREAMS x >", "XDEL x 2-0", "XCLAIM x grp Bob 0 1-0 2-0 3-0",
    "XPENDING x grp - + 10 Alice", "XCLAIM x grp Bob 0 1-0 JUSTID", "XCLAIM x nog Bob 0 1-0",
    "XCLAIM x grp Bob x 1-0", "XCLAIM x grp Bob 0 1-0 FOO", "XCLAIM x grp Bob 0 1-0 IDLE x",
    "XCLAIM x grp Bob 0 1-0 TIME x", "XCLAIM x grp Bob 0 1-0 LASTID x",
    "XCLAIM x grp Carl 0 1-0 3-0 RETRYCOUNT 2 IDLE 1000 LASTID 9-0", "~XPENDING x grp - + 10",
    "XINFO GROUPS x", "XADD x 4-0 f v", "XCLAIM x grp Dan 0 4-0 FORCE", "~XPENDING x grp - + 10",
    "XAUTOCLAIM x grp Bob 0 0-0", "XAUTOCLAIM x grp Bob 0 0-0 COUNT 0", "XAUTOCLAIM x grp Bob 0 x",
    "XAUTOCLAIM x grp Bob 0 0-0 COUNT 8070450532247928833", "XAUTOCLAIM x nog Bob 0 0",
    "XAUTOCLAIM x grp Carl 0 - COUNT 1 JUSTID", "XDEL x 1-0", "XAUTOCLAIM x grp Eve 0 0-0 COUNT 1",
    "~XINFO STREAM x FULL", "~XINFO STREAM x FULL COUNT 1", "XINFO STREAM x",
]

LAG = [
    "XADD lag 1-0 data a", "XADD lag 2-0 data b", "XADD lag 3-0 data c", "XADD lag 4-0 data d",
    "XADD lag 5-0 data e", "XDEL lag 3-0", "XGROUP CREATE lag g1 0", "XGROUP CREATE lag g2 0",
    "XINFO GROUPS lag", "XREADGROUP GROUP g1 c11 COUNT 1 STREAMS lag >", "XINFO GROUPS lag",
    "XREADGROUP GROUP g1 c11 COUNT 2 STREAMS lag >", "XINFO GROUPS lag",
    "XREADGROUP GROUP g1 c11 COUNT 1 STREAMS lag >", "XINFO GROUPS lag", "XADD lag 6-0 data f",
    "XINFO GROUPS lag", "XTRIM lag MINID = 3-0", "XINFO GROUPS lag", "XTRIM lag MINID = 5-0",
    "XINFO GROUPS lag", "XGROUP CREATE e x 0 MKSTREAM", "XADD e 1-0 data a", "XDEL e 1-0",
    "XINFO GROUPS e", "XGROUP SETID lag g1 3 ENTRIESREAD 2", "XINFO GROUPS lag",
]

# Argument parsing: which error comes first when several arguments are wrong.
ARGUMENTS = [
    "XADD s MAXLEN ~", "XADD s MAXLEN ~ 5", "XADD s MAXLEN = x * a b", "XADD s MINID ~ x * a b",
    "XADD s MINID", "XADD s LIMIT", "XADD s LIMIT x * a b", "XADD s NOMKSTREAM",
    "XADD s nomkstream * a b", "XTRIM s MAXLEN ~", "XTRIM s MAXLEN", "XTRIM s NOMKSTREAM",
    "XTRIM s MINID ~ 5 LIMIT 5 x", "XSETID s 1 ENTRIESADDED", "XSETID s 1 ENTRIESADDED x",
    "XSETID s 1 MAXDELETEDID x", "XSETID s x", "XADD s 1 a b", "XDEL s 1 x 2",
    "XRANGE s - + COUNT 1 COUNT x", "XGROUP CREATE s g $ ENTRIESREAD",
    "XGROUP CREATE s g $ ENTRIESREAD x MKSTREAM", "XGROUP SETID s g $ ENTRIESREAD -1 ENTRIESREAD 2",
    "XGROUP CREATE s g 0", "XACK s g 1 x", "XPENDING s g IDLE x - + 1", "XPENDING s g IDLE 5 x + y",
    "XPENDING s g x y z", "XPENDING s g - + 5 c x y", "XCLAIM s g c x", "XCLAIM s g c 1 1 2 IDLE",
    "XCLAIM s g c 1 1 IDLE x", "XCLAIM s g c 1 1 FORCE JUSTID LASTID", "XCLAIM s g c 1 1 LASTID",
    "XCLAIM s g c 1 x FORCE", "XAUTOCLAIM s g c x y", "XAUTOCLAIM s g c 1 y",
    "XAUTOCLAIM s g c 1 0 COUNT", "XAUTOCLAIM s g c 1 0 JUSTID COUNT 5 JUSTID", "XREAD BLOCK",
    "XREAD BLOCK 1", "XREAD COUNT x STREAMS s 0", "XREAD GROUP a STREAMS s 0",
    "XREADGROUP GROUP a STREAMS s 0", "XREADGROUP GROUP g c NOACK NOACK COUNT 2 BLOCK 1 STREAMS s 0",
    "XREADGROUP NOACK GROUP g c STREAMS s s 0", "XREAD STREAMS s s",
    "XINFO STREAM s FULL COUNT 2 x", "~XINFO STREAM s full", "~XINFO STREAM s FULL count 1",
]


def trimming_script():
    rnd = random.Random(7)
    s = ["CONFIG SET stream-node-max-entries 100"]
    s += [f"XADD st MAXLEN ~ 555 {j + 1}-0 {'x' if rnd.random() < 0.9 else 'y'}item {j}"
          for j in range(1000)]
    s += ["XLEN st", "XINFO STREAM st"]
    # Node boundaries by byte size: values of varied lengths and integer-like strings.
    vals = ["0", "-0", "127", "128", "-4096", "4096", "32767", "-32768", "8388608", "2147483648",
            "9223372036854775807", "9223372036854775808", "01", "+5", "1" * 64, "a" * 63,
            "a" * 64, "a" * 4095]
    for j in range(400):
        s.append(f"XADD b {rnd.choice([j + 1, 2 ** 40 + j])}-{rnd.choice([0, 5, 2 ** 33])} "
                 f"f{rnd.randint(0, 2)} {rnd.choice(vals)} g {'v' * rnd.randint(1, 200)}")
    s += ["XINFO STREAM b", "XTRIM b MAXLEN ~ 300", "XINFO STREAM b", "XTRIM b MINID ~ 100",
          "XINFO STREAM b", "XTRIM b MAXLEN ~ 10 LIMIT 50", "XTRIM b MAXLEN = 100", "XINFO STREAM b"]
    s += [f"XADD t {j + 1} xitem {j}" for j in range(1000)]
    s += ["XTRIM t MAXLEN 666", "XTRIM t MAXLEN = 555", "XTRIM t MAXLEN ~ 444", "XLEN t",
          "XTRIM t MAXLEN ~ 400", "XINFO STREAM t", "CONFIG SET stream-node-max-entries 10"]
    s += [f"XADD l {j + 1} xitem v" for j in range(100)]
    s += ["XADD l MAXLEN ~ 55 LIMIT 30 101 xitem v", "XADD l MAXLEN ~ 55 LIMIT 30 102 xitem v",
          "XINFO STREAM l", "CONFIG SET stream-node-max-entries 3", "XADD e 1 a 1", "XADD e 2 a 2",
          "XADD e 3 a 3", "XDEL e 3", "XTRIM e MINID 3", "XINFO STREAM e", "XADD e 4 a 4",
          "XINFO STREAM e FULL", "XTRIM e MAXLEN ~ 0", "XINFO STREAM e",
          "CONFIG SET stream-node-max-entries 0", "CONFIG SET stream-node-max-bytes 100"]
    s += [f"XADD n {j + 1} f {'x' * j}" for j in range(40)]
    s += ["XINFO STREAM n", "XTRIM n MAXLEN ~ 20", "XINFO STREAM n",
          "CONFIG SET stream-node-max-entries 100", "CONFIG SET stream-node-max-bytes 4096"]
    # XDEL down to nothing, in random order, checking the node counters on the way.
    ids = [f"{1000 + j // 3}-{j % 3}" for j in range(1200)]
    s += [f"XADD d {i} item {k}" for k, i in enumerate(ids)]
    rnd.shuffle(ids)
    for k, i in enumerate(ids):
        s.append(f"XDEL d {i}")
        if k % 97 == 0:
            s += ["XINFO STREAM d", "XRANGE d - + COUNT 3", "XREVRANGE d + - COUNT 3"]
    return s + ["XINFO STREAM d"]


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("name,script", [("entries", ENTRIES), ("groups", GROUPS), ("lag", LAG),
                                         ("arguments", ARGUMENTS)])
def test_same_replies_as_redis(redis_socket, redge, name, script, protocol):
    compare(redis_socket, redge, script, protocol)


def test_same_trimming_and_node_layout_as_redis(redis_socket, redge):
    compare(redis_socket, redge, trimming_script(), 2)


# Blocking: ("a", cmd) is sent without waiting (a reader), ("b", cmd) is a call from the
# writer, ("read", "a") reads the reader's reply, ("quiet", "a") waits until the server
# reports the reader blocked (INFO clients) and checks that no reply arrived.
BLOCKING = [
    [("b", "XADD s2 1 old x"), ("a", "XREAD BLOCK 20000 STREAMS s1 s2 s3 $ $ $"), ("quiet", "a"),
     ("b", "XADD s2 2 new y"), ("read", "a")],
    [("b", "XADD s2 1 old x"), ("a", "XREAD BLOCK 20000 STREAMS s1 s2 s3 $ 0-0 $"), ("read", "a")],
    [("b", "XADD s1 666 f v"), ("b", "XADD s1 667 f2 v2"), ("b", "XDEL s1 667"),
     ("a", "XREAD BLOCK 100 STREAMS s1 666"), ("read", "a")],
    [("a", "XREAD BLOCK 20000 STREAMS s1 $"), ("quiet", "a"), ("b", "MULTI"), ("b", "XADD s1 1 o x"),
     ("b", "DEL s1"), ("b", "EXEC"), ("quiet", "a"), ("b", "XADD s1 2 new x"), ("read", "a")],
    [("b", "XADD s2 1 old x"), ("a", "XREAD BLOCK 20000 STREAMS s2 s2 s2 $ $ $"), ("quiet", "a"),
     ("b", "MULTI"), ("b", "XADD s2 2 field one"), ("b", "XADD s2 3 field two"), ("b", "EXEC"),
     ("read", "a")],
    [("a", "XREAD BLOCK 0 STREAMS x 1-18446744073709551615"), ("quiet", "a"), ("b", "XADD x 1-1 f v"),
     ("b", "XADD x 1-18446744073709551615 f v"), ("quiet", "a"), ("b", "XADD x 2-1 f v"),
     ("read", "a")],
    [("b", "XADD q 5 a 1"), ("b", "XDEL q 5"), ("a", "XREAD BLOCK 0 STREAMS q 3"), ("quiet", "a"),
     ("b", "XSETID q 10"), ("b", "XTRIM q MAXLEN 0"), ("b", "XGROUP CREATE q g 0"), ("quiet", "a"),
     ("b", "XADD q 11 z z"), ("read", "a")],
    [("b", "XGROUP CREATE ms g $ MKSTREAM"), ("b", "XADD ms 666 key value"), ("b", "XDEL ms 666"),
     ("a", "XREADGROUP GROUP g c BLOCK 10 STREAMS ms >"), ("read", "a"),
     ("a", "XREADGROUP GROUP g c BLOCK 0 STREAMS ms >"), ("quiet", "a"),
     ("b", "XADD ms 667 key value"), ("read", "a"), ("a", "XREADGROUP GROUP g c BLOCK 0 STREAMS ms 0"),
     ("read", "a"), ("a", "XREADGROUP GROUP g c BLOCK 0 STREAMS ms 667"), ("read", "a")],
    [("b", "XGROUP CREATE ms g $ MKSTREAM"), ("a", "XREADGROUP GROUP g A BLOCK 0 STREAMS ms >"),
     ("quiet", "a"), ("b", "XGROUP DESTROY ms g"), ("read", "a")],
    [("b", "XADD ms 666 f v"), ("b", "XGROUP CREATE ms g $"),
     ("a", "XREADGROUP GROUP g A BLOCK 0 STREAMS ms >"), ("quiet", "a"), ("b", "MULTI"),
     ("b", "DEL ms"), ("b", "LPUSH ms e1"), ("b", "EXEC"), ("read", "a")],
    [("b", "XGROUP CREATE ms g $ MKSTREAM"), ("a", "XREADGROUP GROUP g A BLOCK 0 STREAMS ms >"),
     ("quiet", "a"), ("b", "XGROUP CREATE ms2 g $ MKSTREAM"), ("b", "XADD ms2 100 f1 v1"),
     ("b", "RENAME ms2 ms"), ("read", "a")],
    [("b", "XGROUP CREATE ms g $ MKSTREAM"), ("a", "XREADGROUP GROUP g A BLOCK 0 STREAMS ms >"),
     ("quiet", "a"), ("b", "XADD ms2 100 f1 v1"), ("b", "RENAME ms2 ms"), ("read", "a")],
    [("b", "XGROUP CREATE ms g $ MKSTREAM"), ("a", "XREADGROUP GROUP g A BLOCK 0 STREAMS ms >"),
     ("quiet", "a"), ("b", "FLUSHALL"), ("read", "a")],
    [("a", "XREAD BLOCK 0 COUNT 2 STREAMS q $"), ("quiet", "a"), ("b", "MULTI"), ("b", "XADD q 1 a 1"),
     ("b", "XADD q 2 a 2"), ("b", "XADD q 3 a 3"), ("b", "EXEC"), ("read", "a")],
    # WATCH: entries added or deleted invalidate it; group reads, acks and claims do not.
    [("b", "XADD s 1 a 1"), ("b", "XADD s 2 a 2"), ("b", "XGROUP CREATE s g 0"), ("a", "WATCH s"),
     ("read", "a"), ("a", "MULTI"), ("read", "a"), ("a", "XLEN s"), ("read", "a"),
     ("b", "XREADGROUP GROUP g c STREAMS s >"), ("b", "XACK s g 1"), ("b", "XCLAIM s g c2 0 2"),
     ("b", "XAUTOCLAIM s g c3 0 0"), ("b", "XGROUP SETID s g 0"), ("b", "XGROUP CREATECONSUMER s g c9"),
     ("b", "XGROUP DELCONSUMER s g c9"), ("a", "EXEC"), ("read", "a"), ("a", "WATCH s"), ("read", "a"),
     ("a", "MULTI"), ("read", "a"), ("b", "XDEL s 2"), ("a", "EXEC"), ("read", "a")],
    [("b", "MULTI"), ("b", "XREAD BLOCK 0 STREAMS q $"), ("b", "XGROUP CREATE q g $ MKSTREAM"),
     ("b", "XREADGROUP GROUP g c BLOCK 0 STREAMS q >"), ("b", "XADD q 1 a 1"),
     ("b", "XREADGROUP GROUP g c BLOCK 0 STREAMS q >"), ("b", "EXEC")],
]


def run_blocking(connect, script):
    a, b = connect(), connect()
    b.call("FLUSHALL")
    out = []
    for who, cmd in script:
        if who == "a":
            a.send(*cmd.split(" "))
        elif who == "b":
            out.append((cmd, b.call(*cmd.split(" "))))
        elif who == "quiet":
            wait_until(lambda: b"blocked_clients:1\r\n" in b.call("INFO", "clients"),
                       timeout=10, what="the reader to block")
            out.append(("quiet", a.silent()))
        else:
            out.append(("read", a.reply()))
    a.close()
    b.close()
    return out


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("case", range(len(BLOCKING)))
def test_blocking_reads_like_redis(redis_socket, redge, case, protocol):
    want = run_blocking(lambda: Wire(path=redis_socket, protocol=protocol), BLOCKING[case])
    got = run_blocking(lambda: Wire(port=redge.port, protocol=protocol), BLOCKING[case])
    assert got == want
