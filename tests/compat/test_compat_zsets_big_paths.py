"""Big sorted sets (1,000-5,000 members, where redge counts the score index in rank blocks)
written through every path other than plain ZADD/ZREM/pops, differentially against a real
redis-server 7.0: set operations and ZRANGESTORE into new and existing keys (the
destination one of the sources too), ZREMRANGEBYLEX, ZMPOP/BZMPOP/BZPOPMIN (also served to
a blocked client inside the write that creates the set), ZADD's flags, MULTI/EXEC and Lua
scripts writing one set many times in one commit, COPY, RENAME/RENAMENX, MOVE, SWAPDB,
DUMP/RESTORE, EXPIRE, DEL and re-creation, and sets shrinking below 1,024 members and
growing back. After every step the whole set, a sample of ranks (of members in the middle
too, which redge answers from the blocks), index ranges and long ZCOUNTs must be byte for
byte Redis's. Last, a redge-only check that a SIGKILL right after big writes leaves every
rank as it was read before the kill.

Every sequence is seeded (deterministic); scores are integers with many ties (so member
order breaks them) and members short, so both servers' orders are defined.
"""

import random

import redis

from compat_support import RawConn, wait_blocked
from differential import parse, read_raw

UNIVERSE = 12000


def member(n):
    return f"m{n:05d}"


def pairs(rng, n, lo=1, hi=4000, universe=UNIVERSE):
    """ZADD arguments for n random (score, member) pairs (members may repeat). No score is
    0, so no weight makes a -0 (which redge stores as 0: docs/sorted-sets.md)."""
    out = []
    for _ in range(n):
        out += [str(rng.randrange(lo, hi)), member(rng.randrange(universe))]
    return out


def one_score(numbers):
    """ZADD arguments giving every member score 0 (lex ranges are defined only so)."""
    return [x for n in numbers for x in ("0", member(n))]


class Big:
    """The differential checks of this module on one `differ` pair."""

    def __init__(self, differ, seed):
        self.d = differ
        self.rng = random.Random(seed)
        self.steps = 0

    def batch(self, commands):
        """Sends the commands pipelined to both servers; every reply must be identical.
        Returns the parsed replies."""
        out = []
        for i in range(0, len(commands), 200):
            chunk = commands[i:i + 200]
            data = b"".join(RawConn.encode(*c) for c in chunk)
            self.d.redge.send(data)
            self.d.ref.send(data)
            for c in chunk:
                got, want = read_raw(self.d.redge), read_raw(self.d.ref)
                if got != want:
                    at = next((k for k in range(min(len(got), len(want))) if got[k] != want[k]),
                              min(len(got), len(want)))
                    at = max(0, at - 120)
                    raise AssertionError(
                        f"step {self.steps}: {c[:8]!r}: replies differ from byte {at}:\n"
                        f" redge {got[at:at + 300]!r}\n redis {want[at:at + 300]!r}")
                out.append(parse(got))
        return out

    def same(self, *args):
        return self.batch([args])[0]

    def check(self, key):
        """The whole set, then ranks, index ranges and counts sampled from it."""
        self.steps += 1
        card, full = self.batch([("ZCARD", key), ("ZRANGE", key, "0", "-1", "WITHSCORES")])
        n = int(card[1])
        items = full[1] or []
        members = [items[i][1] for i in range(0, len(items), 2)]
        scores = [items[i + 1][1].decode() for i in range(0, len(items), 2)]
        assert len(members) == n
        rng = self.rng
        cmds = []
        for _ in range(16):
            m = members[rng.randrange(n)] if n else member(rng.randrange(UNIVERSE))
            cmds += [("ZRANK", key, m), ("ZREVRANK", key, m)]
        for _ in range(4):
            m = member(rng.randrange(UNIVERSE))
            cmds += [("ZRANK", key, m), ("ZREVRANK", key, m)]
        for _ in range(6):
            start = rng.randrange(-n - 3, n + 3) if n else 0
            stop = start + rng.randrange(6)
            cmds += [("ZRANGE", key, str(start), str(stop), "WITHSCORES"),
                     ("ZRANGE", key, str(start), str(stop), "REV")]
        if n:
            mid = n // 2
            cmds += [("ZRANGE", key, str(mid), str(mid + 2), "WITHSCORES"),
                     ("ZRANGE", key, str(-mid - 1), str(-mid + 1)),
                     ("ZREVRANGE", key, str(mid - 1), str(mid))]
            for _ in range(4):  # long counts (redge: a difference of two ranks)
                a, b = sorted((rng.randrange(n), rng.randrange(n)))
                lo, hi = scores[a], scores[b]
                cmds += [("ZCOUNT", key, lo, hi), ("ZCOUNT", key, f"({lo}", f"({hi}"),
                         ("ZCOUNT", key, "-inf", f"({hi}")]
            cmds.append(("OBJECT", "ENCODING", key))
            off = str(rng.randrange(n))
            cmds += [("SORT", key, "BY", "nosort", "LIMIT", off, "3"),
                     ("SORT", key, "BY", "nosort", "DESC", "LIMIT", off, "3")]
        self.batch(cmds)
        if n:
            # redge only: random members (drawn through the blocks) are members with
            # their scores.
            by_member = dict(zip(members, scores))
            got = self.d.redge.call("ZRANDMEMBER", key, "-40", "WITHSCORES")
            assert len(got) == 80
            for i in range(0, 80, 2):
                assert by_member.get(got[i]) == got[i + 1].decode(), got[i:i + 2]
            for _ in range(3):  # single draws (a big set: one rank lookup each)
                assert self.d.redge.call("ZRANDMEMBER", key) in by_member
                got = self.d.redge.call("ZRANDMEMBER", key, "-2", "WITHSCORES")
                assert [by_member.get(got[0]), by_member.get(got[2])] == [
                    got[1].decode(), got[3].decode()], got
        return n


