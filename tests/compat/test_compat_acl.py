"""RESP ACL users, side by side with a real Redis 7.0: ACL SETUSER rules and their errors,
LIST/GETUSER descriptions, CAT, WHOAMI, USERS, DELUSER, DRYRUN, GENPASS, LOG; AUTH and
HELLO AUTH; NOPERM for commands, subcommands, keys (~, %R~, %W~, with the access each
command's key specs say) and channels (&; PSUBSCRIBE patterns literally); MULTI/EXEC with
rules changed in between; selectors; scripts; requirepass as the default user's password.

Every reply is compared byte for byte with redis-server 7.0 (differential.py), except where
Redis itself is not deterministic (the order of single-command rules in a description
follows its hash table; the order of ACL CAT <category>): those compare as sets.
"""

import pytest

from compat_support import Closed, Error, RawConn
from differential import read_raw


class Pair:
    """One connection to redge and one to the reference Redis, used in lockstep."""

    def __init__(self, redge_port, ref, user=None, password=None):
        self.redge = RawConn("127.0.0.1", redge_port, timeout=20)
        self.ref = RawConn(ref.host, ref.port, timeout=20)
        if user is not None:
            self.same("AUTH", user, password)

    def both(self, *args):
        self.redge.send_command(*args)
        self.ref.send_command(*args)
        return read_raw(self.redge), read_raw(self.ref)

    def same(self, *args):
        got, want = self.both(*args)
        assert got == want, f"{args!r}:\n redge {got[:500]!r}\n redis {want[:500]!r}"
        return got

    def same_tokens(self, *args):
        """Same reply once each bulk's space-separated words are sorted (descriptions)."""
        got, want = self.both(*args)
        norm = lambda raw: sorted(raw.split(b"\r\n"))  # noqa: E731
        assert sorted(b" ".join(sorted(x.split(b" "))) for x in norm(got)) == sorted(
            b" ".join(sorted(x.split(b" "))) for x in norm(want)), (
            f"{args!r}:\n redge {got[:500]!r}\n redis {want[:500]!r}")
        return got

    def close(self):
        self.redge.close()
        self.ref.close()


def reset_acl(port, host="127.0.0.1"):
    with RawConn(host, port) as c:
        for u in c.call("ACL", "USERS"):
            if u != b"default":
                c.call("ACL", "DELUSER", u)
        # Not `reset`: it would add sanitize-payload, which a fresh default user lacks.
        assert c.call("ACL", "SETUSER", "default", "on", "nopass", "clearselectors", "allkeys",
                      "allchannels", "+@all") == "OK"
        assert c.call("CONFIG", "SET", "acl-pubsub-default", "resetchannels") == "OK"
        assert c.call("ACL", "LOG", "RESET") == "OK"


@pytest.fixture
def acl(redge, reference_redis):
    reset_acl(reference_redis.port)
    pairs = []

    def pair(user=None, password=None):
        p = Pair(redge.port, reference_redis, user, password)
        pairs.append(p)
        return p

    yield pair
    for p in pairs:
        p.close()
    reset_acl(reference_redis.port)


def test_setuser_rules_and_descriptions(acl):
    a = acl()
    a.same("ACL", "LIST")
    a.same("ACL", "SETUSER", "u1")
    a.same("ACL", "GETUSER", "u1")
    a.same("ACL", "SETUSER", "u2", "on", ">p1", ">p2", "#" + "a" * 64, "<p2", "~k*", "%R~r*",
           "%W~w*", "%RW~both", "&ch*", "+@read", "-@dangerous")
    a.same("ACL", "SETUSER", "u3", "on", "nopass", "allkeys", "allchannels", "+@all", "-@admin")
    a.same("ACL", "SETUSER", "u4", "on", "resetpass", "~*", "-@all", "+@read", "+@write")
    a.same("ACL", "SETUSER", "u5", "on", "-@all", "+get")
    a.same("ACL", "SETUSER", "u6", "on", "-@all", "+client|list", "+config|get")
    a.same("ACL", "SETUSER", "u7", "off", "+@all", "-flushall", "skip-sanitize-payload")
    a.same("ACL", "SETUSER", "u8", "on", "-@all", "+select|0", "+select|1")
    a.same("ACL", "SETUSER", "u9", "on", "+@all", "-@all", "+@hash", "reset")
    a.same("ACL", "SETUSER", "sel", "on", "nopass", "~a*", "+get", "(~b* +set)", "(", "~c*",
           "+lpush", ")")
    for u in ("u1", "u3", "u4", "u5", "u7", "u8", "u9", "sel"):
        a.same("ACL", "GETUSER", u)
    for u in ("u2", "u6"):  # two single-command rules each: in hash-table order in Redis
        a.same_tokens("ACL", "GETUSER", u)
    a.same_tokens("ACL", "LIST")
    a.same("ACL", "USERS")
    a.same("ACL", "GETUSER", "nobody")
    # Several single-command rules: Redis orders them by its hash table.
    a.same("ACL", "SETUSER", "many", "on", "-@all", "+get", "+set", "+hget", "+lpush")
    a.same_tokens("ACL", "GETUSER", "many")
    a.same("ACL", "SETUSER", "less", "on", "+@all", "-flushdb", "-keys", "-debug")
    a.same_tokens("ACL", "LIST")


