"""Lists: push/pop/range/index/set/rem/trim/insert/pos/move, LMPOP, WRONGTYPE errors."""

import pytest
import redis

from compat_support import Error, wait_until

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def test_push_pop_len(r):
    assert r.rpush("l", "a", "b") == 2
    assert r.lpush("l", "z", "y") == 4  # y z a b
    assert r.lrange("l", 0, -1) == ["y", "z", "a", "b"]
    assert r.llen("l") == 4
    assert r.llen("missing") == 0
    assert r.lpop("l") == "y"
    assert r.rpop("l") == "b"
    assert r.lpop("l", 5) == ["z", "a"]
    # Popping the last element deletes the key.
    assert r.exists("l") == 0
    assert r.type("l") == "none"
    assert r.lpop("l") is None
    assert r.rpop("l") is None
    assert r.lpop("l", 2) is None
    assert r.rpush("m", "1", "2", "3", "4") == 4
    assert r.rpop("m", 2) == ["4", "3"]
    assert r.lpop("m", 0) == []
    assert r.lrange("m", 0, -1) == ["1", "2"]


def test_pushx(r):
    assert r.lpushx("l", "a") == 0
    assert r.rpushx("l", "a") == 0
    assert r.exists("l") == 0
    r.rpush("l", "m")
    assert r.lpushx("l", "a") == 2
    assert r.rpushx("l", "z") == 3
    assert r.lrange("l", 0, -1) == ["a", "m", "z"]


def test_lrange_lindex(r):
    r.rpush("l", *"abcdef")
    assert r.lrange("l", 0, 2) == ["a", "b", "c"]
    assert r.lrange("l", -2, -1) == ["e", "f"]
    assert r.lrange("l", -100, 100) == list("abcdef")
    assert r.lrange("l", 4, 2) == []
    assert r.lrange("l", 10, 20) == []
    assert r.lrange("missing", 0, -1) == []
    assert r.lindex("l", 0) == "a"
    assert r.lindex("l", -1) == "f"
    assert r.lindex("l", 3) == "d"
    assert r.lindex("l", 6) is None
    assert r.lindex("l", -7) is None
    assert r.lindex("missing", 0) is None


def test_lset(redge, r):
    r.rpush("l", "a", "b", "c")
    assert r.lset("l", 1, "B") is True
    assert r.lset("l", -1, "C") is True
    assert r.lrange("l", 0, -1) == ["a", "B", "C"]
    c = redge.raw()
    assert c.call("LSET", "l", "3", "x") == Error("ERR index out of range")
    assert c.call("LSET", "l", "-4", "x") == Error("ERR index out of range")
    assert c.call("LSET", "missing", "0", "x") == Error("ERR no such key")
    assert c.call("LSET", "l", "x", "x") == Error("ERR value is not an integer or out of range")


def test_lrem(r):
    r.rpush("l", "a", "x", "b", "x", "c", "x")
    assert r.lrem("l", 2, "x") == 2
    assert r.lrange("l", 0, -1) == ["a", "b", "c", "x"]
    r.rpush("l", "x", "d", "x")
    assert r.lrem("l", -1, "x") == 1
    assert r.lrange("l", 0, -1) == ["a", "b", "c", "x", "x", "d"]
    assert r.lrem("l", 0, "x") == 2
    assert r.lrange("l", 0, -1) == ["a", "b", "c", "d"]
    assert r.lrem("l", 0, "nope") == 0
    assert r.lrem("missing", 0, "x") == 0
    r.rpush("one", "x", "x")
    assert r.lrem("one", 0, "x") == 2
    assert r.exists("one") == 0


def test_ltrim(r):
    r.rpush("l", *"abcdef")
    assert r.ltrim("l", 1, -2) is True
    assert r.lrange("l", 0, -1) == ["b", "c", "d", "e"]
    assert r.ltrim("l", -2, 100) is True
    assert r.lrange("l", 0, -1) == ["d", "e"]
    assert r.ltrim("l", 5, 1) is True  # empty range removes the key
    assert r.exists("l") == 0
    assert r.ltrim("missing", 0, 1) is True