def build(b, key, n_pairs, **kw):
    b.same("ZADD", key, *pairs(b.rng, n_pairs, **kw))
    return b.check(key)


def test_set_operations_store_into_new_and_existing_big_sets(differ):
    b = Big(differ, 1001)
    assert build(b, "a", 3500) > 2500
    assert build(b, "b", 3000) > 2000
    build(b, "c", 1500, universe=4000)
    rng = b.rng
    for round_ in range(3):
        b.same("ZUNIONSTORE", "u", "2", "a", "b")
        b.check("u")
        b.same("ZUNIONSTORE", "u", "3", "u", "c", "a", "WEIGHTS", "1", str(round_ + 2), "-1",
               "AGGREGATE", ["SUM", "MIN", "MAX"][round_])
        b.check("u")
        b.same("ZINTERSTORE", "i", "2", "a", "b", "AGGREGATE", "MAX")
        b.check("i")
        b.same("ZINTERSTORE", "a", "2", "a", "u", "WEIGHTS", "2", "1")  # dst == a source
        b.check("a")
        b.same("ZDIFFSTORE", "b", "2", "b", "c")  # dst == the first source
        b.check("b")
        b.same("ZDIFFSTORE", "dd", "2", "u", "i")
        b.check("dd")
        # The stored results keep their rank blocks under later writes.
        for key in ("u", "a", "b"):
            b.same("ZADD", key, *pairs(rng, 600))
            b.same("ZREM", key, *[member(rng.randrange(UNIVERSE)) for _ in range(300)])
            b.same("ZINCRBY", key, "777", member(rng.randrange(UNIVERSE)))
            b.check(key)
        b.same("ZADD", "a", *pairs(rng, 2500))
        b.same("ZADD", "b", *pairs(rng, 2000))
    # Plain sets count as members of score 1.
    b.same("SADD", "plain", *[member(rng.randrange(UNIVERSE)) for _ in range(2500)])
    b.same("ZUNIONSTORE", "u", "2", "a", "plain", "WEIGHTS", "1", "3000")
    b.check("u")
    b.same("ZINTERSTORE", "u", "2", "u", "plain", "AGGREGATE", "MIN")
    b.check("u")
    b.same("ZDIFFSTORE", "a", "2", "a", "plain")
    b.check("a")
    b.same("ZINTERCARD", "2", "a", "b", "LIMIT", "1500")
    b.same("ZUNIONSTORE", "u", "1", "nosuchkey")  # an empty result deletes the big set
    assert b.check("u") == 0
    b.same("ZUNIONSTORE", "c", "2", "c", "c", "WEIGHTS", "1", "1")
    b.check("c")