def test_setuser_errors(acl):
    a = acl()
    for args in (["bad name", "on"], ["u", "+nosuchcommand"], ["u", "+@nosuchcategory"],
                 ["u", "bogus"], ["u", "allkeys", "~x"], ["u", "&*", "&x"],
                 ["u", "#abc"], ["u", "#" + "A" * 64], ["u", "<notthere"],
                 ["u", "!" + "b" * 64], ["u", "+config|get|x"], ["u", "+get|"],
                 ["u", "(~a", "+get"], ["u", "(+get bogus)"], ["u", "~a b"],
                 ["u", "+client|nosuchsub"], ["u", "-select|0"], ["u", "%X~a"], ["u", "%RR~a"]):
        a.same("ACL", "SETUSER", *args)
    # A failed SETUSER changes nothing, not even the rules before the bad one.
    a.same("ACL", "SETUSER", "keep", "on", "+get")
    a.same("ACL", "SETUSER", "keep", "+set", "bogus")
    a.same("ACL", "GETUSER", "keep")
    a.same("ACL", "SETUSER")
    a.same("ACL", "NOSUCH")
    a.same("ACL", "WHOAMI", "extra")


def test_cat_whoami_genpass_deluser(acl):
    a = acl()
    a.same("ACL", "CAT")
    for cat in ("read", "WRITE", "dangerous", "pubsub", "scripting", "connection", "geo"):
        got = sorted(a.same_tokens("ACL", "CAT", cat).split(b"\r\n"))
        assert len(got) > 2
    a.same("ACL", "CAT", "nosuch")
    a.same("ACL", "WHOAMI")
    a.same("ACL", "DELUSER", "default")
    a.same("ACL", "SETUSER", "x")
    a.same("ACL", "DELUSER", "x", "y", "x")
    a.same("ACL", "DELUSER", "x", "default")
    for bits in ([], ["8"], ["1"], ["4096"]):
        got, want = a.both("ACL", "GENPASS", *bits)
        assert len(got) == len(want), (got, want)
    a.same("ACL", "GENPASS", "0")
    a.same("ACL", "GENPASS", "4097")
    a.same("ACL", "GENPASS", "x")
    a.same("ACL", "LOAD")
    a.same("ACL", "SAVE")
    a.same("ACL", "HELP")
    a.same("ACL", "HELP", "extra")


def test_auth_and_hello_auth(acl):
    a = acl()
    a.same("ACL", "SETUSER", "alice", "on", ">pw", "+@all", "~*")
    a.same("ACL", "SETUSER", "off-user", "off", ">pw", "+@all")
    a.same("ACL", "SETUSER", "free", "on", "nopass", "+@all")
    a.same("AUTH", "x")  # the default user has no password
    b = acl()
    for args in (("alice", "wrong"), ("nobody", "pw"), ("off-user", "pw")):
        b.same("AUTH", *args)
    b.same("AUTH", "free", "anything")
    b.same("ACL", "WHOAMI")
    b.same("AUTH", "alice", "pw")
    b.same("ACL", "WHOAMI")
    b.same("AUTH", "a", "b", "c")
    c = acl()
    c.same("HELLO", "2", "AUTH", "alice", "nope")
    got, want = c.both("HELLO", "3", "AUTH", "alice", "pw")
    assert got.replace(b":%d\r\n" % 0, b"") != b"" and got[:1] == want[:1] == b"%"
    c.same("ACL", "WHOAMI")


