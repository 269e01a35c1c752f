"""SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO and LCS side by side with a
real Redis 7.0: results, growth with zero bytes, ranges in bytes and bits, overflow modes,
encodings after in-place edits, and every error in Redis's order (some commands read the
key before their other arguments)."""

import pytest

SETUP = [
    ("SET", "s", "foobar"),
    ("SET", "b", b"\xff\xf0\x00"),
    ("SET", "ones", b"\xff\xff"),
    ("SET", "e", ""),
    ("SET", "i", "1"),
    ("RPUSH", "l", "a"),
    ("SET", "a1", "foo"),
    ("SET", "a2", "ab"),
]

BITS = [
    ("SETBIT", "k", "1", "1"), ("GET", "k"), ("SETBIT", "k", "1", "1"),
    ("SETBIT", "k", "100", "1"), ("STRLEN", "k"), ("OBJECT", "ENCODING", "k"),
    ("GETBIT", "k", "1"), ("GETBIT", "k", "1000"), ("GETBIT", "nokey", "0"),
    ("SETBIT", "k", "-1", "1"), ("SETBIT", "k", "4294967296", "1"), ("SETBIT", "k", "0", "2"),
    ("SETBIT", "k", "0", "-1"), ("SETBIT", "k", "x", "1"), ("SETBIT", "l", "0", "1"),
    ("GETBIT", "l", "0"), ("GETBIT", "l", "x"),
    ("OBJECT", "ENCODING", "i"), ("GETBIT", "i", "2"), ("SETBIT", "i", "6", "1"), ("GET", "i"),
    ("OBJECT", "ENCODING", "i"),
    ("BITCOUNT", "s"), ("BITCOUNT", "s", "1", "1"), ("BITCOUNT", "s", "0", "-1"),
    ("BITCOUNT", "s", "-2", "-1"), ("BITCOUNT", "s", "5", "30", "BIT"),
    ("BITCOUNT", "s", "-1", "-2"), ("BITCOUNT", "s", "-1", "-2", "foo"),
    ("BITCOUNT", "s", "1", "1", "foo"), ("BITCOUNT", "s", "1"), ("BITCOUNT", "s", "a", "b"),
    ("BITCOUNT", "nokey", "a", "b"), ("BITCOUNT", "nokey", "1"), ("BITCOUNT", "l"),
    ("BITCOUNT", "s", "0", "-1", "bit"), ("BITCOUNT", "s", "3", "3", "bit"),
    ("BITCOUNT", "s", "7", "13", "bit"), ("BITCOUNT", "e"), ("BITCOUNT", "s", "1", "2", "3", "4"),
    ("BITPOS", "b", "0"), ("BITPOS", "b", "1"), ("BITPOS", "b", "1", "2"),
    ("BITPOS", "b", "0", "0", "-1"), ("BITPOS", "b", "0", "0", "0"),
    ("BITPOS", "b", "0", "0", "1"), ("BITPOS", "b", "0", "7", "15", "bit"),
    ("BITPOS", "b", "1", "7", "15", "bit"), ("BITPOS", "b", "1", "12", "bit"),
    ("BITPOS", "b", "0", "0", "7", "bit"), ("BITPOS", "b", "0", "0", "7", "foo"),
    ("BITPOS", "b", "2"), ("BITPOS", "nokey", "1"), ("BITPOS", "nokey", "0"),
    ("BITPOS", "nokey", "0", "x"), ("BITPOS", "l", "0"), ("BITPOS", "b", "0", "x"),
    ("BITPOS", "b", "0", "1", "2", "byte", "extra"), ("BITPOS", "ones", "0"),
    ("BITPOS", "ones", "0", "0"), ("BITPOS", "ones", "0", "0", "-1"),
    ("BITPOS", "ones", "0", "2", "bit"), ("BITPOS", "ones", "0", "1", "-1", "bit"),
    ("BITPOS", "e", "0"), ("BITPOS", "e", "1"),
    ("BITOP", "AND", "d", "a1", "a2"), ("GET", "d"), ("BITOP", "or", "d", "a1", "a2", "nokey"),
    ("GET", "d"), ("BITOP", "XOR", "d", "a1", "a2"), ("GET", "d"), ("BITOP", "NOT", "d", "a1"),
    ("GET", "d"), ("OBJECT", "ENCODING", "d"), ("BITOP", "NOT", "d", "a1", "a2"),
    ("BITOP", "FOO", "d", "a1"), ("BITOP", "AND", "d", "l"), ("BITOP", "AND", "d", "nokey"),
    ("EXISTS", "d"), ("SET", "d", "x", "EX", "100"), ("BITOP", "OR", "d", "a1"), ("TTL", "d"),
    ("BITOP", "AND", "d"),
]