def test_zrangestore_into_new_and_same_key(differ):
    b = Big(differ, 1002)
    build(b, "src", 5000)
    rng = b.rng
    for _ in range(3):
        lo = rng.randrange(0, 1000)
        b.same("ZRANGESTORE", "d1", "src", str(lo), "+inf", "BYSCORE")
        b.check("d1")
        b.same("ZRANGESTORE", "d1", "src", "+inf", str(lo), "BYSCORE", "REV", "LIMIT",
               str(rng.randrange(100)), str(rng.randrange(1100, 3000)))
        b.check("d1")
        b.same("ZRANGESTORE", "d2", "src", "100", "-200")
        b.check("d2")
        b.same("ZADD", "d2", *pairs(rng, 500))
        b.same("ZREMRANGEBYRANK", "d2", "1500", "1700")
        b.check("d2")
        b.same("ZRANGESTORE", "src", "src", "50", "-50")  # dst == src
        b.check("src")
        b.same("ZRANGESTORE", "src", "src", "-inf", "+inf", "BYSCORE", "LIMIT", "10", "-1")
        b.check("src")
        b.same("ZADD", "src", *pairs(rng, 800))
        b.check("src")
    b.same("ZRANGESTORE", "src", "src", "5", "1200")
    b.check("src")
    b.same("ZRANGESTORE", "src", "src", "300", "1500")  # below 1,024 members now
    b.check("src")
    b.same("ZADD", "src", *pairs(rng, 1500))
    b.check("src")


def test_zremrangebylex_on_big_sets_of_one_score(differ):
    b = Big(differ, 1003)
    rng = b.rng
    b.same("ZADD", "lex", *one_score(rng.sample(range(UNIVERSE), 4500)))
    b.check("lex")
    for _ in range(8):
        lo, hi = sorted(rng.sample(range(UNIVERSE), 2))
        hi = min(hi, lo + rng.randrange(200, 1500))
        b.same("ZREMRANGEBYLEX", "lex", f"[{member(lo)}", f"({member(hi)}")
        b.same("ZLEXCOUNT", "lex", f"({member(lo)}", "+")
        b.check("lex")
        b.same("ZADD", "lex", *one_score(rng.sample(range(UNIVERSE), 400)))
        b.check("lex")
    lo, hi = sorted(rng.sample(range(UNIVERSE), 2))
    b.same("ZRANGESTORE", "lex2", "lex", f"[{member(lo)}", "+", "BYLEX", "LIMIT", "5", "2000")
    b.check("lex2")
    b.same("ZRANGESTORE", "lex", "lex", f"({member(hi)}", "-", "BYLEX", "REV")  # dst == src
    b.check("lex")
    b.same("ZADD", "lex", *one_score(rng.sample(range(UNIVERSE), 2000)))
    b.check("lex")
    b.same("ZREMRANGEBYLEX", "lex", "-", f"[{member(UNIVERSE // 2)}")
    b.check("lex")
    b.same("ZREMRANGEBYLEX", "lex", f"({member(UNIVERSE - 2000)}", "+")
    b.check("lex")