def test_linsert(r):
    r.rpush("l", "a", "c")
    assert r.linsert("l", "BEFORE", "c", "b") == 3
    assert r.linsert("l", "AFTER", "c", "d") == 4
    assert r.lrange("l", 0, -1) == ["a", "b", "c", "d"]
    assert r.linsert("l", "before", "nope", "x") == -1
    assert r.linsert("missing", "BEFORE", "a", "x") == 0
    assert r.exists("missing") == 0


def test_linsert_syntax_error(redge):
    c = redge.raw()
    assert c.call("RPUSH", "l", "a") == 1
    assert c.call("LINSERT", "l", "MIDDLE", "a", "x") == Error("ERR syntax error")


def test_lpos(r):
    r.rpush("l", "a", "b", "c", "1", "2", "3", "c", "c")
    assert r.lpos("l", "c") == 2
    assert r.lpos("l", "c", rank=2) == 6
    assert r.lpos("l", "c", rank=-1) == 7
    assert r.lpos("l", "c", rank=-2) == 6
    assert r.lpos("l", "c", count=2) == [2, 6]
    assert r.lpos("l", "c", count=0) == [2, 6, 7]
    assert r.lpos("l", "c", rank=-1, count=2) == [7, 6]
    assert r.lpos("l", "c", maxlen=2) is None
    assert r.lpos("l", "c", maxlen=3) == 2
    assert r.lpos("l", "c", count=0, maxlen=7) == [2, 6]
    assert r.lpos("l", "zz") is None
    assert r.lpos("l", "zz", count=3) == []
    assert r.lpos("missing", "a") is None


def test_lpos_errors_exact_text(redge):
    c = redge.raw()
    c.call("RPUSH", "l", "a")
    assert c.call("LPOS", "l", "a", "RANK", "0") == Error(
        "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second "
        "... or use negative to start from the end of the list")
    assert c.call("LPOS", "l", "a", "COUNT", "-1") == Error("ERR COUNT can't be negative")
    assert c.call("LPOS", "l", "a", "MAXLEN", "-1") == Error("ERR MAXLEN can't be negative")


def test_lmove_and_rpoplpush(r):
    r.rpush("src", "1", "2", "3")
    assert r.lmove("src", "dst", "LEFT", "RIGHT") == "1"
    assert r.lmove("src", "dst", "RIGHT", "LEFT") == "3"
    assert r.lrange("src", 0, -1) == ["2"]
    assert r.lrange("dst", 0, -1) == ["3", "1"]
    assert r.rpoplpush("src", "dst") == "2"
    assert r.exists("src") == 0
    assert r.lrange("dst", 0, -1) == ["2", "3", "1"]
    assert r.rpoplpush("missing", "dst") is None
    assert r.lmove("missing", "dst") is None
    # Rotation of one list.
    assert r.rpoplpush("dst", "dst") == "1"
    assert r.lrange("dst", 0, -1) == ["1", "2", "3"]
    assert r.lmove("dst", "dst", "LEFT", "RIGHT") == "1"
    assert r.lrange("dst", 0, -1) == ["2", "3", "1"]
    # Destination of the wrong type: error, source untouched.
    r.set("str", "x")
    with pytest.raises(redis.ResponseError) as e:
        r.lmove("dst", "str")
    assert str(e.value) == WRONGTYPE
    assert r.lrange("dst", 0, -1) == ["2", "3", "1"]


def test_lmpop(redge, r):
    r.rpush("b", "1", "2", "3")
    r.rpush("c", "x")
    assert r.lmpop(3, "a", "b", "c", direction="LEFT") == ["b", ["1"]]
    assert r.lmpop(2, "b", "c", direction="RIGHT", count=10) == ["b", ["3", "2"]]
    assert r.exists("b") == 0
    assert r.lmpop(2, "a", "b", direction="LEFT") is None
    c = redge.raw()
    assert c.call("LMPOP", "0", "a", "LEFT") == Error("ERR numkeys should be greater than 0")
    assert c.call("LMPOP", "1", "c", "UP") == Error("ERR syntax error")
    assert c.call("LMPOP", "1", "c", "LEFT", "COUNT", "0") == Error(
        "ERR count should be greater than 0")
    assert c.call("LMPOP", "1", "c", "LEFT") == [b"c", [b"x"]]


def test_pop_count_negative(redge):
    c = redge.raw()
    c.call("RPUSH", "l", "a")
    assert c.call("LPOP", "l", "-1") == Error("ERR value is out of range, must be positive")