BITFIELD = [
    ("BITFIELD", "bf", "SET", "u8", "0", "255", "GET", "u8", "0", "INCRBY", "u8", "0", "10",
     "OVERFLOW", "SAT", "INCRBY", "u8", "0", "300", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "1"),
    ("BITFIELD", "bf", "GET", "i8", "0", "GET", "u4", "4", "GET", "i64", "0", "GET", "u63", "1"),
    ("BITFIELD", "bf", "SET", "i8", "#1", "-5", "GET", "i8", "#1", "GET", "i8", "8"),
    ("BITFIELD", "bf", "INCRBY", "i5", "100", "1", "GET", "u4", "0"),
    ("BITFIELD", "bf", "GET", "u64", "0"), ("BITFIELD", "bf", "GET", "x8", "0"),
    ("BITFIELD", "bf", "GET", "i65", "0"), ("BITFIELD", "bf", "GET", "u0", "0"),
    ("BITFIELD", "bf", "GET", "u8", "-1"), ("BITFIELD", "bf", "GET", "u8", "x"),
    ("BITFIELD", "bf", "SET", "u8", "0", "x"), ("BITFIELD", "bf", "OVERFLOW", "foo"),
    ("BITFIELD", "bf", "FOO"), ("BITFIELD", "bf", "GET", "u8"), ("BITFIELD", "bf"),
    ("BITFIELD", "nokey", "GET", "u8", "0"), ("EXISTS", "nokey"),
    ("BITFIELD", "nokey2", "OVERFLOW", "FAIL", "SET", "u8", "0", "1000"), ("GET", "nokey2"),
    ("BITFIELD_RO", "bf", "GET", "u8", "0"), ("BITFIELD_RO", "bf", "SET", "u8", "0", "1"),
    ("BITFIELD_RO", "l", "GET", "u8", "0"), ("BITFIELD", "l", "SET", "u8", "0", "1"),
    ("BITFIELD", "bf", "OVERFLOW", "WRAP", "INCRBY", "i8", "0", "200", "INCRBY", "u2", "0", "-5",
     "OVERFLOW", "SAT", "INCRBY", "i8", "0", "-1000", "INCRBY", "u8", "0", "-1000"),
    ("BITFIELD", "bf", "SET", "i64", "0", "-9223372036854775808", "INCRBY", "i64", "0", "-1",
     "OVERFLOW", "SAT", "INCRBY", "i64", "0", "-1", "OVERFLOW", "FAIL", "INCRBY", "i64", "0",
     "9223372036854775807"),
    ("GET", "bf"),
]

LCS = [
    ("SET", "virus1", "ohmytext"), ("SET", "virus2", "mynewtext"),
    ("LCS", "virus1", "virus2"), ("LCS", "virus1", "virus2", "LEN"),
    ("LCS", "virus1", "virus2", "IDX"), ("LCS", "virus1", "virus2", "IDX", "WITHMATCHLEN"),
    ("LCS", "virus1", "virus2", "IDX", "MINMATCHLEN", "4"),
    ("LCS", "virus1", "virus2", "IDX", "MINMATCHLEN", "-4", "WITHMATCHLEN"),
    ("LCS", "virus1", "virus2", "LEN", "IDX"), ("LCS", "virus1", "virus2", "FOO"),
    ("LCS", "virus1", "virus2", "MINMATCHLEN"), ("LCS", "virus1", "virus2", "MINMATCHLEN", "x"),
    ("LCS", "virus1", "nokey"), ("LCS", "nokey", "nokey2", "IDX"), ("LCS", "virus1", "l"),
    ("LCS", "l", "virus1", "FOO"),
    ("SET", "a", "GATTACAGGATTACA"), ("SET", "b", "TAGACCAGATTT"),
    ("LCS", "a", "b", "IDX", "WITHMATCHLEN"), ("LCS", "a", "b"),
]


@pytest.mark.parametrize("commands", [BITS, BITFIELD, LCS], ids=["bits", "bitfield", "lcs"])
def test_bit_commands_match_redis(differ, commands):
    differ.same_all(SETUP)
    differ.same_all(commands)


def test_lcs_idx_in_resp3_matches_redis(differ):
    differ.both("HELLO", "3")  # each replies with its own client id: not compared
    differ.same_all(LCS[:2] + [("LCS", "virus1", "virus2", "IDX", "WITHMATCHLEN")])