def test_pops_with_counts_and_blocked_pops_served_by_big_writes(differ, redge, reference_redis):
    b = Big(differ, 1004)
    rng = b.rng
    build(b, "p", 4800)
    build(b, "q", 2000)
    for _ in range(4):
        b.same("ZMPOP", "2", "none", "p", "MIN", "COUNT", str(rng.randrange(50, 400)))
        b.check("p")
        b.same("ZMPOP", "2", "p", "q", "MAX", "COUNT", str(rng.randrange(50, 400)))
        b.check("p")
        b.same("BZMPOP", "0", "2", "none", "q", "MIN", "COUNT", str(rng.randrange(50, 300)))
        b.same("BZPOPMIN", "q", "0")
        b.same("BZPOPMAX", "q", "0")
        b.check("q")
        b.same("ZADD", "q", *pairs(rng, 300))
    # Three clients blocked on one absent key are served in turn inside the write that
    # creates it big.
    conns = [RawConn(host, port, timeout=20) for host, port in
             [("127.0.0.1", redge.port)] * 3 + [(reference_redis.host, reference_redis.port)] * 3]
    ref_client = redis.Redis(host=reference_redis.host, port=reference_redis.port)
    try:
        for i in range(3):  # one at a time: the order they block in is the order served
            for c in (conns[i], conns[i + 3]):
                c.send_command("BZMPOP", "0", "2", "none", "w0", ["MIN", "MAX"][i % 2],
                               "COUNT", str(300 + 100 * i))
            wait_blocked(redge.client(), i + 1)
            wait_blocked(ref_client, i + 1)
        b.same("ZADD", "w0", *pairs(rng, 3000))
        for i in range(3):
            got, want = read_raw(conns[i]), read_raw(conns[i + 3])
            assert got == want, f"waiter {i}:\n redge {got[:300]!r}\n redis {want[:300]!r}"
        b.check("w0")
    finally:
        ref_client.close()
        for c in conns:
            c.close()
    # A client blocked on an absent key is served inside the write that creates it big.
    waiters = [(RawConn("127.0.0.1", redge.port, timeout=20), redge.client()),
               (RawConn(reference_redis.host, reference_redis.port, timeout=20),
                redis.Redis(host=reference_redis.host, port=reference_redis.port))]
    try:
        b.same("ZADD", "big", *pairs(rng, 3000))
        for target, write in [("w1", ("ZUNIONSTORE", "w1", "2", "p", "q")),
                              ("w2", ("ZADD", "w2", *pairs(rng, 3000))),
                              ("w3", ("ZRANGESTORE", "w3", "p", "0", "-1")),
                              ("w4", ("COPY", "big", "w4")),
                              ("w5", ("RENAME", "w4", "w5")),
                              ("w6", ("EVAL", "return redis.call('zunionstore', KEYS[1], 2,"
                                      " KEYS[2], KEYS[3])", "3", "w6", "big", "w5"))]:
            for conn, client in waiters:
                conn.send_command("BZMPOP", "0", "1", target, "MIN", "COUNT", "700")
            for conn, client in waiters:
                wait_blocked(client, 1)
            b.same(*write)
            got, want = read_raw(waiters[0][0]), read_raw(waiters[1][0])
            assert got == want, (f"{write[:3]}: blocked pop\n redge {got[:300]!r}\n"
                                 f" redis {want[:300]!r}")
            b.check(target)
            b.same("ZADD", target, *pairs(rng, 400))
            b.check(target)
    finally:
        for conn, client in waiters:
            conn.close()
            client.close()


def test_zadd_flags_move_members_across_runs(differ):
    b = Big(differ, 1005)
    rng = b.rng
    build(b, "f", 4000)
    for _ in range(3):
        b.same("ZADD", "f", "GT", "CH", *pairs(rng, 700))
        b.check("f")
        b.same("ZADD", "f", "LT", *pairs(rng, 700))
        b.check("f")
        b.same("ZADD", "f", "XX", "CH", *pairs(rng, 700))
        b.check("f")
        b.same("ZADD", "f", "NX", *pairs(rng, 700))
        b.check("f")
        b.same("ZADD", "f", "XX", "GT", *pairs(rng, 500, lo=-4000, hi=8000))
        b.check("f")
        for _ in range(30):
            b.same("ZADD", "f", "INCR", str(rng.randrange(-3000, 3000)),
                   member(rng.randrange(UNIVERSE)))
            b.same("ZADD", "f", "XX", "INCR", str(rng.randrange(-3000, 3000)),
                   member(rng.randrange(UNIVERSE)))
        b.check("f")
        for flags in (("GT", "INCR"), ("LT", "INCR"), ("NX", "INCR"), ("XX", "LT", "CH")):
            for _ in range(10):
                b.same("ZADD", "f", *flags, str(rng.randrange(-3000, 3000)),
                       member(rng.randrange(UNIVERSE)))
        b.check("f")
        b.same("ZADD", "f", "GT", "CH", "100000", member(rng.randrange(UNIVERSE)),
               "-100000", member(rng.randrange(UNIVERSE)))
        b.check("f")