def test_noperm_commands_keys_and_channels(acl):
    a = acl()
    a.same("ACL", "SETUSER", "w", "on", ">pw", "~redge:queue:demo*", "%R~ro:*", "%W~wo:*",
           "&redge:progress:*", "-@all", "+@read", "+@write", "+@list", "+@pubsub",
           "+client|id", "-set")
    w = acl("w", "pw")
    w.same("GET", "redge:queue:demo1")
    w.same("GET", "other")
    w.same("SET", "redge:queue:demo1", "x")  # -set
    w.same("LPUSH", "redge:queue:demo1", "a")
    w.same("BRPOP", "redge:queue:demo1", "redge:queue:other", "0.01")
    w.same("LPUSH", "ro:1", "a")    # read-only pattern: no write
    w.same("LLEN", "ro:1")
    w.same("LLEN", "wo:1")          # write-only pattern: no read
    w.same("RPUSH", "wo:1", "x")
    w.same("LMOVE", "ro:1", "wo:1", "LEFT", "RIGHT")  # read src, write dst
    w.same("LMOVE", "wo:1", "ro:1", "LEFT", "RIGHT")
    w.same("EXISTS", "ro:1", "wo:1")  # no access flag: any pattern
    w.same("EXISTS", "nope")
    w.same("DEL", "wo:1")
    w.same("PUBLISH", "redge:progress:1", "m")
    w.same("PUBLISH", "other", "m")
    w.same("CLIENT", "ID") if False else None
    w.same("CLIENT", "LIST")  # only client|id is allowed
    w.same("CONFIG", "GET", "maxmemory")
    w.same("FLUSHALL")
    w.same("ACL", "WHOAMI")
    w.same("PING")  # @connection is not granted
    w.same("AUTH", "w", "pw")  # no_auth commands are never refused
    # SET with GET also reads: needs both permissions.
    a.same("ACL", "SETUSER", "s", "on", "nopass", "%W~wo:*", "~rw:*", "-@all", "+set")
    s = acl("s", "x")
    s.same("SET", "wo:1", "v")
    s.same("SET", "wo:1", "v", "GET")
    s.same("SET", "rw:1", "v", "GET")
    # SUBSCRIBE checks channels; PSUBSCRIBE compares patterns literally.
    a.same("ACL", "SETUSER", "sub", "on", "nopass", "&news.*", "&exact", "+@pubsub")
    sub = acl("sub", "x")
    sub.same("SUBSCRIBE", "other")
    sub.same("PSUBSCRIBE", "news.sport")
    sub.same("SUBSCRIBE", "exact", "news.x")
    sub.same("PSUBSCRIBE", "news.*")
    log = acl()
    got, want = log.both("ACL", "LOG")
    assert strip_ages(got) == strip_ages(want), (got[:800], want[:800])


def strip_ages(raw):
    """ACL LOG without its times and client-info lines (addresses and ids differ)."""
    lines = raw.split(b"\r\n")
    out, skip = [], 0
    for i, line in enumerate(lines):
        if skip:
            skip -= 1
            continue
        if line in (b"age-seconds", b"client-info"):
            out.append(line)
            skip = 2  # its $len line and the value
            continue
        out.append(line)
    return out


def test_acl_log_groups_and_resets(acl):
    a = acl()
    a.same("ACL", "SETUSER", "r", "on", "nopass", "-@all", "+get", "~k")
    r = acl("r", "x")
    for _ in range(3):
        r.same("SET", "k", "v")
    r.same("GET", "other")
    r.same("AUTH", "r2", "bad")
    got, want = a.both("ACL", "LOG")
    assert strip_ages(got) == strip_ages(want)
    a.same("ACL", "LOG", "1") if False else None
    got, want = a.both("ACL", "LOG", "1")
    assert strip_ages(got) == strip_ages(want)
    a.same("ACL", "LOG", "-5")
    a.same("ACL", "LOG", "nope")
    a.same("ACL", "LOG", "RESET")
    a.same("ACL", "LOG")


def test_multi_exec_and_rules_changed_before_exec(acl):
    a = acl()
    a.same("ACL", "SETUSER", "t", "on", "nopass", "~*", "+@all", "-flushall")
    t = acl("t", "x")
    t.same("MULTI")
    t.same("SET", "a", "1")
    t.same("FLUSHALL")
    t.same("EXEC")
    t.same("MULTI")
    t.same("SET", "a", "1")
    t.same("GET", "a")
    a.same("ACL", "SETUSER", "t", "-set")
    t.same("EXEC")
    got, want = a.both("ACL", "LOG")
    assert strip_ages(got) == strip_ages(want)