def test_wrongtype_exact_text(redge):
    c = redge.raw()
    assert c.call("SET", "s", "v") == "OK"
    assert c.call("RPUSH", "l", "a") == 1
    wt = Error(WRONGTYPE)
    for cmd in (
        ("LPUSH", "s", "x"), ("RPUSH", "s", "x"), ("LPUSHX", "s", "x"), ("LPOP", "s"),
        ("RPOP", "s"), ("LLEN", "s"), ("LRANGE", "s", "0", "-1"), ("LINDEX", "s", "0"),
        ("LSET", "s", "0", "x"), ("LREM", "s", "0", "x"), ("LTRIM", "s", "0", "1"),
        ("LINSERT", "s", "BEFORE", "a", "b"), ("LPOS", "s", "a"),
        ("LMOVE", "s", "l", "LEFT", "LEFT"), ("RPOPLPUSH", "s", "l"),
        ("LMPOP", "1", "s", "LEFT"), ("BLPOP", "s", "0.1"),
        ("GET", "l"), ("APPEND", "l", "x"), ("GETDEL", "l"), ("GETEX", "l"),
        ("STRLEN", "l"), ("INCR", "l"),
    ):
        assert c.call(*cmd) == wt, cmd
    assert c.call("GET", "s") == b"v"
    assert c.call("LRANGE", "l", "0", "-1") == [b"a"]


def test_deleted_expired_or_overwritten_list_comes_back_empty(redge, r):
    """A list key re-created after DEL, expiry, FLUSHDB, LTRIM/LREM to empty, RENAME or a
    type change never shows elements of its previous life."""
    r.rpush("l", *[f"old{i}" for i in range(1000)])
    assert r.delete("l") == 1
    assert r.rpush("l", "new") == 1
    assert r.lrange("l", 0, -1) == ["new"]
    assert r.lindex("l", 1) is None

    r.rpush("e", "a", "b")
    r.pexpire("e", 100)
    wait_until_gone(r, "e")
    assert r.rpush("e", "c") == 1
    assert r.lrange("e", 0, -1) == ["c"]

    r.rpush("t", "a", "b")
    r.ltrim("t", 5, 10)
    assert r.rpush("t", "c") == 1
    assert r.lrange("t", 0, -1) == ["c"]

    r.rpush("x", "v", "v")
    r.lrem("x", 0, "v")
    assert r.lpush("x", "w") == 1
    assert r.lrange("x", 0, -1) == ["w"]

    r.rpush("src", "s1")
    r.rpush("dst", "d1", "d2", "d3")
    r.rename("src", "dst")
    assert r.lrange("dst", 0, -1) == ["s1"]
    assert r.rpush("src", "s2") == 1
    assert r.lrange("src", 0, -1) == ["s2"]

    r.rpush("typed", "a", "b")
    r.set("typed", "now a string")
    r.delete("typed")
    assert r.rpush("typed", "z") == 1
    assert r.lrange("typed", 0, -1) == ["z"]

    r.rpush("f", "a", "b")
    r.flushdb()
    assert r.rpush("f", "c") == 1
    assert r.lrange("f", 0, -1) == ["c"]


def wait_until_gone(r, key):
    wait_until(lambda: r.exists(key) == 0, timeout=5, what=f"{key} to expire")


def test_same_list_name_in_different_dbs(redge):
    r0, r1 = redge.client(db=0), redge.client(db=1)
    r0.rpush("l", "a", "b")
    r1.rpush("l", "x")
    assert r0.lrange("l", 0, -1) == ["a", "b"]
    assert r1.lrange("l", 0, -1) == ["x"]
    r1.delete("l")
    assert r0.llen("l") == 2


def test_large_list_and_many_arguments(r):
    n = 20_000
    assert r.rpush("big", *[f"e{i}" for i in range(n)]) == n  # one command, 20,001 args
    assert r.llen("big") == n
    got = r.lrange("big", 0, -1)  # one large reply
    assert len(got) == n and got[0] == "e0" and got[-1] == f"e{n - 1}"
    assert r.lindex("big", n // 2) == f"e{n // 2}"
    assert r.lpos("big", f"e{n - 1}") == n - 1
    assert r.lrange("big", n - 3, -1) == [f"e{n - 3}", f"e{n - 2}", f"e{n - 1}"]