def test_transactions_and_scripts_write_a_big_set_many_times_in_one_commit(differ):
    b = Big(differ, 1006)
    rng = b.rng
    build(b, "t", 2500)
    for _ in range(3):
        b.same("MULTI")
        b.same("ZADD", "t", *pairs(rng, 900))
        b.same("ZREM", "t", *[member(rng.randrange(UNIVERSE)) for _ in range(400)])
        b.same("ZINCRBY", "t", "-2500", member(rng.randrange(UNIVERSE)))
        b.same("ZREMRANGEBYRANK", "t", "1000", "1300")
        b.same("ZRANK", "t", member(rng.randrange(UNIVERSE)))
        b.same("ZADD", "t", "GT", *pairs(rng, 600))
        b.same("ZPOPMIN", "t", "100")
        b.same("ZUNIONSTORE", "t2", "1", "t")
        b.same("ZADD", "t2", *pairs(rng, 300))
        b.same("ZCOUNT", "t", "100", "3500")
        b.same("EXEC")
        b.check("t")
        b.check("t2")
    # A transaction that deletes, re-creates, renames and copies the set it writes.
    b.same("MULTI")
    b.same("DEL", "t")
    b.same("ZADD", "t", *pairs(rng, 2500))
    b.same("ZREM", "t", *[member(rng.randrange(UNIVERSE)) for _ in range(400)])
    b.same("RENAME", "t", "t3")
    b.same("ZADD", "t3", *pairs(rng, 700))
    b.same("COPY", "t3", "t")
    b.same("ZREMRANGEBYRANK", "t", "900", "1500")
    b.same("ZADD", "t3", "XX", "GT", *pairs(rng, 700, hi=8000))
    b.same("ZINTERSTORE", "t2", "2", "t", "t3")
    b.same("ZPOPMAX", "t2", "300")
    b.same("EXEC")
    for key in ("t", "t2", "t3"):
        b.check(key)
    script = """
        local seed = tonumber(ARGV[1])
        local function nxt() seed = (seed * 1103515245 + 12345) % 2147483648; return seed end
        for i = 1, tonumber(ARGV[2]) do
          local m = string.format('m%05d', nxt() % 12000)
          local op = nxt() % 10
          if op < 5 then redis.call('zadd', KEYS[1], nxt() % 4000, m)
          elseif op < 8 then redis.call('zrem', KEYS[1], m)
          else redis.call('zincrby', KEYS[1], (nxt() % 2000) - 1000, m) end
          if i % 500 == 0 then redis.call('zrank', KEYS[1], m) end
        end
        return redis.call('zcard', KEYS[1])
    """
    for seed in (11, 12, 13):
        b.same("EVAL", script, "1", "t", str(seed), "4000")
        b.check("t")
    b.same("EVAL", script, "1", "fresh", "14", "5000")  # created big inside the script
    b.check("fresh")
    b.same("EVAL", "redis.call('zremrangebyrank', KEYS[1], 0, -700)"
           " for i = 1, 3000 do redis.call('zadd', KEYS[1], i % 50, 'n' .. i) end"
           " return redis.call('zcard', KEYS[1])", "1", "fresh")  # shrinks, then regrows
    b.check("fresh")