def test_selectors(acl):
    a = acl()
    a.same("ACL", "SETUSER", "sel", "on", "nopass", "~a*", "+get", "(~b* +set +get)")
    s = acl("sel", "x")
    s.same("GET", "a1")
    s.same("GET", "b1")
    s.same("SET", "b1", "v")
    s.same("SET", "a1", "v")  # no selector allows SET on a*
    s.same("GET", "c1")
    s.same("ACL", "DRYRUN", "sel", "set", "a1", "v") if False else None
    a.same("ACL", "DRYRUN", "sel", "SET", "a1", "v")
    a.same("ACL", "DRYRUN", "sel", "set", "b1", "v")
    a.same("ACL", "DRYRUN", "sel", "lpush", "b1", "v")
    a.same("ACL", "DRYRUN", "nobody", "get", "x")
    a.same("ACL", "DRYRUN", "sel", "nosuchcmd")
    a.same("ACL", "DRYRUN", "sel", "get")
    a.same("ACL", "SETUSER", "sel", "clearselectors")
    a.same("ACL", "GETUSER", "sel")


def test_deluser_closes_its_connections(acl):
    a = acl()
    a.same("ACL", "SETUSER", "gone", "on", "nopass", "+@all", "~*")
    g = acl("gone", "x")
    g.same("PING")
    a.same("ACL", "DELUSER", "gone")
    for conn in (g.redge, g.ref):
        with pytest.raises((Closed, ConnectionError, OSError)):
            conn.call("PING")


def test_requirepass_is_the_default_users_password(acl):
    a = acl()
    a.same("CONFIG", "SET", "requirepass", "s3cret")
    a.same("ACL", "GETUSER", "default")
    fresh = acl()
    fresh.same("GET", "k")
    fresh.same("AUTH", "s3cret")
    fresh.same("AUTH", "default", "s3cret")
    a.same("ACL", "WHOAMI")  # authenticated before the password existed: still so
    a.same("CONFIG", "SET", "requirepass", "")
    a.same("ACL", "GETUSER", "default")


def test_pubsub_default_allchannels(acl):
    a = acl()
    a.same("CONFIG", "SET", "acl-pubsub-default", "allchannels")
    a.same("ACL", "SETUSER", "p")
    a.same("ACL", "GETUSER", "p")
    a.same("ACL", "SETUSER", "p", "reset")
    a.same("ACL", "LIST")


def test_scripts_are_checked_too(acl):
    a = acl()
    a.same("ACL", "SETUSER", "lua", "on", "nopass", "~ok*", "+@scripting", "+get", "+set")
    s = acl("lua", "x")
    s.same("EVAL", "return redis.call('set', KEYS[1], 'v')", "1", "ok1")
    s.same("EVAL", "return redis.call('set', KEYS[1], 'v')", "1", "no1")
    s.same("EVAL", "return redis.call('del', KEYS[1])", "1", "ok1")
    s.same("EVAL", "return redis.pcall('del', KEYS[1])", "1", "ok1")
    s.same("EVAL", "return redis.acl_check_cmd('get', 'ok1')", "0")
    s.same("EVAL", "return redis.acl_check_cmd('get', 'no1')", "0")
    s.same("EVAL", "return redis.acl_check_cmd('del', 'ok1')", "0")
    got, want = a.both("ACL", "LOG")
    assert strip_ages(got) == strip_ages(want)


def test_command_info_categories_are_redis(redge, reference_redis):
    with RawConn("127.0.0.1", redge.port) as g, RawConn("127.0.0.1", reference_redis.port) as r:
        names = g.call("COMMAND", "LIST")
        got = g.call("COMMAND", "INFO", *names)
        want = r.call("COMMAND", "INFO", *names)
    assert len(got) == len(want) == len(names)
    for mine, theirs in zip(got, want):
        assert mine[0] == theirs[0]
        assert mine[6] == theirs[6], (mine[0], mine[6], theirs[6])