def test_copy_rename_move_swapdb(differ):
    b = Big(differ, 1007)
    rng = b.rng
    build(b, "s", 3500)
    build(b, "other", 2500)
    b.same("COPY", "s", "c")
    b.same("COPY", "s", "other")  # exists: not copied
    b.same("COPY", "s", "other", "REPLACE")
    for key in ("s", "c", "other"):
        b.same("ZADD", key, *pairs(rng, 700))
        b.same("ZREM", key, *[member(rng.randrange(UNIVERSE)) for _ in range(300)])
        b.same("ZREMRANGEBYRANK", key, str(rng.randrange(2000)), str(rng.randrange(2000, 2600)))
    for key in ("s", "c", "other"):
        b.check(key)
    b.same("RENAME", "c", "other")  # onto an existing big set
    b.check("other")
    b.same("ZADD", "other", *pairs(rng, 500))
    b.check("other")
    build(b, "n2", 1800)
    b.same("RENAMENX", "n2", "s")  # refused
    b.same("RENAMENX", "n2", "n3")
    b.same("ZPOPMAX", "n3", "30")
    b.check("n3")
    b.same("RENAME", "n3", "n3")
    b.check("n3")
    # MOVE to db 1 and back, written on both sides.
    b.same("MOVE", "s", "1")
    b.same("SELECT", "1")
    b.check("s")
    b.same("ZADD", "s", *pairs(rng, 600))
    b.same("ZREMRANGEBYSCORE", "s", "1000", "1200")
    b.check("s")
    b.same("COPY", "s", "s", "DB", "0")
    b.same("MOVE", "s", "0")  # refused: db 0 has the copy
    b.same("DEL", "s")
    b.same("SELECT", "0")
    b.check("s")
    b.same("ZADD", "s", *pairs(rng, 300))
    b.check("s")
    # SWAPDB with big sets on both sides, each written after the swap.
    b.same("SELECT", "1")
    build(b, "s", 2200)
    b.same("SELECT", "0")
    b.same("SWAPDB", "0", "1")
    for db in ("0", "1", "0"):
        b.same("SELECT", db)
        b.check("s")
        b.same("ZADD", "s", *pairs(rng, 400))
        b.same("ZPOPMIN", "s", "50")
        b.check("s")
    b.same("SWAPDB", "1", "0")
    b.check("s")
    b.check("other")


def test_dump_restore_expire_del_recreate(differ):
    b = Big(differ, 1008)
    rng = b.rng
    build(b, "d", 4000)
    b.same("ZREMRANGEBYRANK", "d", "0", "99")  # leaves seek hints in the metadata
    b.same("ZPOPMAX", "d", "99")
    # DUMP payloads differ between the servers: each restores its own.
    for conn in (differ.redge, differ.ref):
        payload = conn.call("DUMP", "d")
        assert conn.call("RESTORE", "r", "0", payload) == "OK"
        assert conn.call("RESTORE", "other", "0", payload) == "OK"
    b.check("r")
    b.same("ZADD", "r", *pairs(rng, 900))
    b.check("r")
    b.same("ZADD", "d", *pairs(rng, 900))  # the source is independent of its restores
    b.check("d")
    for conn in (differ.redge, differ.ref):
        payload = conn.call("DUMP", "d")
        assert conn.call("RESTORE", "r", "0", payload, "REPLACE") == "OK"  # onto a big set
    b.check("r")
    b.same("ZREMRANGEBYRANK", "r", "500", "900")
    b.check("r")
    b.check("other")
    # A small set's payload restored and grown past 1,024 members.
    b.same("ZADD", "small", *pairs(rng, 300))
    for conn in (differ.redge, differ.ref):
        payload = conn.call("DUMP", "small")
        assert conn.call("RESTORE", "d2", "0", payload, "ABSTTL", "IDLETIME", "100") == "OK"
    b.same("ZADD", "d2", *pairs(rng, 1500))
    b.check("d2")
    b.same("EXPIRE", "d", "1000")
    b.same("ZADD", "d", *pairs(rng, 500))
    b.same("ZREM", "d", *[member(rng.randrange(UNIVERSE)) for _ in range(300)])
    b.check("d")
    b.same("PEXPIRE", "d", "2000000")
    b.same("ZUNIONSTORE", "d", "2", "d", "r")
    b.same("TTL", "d")  # a stored result has no TTL
    b.check("d")
    b.same("PEXPIRE", "r", "5000000")
    b.same("ZPOPMIN", "r", "200")
    b.same("PERSIST", "r")
    b.check("r")
    for _ in range(2):
        b.same("DEL", "d")
        b.check("d")
        b.same("ZADD", "d", "1", "x", "2", "y", "1", "z")
        b.check("d")
        b.same("DEL", "d")
        build(b, "d", 3000)
        b.same("ZADD", "d", "5", "x")
        b.check("d")


def test_sets_shrink_below_and_grow_past_1024_through_many_paths(differ):
    b = Big(differ, 1009)
    rng = b.rng
    build(b, "g", 1300, universe=2000)  # just past the limit
    for round_ in range(4):
        card = b.check("g")
        # shrink below 1,024 by one of several paths
        path = round_ % 4
        if path == 0:
            b.same("ZREMRANGEBYRANK", "g", "0", str(card - 900))
        elif path == 1:
            b.same("ZPOPMIN", "g", str(card - 700))
        elif path == 2:
            b.same("ZRANGESTORE", "g", "g", "0", "800")
        else:
            b.same("ZINTERSTORE", "g", "2", "g", "g")
            b.same("ZMPOP", "1", "g", "MAX", "COUNT", str(card - 1000))
        b.check("g")
        # grow past it again by another
        if path in (0, 2):
            b.same("ZADD", "g", *pairs(rng, 1500, universe=5000))
        else:
            build(b, "h", 1200, universe=6000)
            b.same("ZUNIONSTORE", "g", "2", "g", "h")
        b.check("g")
        # and back down to a few members one at a time
        for _ in range(3):
            b.same("ZREMRANGEBYSCORE", "g", "0", str(rng.randrange(100, 400)))
        b.check("g")


def test_ranks_survive_sigkill_after_big_writes(redge_factory, tmp_path):
    """redge only: ranks read just before a SIGKILL are the ranks after the restart."""
    data_dir = tmp_path / "data"
    first = redge_factory(data_dir=data_dir)
    r = first.client()
    rng = random.Random(1010)

    def zadd(key, n, universe=UNIVERSE):
        r.zadd(key, {member(rng.randrange(universe)): rng.randrange(4000) for _ in range(n)})

    zadd("k1", 4000)
    zadd("k2", 3000)
    r.zunionstore("k3", ["k1", "k2"])
    r.zrangestore("k4", "k3", 100, 2600)
    p = r.pipeline(transaction=True)
    p.zadd("k1", {member(rng.randrange(UNIVERSE)): rng.randrange(4000) for _ in range(800)})
    p.zrem("k1", *[member(rng.randrange(UNIVERSE)) for _ in range(500)])
    p.zremrangebyrank("k2", 1000, 1400)
    p.execute()
    r.eval("for i = 1, 3000 do redis.call('zadd', KEYS[1], i % 97, 'e' .. i) end"
           " redis.call('zremrangebyrank', KEYS[1], 1200, 1700)", 1, "k5")
    r.copy("k1", "k6")
    zadd("k6", 600)
    r.rename("k4", "k2")
    zadd("k2", 900)
    keys = ["k1", "k2", "k3", "k5", "k6"]

    def snapshot(client):
        out = {}
        for key in keys:
            full = client.zrange(key, 0, -1, withscores=True)
            n = len(full)
            picks = sorted(random.Random(key).sample(range(n), min(n, 60)))
            out[key] = (full, [client.zrank(key, full[i][0]) for i in picks],
                        [client.zrevrank(key, full[i][0]) for i in picks],
                        [client.zrange(key, i, i + 2) for i in picks],
                        client.zcount(key, full[n // 5][1], full[4 * n // 5][1]))
            assert out[key][1] == picks, key
        return out

    before = snapshot(r)
    assert len(before["k1"][0]) > 3000 and len(before["k5"][0]) > 2000
    first.kill_on_purpose()
    second = redge_factory(data_dir=data_dir)
    r2 = second.client()
    assert snapshot(r2) == before
    zadd_after = {member(n): n for n in range(0, UNIVERSE, 7)}
    for key in keys:
        r2.zadd(key, zadd_after)
        full = r2.zrange(key, 0, -1)
        for i in range(0, len(full), 97):
            assert r2.zrank(key, full[i]) == i


def test_concentrated_writes_split_one_run_into_many_and_empty_runs(differ):
    """Thousands of members landing between two neighbours (one run grows to several times
    its limit in one command) and then leaving together (whole runs emptied); members with
    binary bytes, prefixes of each other, longer than the seek hints keep (256 bytes), and
    infinite scores."""
    b = Big(differ, 1011)
    rng = b.rng
    build(b, "c", 3000)
    for round_ in range(3):
        score = str(rng.randrange(1, 4000))
        b.same("ZADD", "c", *[x for i in range(3200) for x in (score, f"{score}:{i:05d}")])
        b.check("c")
        b.same("ZREMRANGEBYSCORE", "c", score, score)
        b.check("c")
        # Between two ranks in the middle: ties broken by member bytes.
        b.same("ZADD", "c",
               *[x for i in range(2500) for x in (score, f"{i % 7}{'~' * (i % 5)}{i}")])
        b.same("ZREMRANGEBYRANK", "c", "1100", str(1100 + rng.randrange(1500, 3500)))
        b.check("c")
    binary = [bytes([rng.randrange(256) for _ in range(rng.randrange(1, 6))]) for _ in range(1500)]
    long_ = [b"L" * 300 + bytes([rng.randrange(256)]) * rng.randrange(1, 40) for _ in range(300)]
    prefixes = [b"p" + b"\x00" * k for k in range(40)] + [b"p" + b"\xff" * k for k in range(40)]
    args = ["ZADD", "c"]
    for m in binary + long_ + prefixes:
        args += [str(rng.choice([7, 7, 7, 1000, rng.randrange(1, 4000)])), m]
    args += ["-inf", "minus", "+inf", "plus", "inf", "plus2"]
    b.same(*args)
    b.check("c")
    b.same("ZPOPMAX", "c", "150")  # long members at the top end of the seek hints
    b.same("ZADD", "c", "+inf", b"L" * 400, "3999", b"L" * 500)
    b.check("c")
    b.same("ZREM", "c", *binary[:700], *prefixes[::3])
    b.check("c")
    b.same("ZREMRANGEBYSCORE", "c", "-inf", "7")
    b.same("ZPOPMIN", "c", "600")
    b.check("c")


def test_big_set_replaced_by_other_writes_and_flushes_then_recreated(differ):
    b = Big(differ, 1012)
    rng = b.rng
    build(b, "k", 3000)
    b.same("SET", "k", "string now")
    b.same("ZADD", "k", "1", "a")  # WRONGTYPE
    b.same("DEL", "k")
    build(b, "k", 2500)
    b.same("RPUSH", "l", *[str(rng.randrange(10000)) for _ in range(1500)])
    b.same("SORT", "l", "LIMIT", "0", "2000", "STORE", "k")  # a list replaces the set
    b.same("TYPE", "k")
    b.same("ZUNIONSTORE", "k", "2", "l", "l")  # a list input is WRONGTYPE
    b.same("DEL", "k")
    build(b, "k", 2800)
    b.same("PEXPIREAT", "k", "1")  # in the past: deleted now
    b.check("k")
    build(b, "k", 2000)
    b.same("FLUSHDB")
    b.check("k")
    build(b, "k", 3500)
    b.same("ZREMRANGEBYRANK", "k", "200", "2400")
    b.check("k")
    b.same("FLUSHALL")
    build(b, "k", 1200)
    b.same("ZPOPMIN", "k", "400")
    b.check("k")


def test_concurrent_writers_to_one_big_set(differ, redge):
    """Clients writing one big set at once through redge (adds of their own members and
    increments of shared ones, which commute), against the same writes sent to Redis one
    after another: the same set and ranks."""
    import threading

    b = Big(differ, 1013)
    build(b, "cc", 3000)
    rng = b.rng
    plans = []
    for w in range(4):
        cmds = []
        for j in range(60):
            if j % 3 == 0:
                cmds.append(("ZINCRBY", "cc", str(rng.randrange(-500, 500)),
                             member(rng.randrange(200))))
            elif j % 3 == 1:
                cmds.append(("ZADD", "cc", *[x for k in range(40) for x in
                                             (str(rng.randrange(1, 4000)), f"w{w}-{j}-{k}")]))
            else:
                cmds.append(("ZREM", "cc", *[f"w{w}-{j - 1}-{k}" for k in range(0, 40, 3)]))
        plans.append(cmds)
    errors = []

    def run(cmds):
        try:
            with RawConn("127.0.0.1", redge.port, timeout=20) as c:
                for cmd in cmds:
                    c.call(*cmd)
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(p,)) for p in plans]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with RawConn(b.d.ref.sock.getpeername()[0], b.d.ref.sock.getpeername()[1]) as c:
        for p in plans:
            for cmd in p:
                c.call(*cmd)
    b.check("cc")