def start_redis_with_aclfile(tmp_path, aclfile):
    import subprocess
    from differential import REDIS_SERVER, _free_port
    port = _free_port()
    proc = subprocess.Popen([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path), "--aclfile", str(aclfile),
                             "--loglevel", "warning"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    from compat_support import wait_until
    def up():
        try:
            with RawConn("127.0.0.1", port, timeout=2) as c:
                return c.call("PING") == "PONG"
        except (OSError, Closed):
            return False
    wait_until(up, timeout=10, what="redis-server with --aclfile")
    return proc, port


def test_aclfile_load_and_save(redge_factory, tmp_path):
    aclfile = tmp_path / "users.acl"
    aclfile.write_text("user default on nopass ~* &* +@all\n"
                       "user worker on #" + "e" * 64 + " ~redge:queue:* &redge:progress:* -@all "
                       "+brpop +publish\n"
                       "user admin on >adminpw ~* &* +@all\n")
    redis_dir = tmp_path / "redis"
    redis_dir.mkdir()
    proc, port = start_redis_with_aclfile(redis_dir, aclfile)
    server = redge_factory("--aclfile", aclfile)

    class Ref:
        host = "127.0.0.1"

    Ref.port = port
    try:
        a = Pair(server.port, Ref)
        a.same_tokens("ACL", "LIST")
        admin = Pair(server.port, Ref, "admin", "adminpw")
        admin.same("ACL", "WHOAMI")
        # A broken file: nothing changes; the error names the file and lines.
        good = aclfile.read_text()
        aclfile.write_text(good + "user broken on +nosuchcmd\nbogus line\nuser admin on\n")
        a.same("ACL", "LOAD")
        admin.same("PING")
        a.same_tokens("ACL", "LIST")
        # A good file: loaded; clients of the replaced users are disconnected.
        aclfile.write_text(good.replace("+brpop", "+brpop +rpop"))
        a.same("ACL", "LOAD")
        for conn in (admin.redge, admin.ref):
            with pytest.raises((Closed, ConnectionError, OSError)):
                conn.call("PING")
        a.same_tokens("ACL", "GETUSER", "worker")
        # ACL SAVE writes the users back (both servers share the file: one at a time).
        a.same("ACL", "SETUSER", "new", "on", ">x", "+get", "~n*")
        assert a.redge.call("ACL", "SAVE") == "OK"
        saved_by_redge = aclfile.read_text()
        assert a.ref.call("ACL", "SAVE") == "OK"
        # The same users and rules (single-command rules come in Redis's hash order).
        assert sorted(" ".join(sorted(line.split())) for line in aclfile.read_text().splitlines()) \
            == sorted(" ".join(sorted(line.split())) for line in saved_by_redge.splitlines())
        assert "user new on #" in saved_by_redge and ">x" not in saved_by_redge
        a.close()
    finally:
        proc.kill()
        proc.wait()


def test_broken_aclfile_stops_the_start(tmp_path):
    import subprocess
    from redge_process import redge_binary
    aclfile = tmp_path / "bad.acl"
    aclfile.write_text("user x on +nosuchcommand\n")
    res = subprocess.run([str(redge_binary()), "--aclfile", str(aclfile), "--resp", "127.0.0.1:0",
                          "--http", "off", "--data-dir", str(tmp_path / "d")],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode != 0
    assert "nosuchcommand" in res.stderr and str(aclfile) in res.stderr, res.stderr


def test_user_settings_from_the_config_file_and_flags(redge_factory, tmp_path):
    conf = tmp_path / "redge.conf"
    conf.write_text("user default on >dpw ~* &* +@all\n"
                    "user worker on >wpw ~q:* -@all +lpush +rpop\n")
    server = redge_factory("--config", conf, "--user", "reader on nopass ~q:* -@all +lrange")
    with RawConn("127.0.0.1", server.port) as c:
        assert c.call("PING") == Error("NOAUTH Authentication required.")
        assert c.call("AUTH", "dpw") == "OK"
        assert c.call("ACL", "USERS") == [b"default", b"reader", b"worker"]
    with RawConn("127.0.0.1", server.port) as c:
        assert c.call("AUTH", "worker", "wpw") == "OK"
        assert c.call("LPUSH", "q:1", "a") == 1
        assert c.call("LPUSH", "x", "a") == Error(
            "NOPERM this user has no permissions to access one of the keys used as arguments")
    with RawConn("127.0.0.1", server.port) as c:
        assert c.call("AUTH", "reader", "any") == "OK"
        assert c.call("LRANGE", "q:1", "0", "-1") == [b"a"]


def test_user_settings_and_aclfile_together_are_refused(tmp_path):
    import subprocess
    from redge_process import redge_binary
    aclfile = tmp_path / "u.acl"
    aclfile.write_text("user default on nopass ~* &* +@all\n")
    res = subprocess.run([str(redge_binary()), "--aclfile", str(aclfile), "--user", "x on",
                          "--data-dir", str(tmp_path / "d")], capture_output=True, text=True,
                         timeout=30)
    assert res.returncode == 2 and "one place" in res.stderr, res.stderr
