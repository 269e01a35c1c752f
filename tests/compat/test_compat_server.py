"""Connection and server commands: PING/ECHO/QUIT/RESET, CLIENT SETNAME/GETNAME/ID/LIST/
INFO/KILL/NO-EVICT, INFO (redis-py info()), DBSIZE, FLUSHDB/FLUSHALL, TIME, COMMAND
COUNT/INFO/DOCS, CONFIG GET, and Redis's unknown-command and arity error texts."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from compat_support import Error, RawConn, wait_blocked, wait_until


def test_ping_echo(redge, r):
    assert r.ping() is True
    assert r.echo("hello") == "hello"
    c = redge.raw()
    c.send_command("PING")
    assert c.read_bytes(7) == b"+PONG\r\n"
    assert c.call("PING", "msg") == b"msg"
    assert c.call("ECHO", "") == b""
    assert c.call("ECHO") == Error("ERR wrong number of arguments for 'echo' command")


def test_quit_closes_after_ok(redge):
    c = redge.raw()
    c.send(b"*1\r\n$4\r\nQUIT\r\n*1\r\n$4\r\nPING\r\n")
    assert c.read_until_close() == b"+OK\r\n"
    redge.assert_serving()


def test_reset(redge, r):
    r.set("k", "db0")
    c = redge.raw()
    assert c.call("CLIENT", "SETNAME", "someone") == "OK"
    assert c.call("SELECT", "2") == "OK"
    assert c.call("MULTI") == "OK"
    assert c.call("SET", "x", "1") == "QUEUED"
    assert c.call("RESET") == "RESET"
    assert c.call("CLIENT", "GETNAME") is None
    assert c.call("GET", "k") == b"db0"  # back in db 0
    assert c.call("EXEC") == Error("ERR EXEC without MULTI")
    assert r.exists("x") == 0


def test_client_setname_getname_id_info(redge):
    c = redge.client(single_connection_client=True)
    assert c.client_getname() is None
    assert c.client_setname("worker-1") is True
    assert c.client_getname() == "worker-1"
    cid = c.client_id()
    assert isinstance(cid, int) and cid > 0
    other = redge.client(single_connection_client=True)
    assert other.client_id() != cid
    info = c.execute_command("CLIENT", "INFO")
    assert f"id={cid} " in info and " name=worker-1 " in info
    assert c.execute_command("CLIENT", "NO-EVICT", "on") == "OK"
    assert c.execute_command("CLIENT", "NO-EVICT", "off") == "OK"
    raw = redge.raw()
    assert raw.call("CLIENT", "SETNAME", "has space") == Error(
        "ERR Client names cannot contain spaces, newlines or special characters.")
    assert raw.call("CLIENT", "FOO") == Error("ERR unknown subcommand 'FOO'. Try CLIENT HELP.")
    assert raw.call("CLIENT") == Error("ERR wrong number of arguments for 'client' command")
    # An empty name clears it.
    assert c.client_setname("") is True
    assert c.client_getname() is None


def test_client_list_fields_and_flags(redge, r):
    me = redge.client(single_connection_client=True)
    me.client_setname("lister")
    my_id = me.client_id()
    blocker = redge.client(single_connection_client=True)
    blocker.client_setname("blocked-one")
    sub = redge.raw()
    assert sub.call("CLIENT", "SETNAME", "subscriber") == "OK"
    sub.send_command("SUBSCRIBE", "a", "b")
    sub.read_reply()
    sub.read_reply()
    ex = ThreadPoolExecutor(1)
    try:
        fut = ex.submit(blocker.blpop, ["nothing"], 20)
        wait_blocked(r, 1)
        clients = {c["name"]: c for c in me.client_list()}
        for name in ("lister", "blocked-one", "subscriber"):
            assert name in clients, clients.keys()
        mine = clients["lister"]
        for field in ("id", "addr", "fd", "name", "age", "idle", "flags", "db", "sub",
                      "psub", "multi", "cmd"):
            assert field in mine, f"CLIENT LIST lacks {field}=: {mine}"
        assert int(mine["id"]) == my_id
        assert mine["addr"].startswith("127.0.0.1:")
        assert mine["db"] == "0"
        assert mine["cmd"] == "client|list"
        assert "b" in clients["blocked-one"]["flags"]
        assert clients["blocked-one"]["cmd"] == "blpop"
        assert "P" in clients["subscriber"]["flags"]
        assert clients["subscriber"]["sub"] == "2"
        r.rpush("nothing", "x")
        assert fut.result(timeout=10) == ("nothing", "x")
    finally:
        ex.shutdown(wait=False, cancel_futures=True)
    clients = {c["name"]: c for c in me.client_list()}
    assert "b" not in clients["blocked-one"]["flags"]


def test_client_kill(redge, r):
    victim = redge.raw()
    vid = victim.call("CLIENT", "ID")
    assert r.client_kill_filter(_id=vid) == 1
    assert victim.read_until_close() == b""
    assert r.client_kill_filter(_id=vid) == 0
    # Old form by address.
    victim2 = redge.raw()
    victim2.call("CLIENT", "SETNAME", "v2")
    addr = next(c["addr"] for c in r.client_list() if c["name"] == "v2")
    assert r.client_kill(addr) is True
    assert victim2.read_until_close() == b""
    raw = redge.raw()
    assert raw.call("CLIENT", "KILL", "1.2.3.4:5") == Error("ERR No such client")
    assert raw.call("CLIENT", "KILL", "ID", "999999") == 0
    # Killing a blocked client unblocks it and leaves the data alone.
    blocked = redge.raw()
    bid = blocked.call("CLIENT", "ID")
    blocked.send_command("BLPOP", "q", "0")
    wait_blocked(r, 1)
    assert r.client_kill_filter(_id=bid) == 1
    assert blocked.read_until_close() == b""
    wait_blocked(r, 0)
    r.rpush("q", "kept")
    assert r.lrange("q", 0, -1) == ["kept"]
    redge.assert_serving()


def test_info_sections_parse(redge, r):
    r.set("a", "1")
    r.set("b", "2", ex=100)
    redge.client(db=15).rpush("l", "x")
    info = r.info()
    assert info["redis_version"].count(".") == 2
    assert info["redis_mode"] == "standalone"
    assert int(info["tcp_port"]) == redge.port
    assert isinstance(info["uptime_in_seconds"], int)
    assert isinstance(info["connected_clients"], int) and info["connected_clients"] >= 1
    assert info["blocked_clients"] == 0
    assert isinstance(info["used_memory"], int)
    assert "loading" in info
    assert isinstance(info["total_commands_processed"], int)
    assert isinstance(info["total_connections_received"], int)
    assert info["db0"]["keys"] == 2
    assert info["db0"]["expires"] == 1
    text = redge.raw().call("INFO").decode()
    for section in ("# Server", "# Clients", "# Memory", "# Persistence", "# Stats",
                    "# Keyspace"):
        assert section in text, f"INFO lacks {section}"
    server_only = r.info("server")
    assert "redis_version" in server_only and "connected_clients" not in server_only
    assert "connected_clients" in r.info("clients")
    assert "used_memory" in r.info("memory")
    assert "loading" in r.info("persistence")
    assert "total_commands_processed" in r.info("stats")
    keyspace = r.info("keyspace")
    assert set(keyspace) == {"db0", "db15"}
    assert keyspace["db0"]["keys"] == 2 and keyspace["db0"]["expires"] == 1
    assert keyspace["db15"]["keys"] == 1 and keyspace["db15"]["expires"] == 0
    assert isinstance(keyspace["db0"]["avg_ttl"], int)
    assert "redis_version" in r.info("all") and "redis_version" in r.info("everything")


def test_info_stats_count(redge, r):
    r.set("hit", "1")
    before = r.info("stats")
    r.get("hit")
    r.get("miss")
    r.get("miss2")
    after = r.info("stats")
    assert after["keyspace_hits"] - before["keyspace_hits"] == 1
    assert after["keyspace_misses"] - before["keyspace_misses"] == 2
    assert after["total_commands_processed"] - before["total_commands_processed"] >= 3
    conns = after["total_connections_received"]
    c = redge.raw()
    c.call("PING")
    assert r.info("stats")["total_connections_received"] >= conns + 1


def test_dbsize_flushdb_flushall(redge, r):
    assert r.dbsize() == 0
    r.mset({f"k{i}": i for i in range(10)})
    r.rpush("l", "a")
    assert r.dbsize() == 11
    assert r.flushdb() is True
    assert r.dbsize() == 0
    r.set("a", "1")
    other = redge.client(db=5)
    other.set("b", "2")
    assert r.flushall(asynchronous=True) is True
    wait_until(lambda: r.dbsize() == 0 and other.dbsize() == 0, timeout=5,
               what="FLUSHALL ASYNC to empty every db")
    r.set("c", "3")
    assert r.execute_command("FLUSHDB", "SYNC") is True
    assert r.dbsize() == 0
    assert r.execute_command("FLUSHALL", "SYNC") is True
    raw = redge.raw()
    assert raw.call("FLUSHALL", "BOGUS") == Error("ERR syntax error")


def test_time(r):
    secs, micros = r.time()
    now = time.time()
    assert abs(secs + micros / 1e6 - now) < 5
    assert 0 <= micros < 1_000_000


def test_command_count_info_docs(redge, r):
    count = r.command_count()
    table = r.command()  # redis-py parses the full COMMAND reply
    assert count == len(table)
    assert count >= 80
    for name in ("get", "set", "blpop", "subscribe", "multi", "hello", "client", "command"):
        assert name in table, f"COMMAND lacks {name}"
    assert table["get"]["arity"] == 2
    assert table["set"]["arity"] == -3
    assert "readonly" in table["get"]["flags"]
    assert "write" in table["set"]["flags"]
    assert "blocking" in table["blpop"]["flags"]
    c = redge.raw()
    info = c.call("COMMAND", "INFO", "get", "nosuchcommand", "LPUSH")
    assert len(info) == 3
    get = info[0]
    assert get[0] == b"get" and get[1] == 2
    assert "readonly" in get[2] and "fast" in get[2]
    assert get[3:6] == [1, 1, 1]
    assert info[1] is None
    assert info[2][0] == b"lpush" and info[2][1] == -3 and "write" in info[2][2]
    docs = c.call("COMMAND", "DOCS", "get")
    assert isinstance(docs, list) and docs[0] == b"get"
    fields = dict(zip(docs[1][0::2], docs[1][1::2]))
    assert fields[b"summary"]
    assert fields[b"group"] == b"string"
    assert fields[b"since"].count(b".") == 2
    all_docs = c.call("COMMAND", "DOCS")
    assert len(all_docs) == 2 * count


def test_config_get(redge_factory):
    # Few SSE streams, so that 10000 RESP clients fit RLIMIT_NOFILE on any usual machine
    # (redge lowers maxclients, as Redis does, when the descriptors are not there).
    server = redge_factory("--proto-max-bulk-len", "2097152", "--sse-max-streams", "100")
    r = server.client()
    assert r.config_get("maxclients") == {"maxclients": "10000"}
    assert r.config_get("databases") == {"databases": "16"}
    assert r.config_get("proto-max-bulk-len") == {"proto-max-bulk-len": "2097152"}
    assert r.config_get("no-such-setting") == {}
    got = r.execute_command("CONFIG", "GET", "maxclients", "databases")  # Redis 7: several
    assert dict(zip(got[0::2], got[1::2])) == {"maxclients": "10000", "databases": "16"}


def test_unknown_command_and_arity_errors(redge, r):
    c = redge.raw()
    assert c.call("foo", "a", "b") == Error(
        "ERR unknown command 'foo', with args beginning with: 'a' 'b' ")
    assert c.call("FOO") == Error("ERR unknown command 'FOO', with args beginning with: ")
    assert c.call("foo", "x" * 200) == Error(
        "ERR unknown command 'foo', with args beginning with: '" + "x" * 128 + "' ")
    assert c.call("GET") == Error("ERR wrong number of arguments for 'get' command")
    assert c.call("get", "a", "b") == Error("ERR wrong number of arguments for 'get' command")
    assert c.call("SET", "k") == Error("ERR wrong number of arguments for 'set' command")
    assert c.call("LPUSH", "k") == Error("ERR wrong number of arguments for 'lpush' command")
    assert c.call("SUBSCRIBE") == Error("ERR wrong number of arguments for 'subscribe' command")
    assert c.call("PING") == "PONG"  # the connection is still usable
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("foo", "a", "b")
    assert str(e.value) == "unknown command 'foo', with args beginning with: 'a' 'b' "
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("GET")
    assert str(e.value) == "wrong number of arguments for 'get' command"


def test_maxclients_refuses_extra_connections(redge_factory):
    server = redge_factory("--maxclients", "5")
    conns = [server.raw() for _ in range(5)]
    for c in conns:
        assert c.call("PING") == "PONG"
    extra = server.raw()
    extra.send(RawConn.encode("PING"))
    assert extra.read_until_close() == b"-ERR max number of clients reached\r\n"
    conns[0].close()
    conns[1].close()
    wait_until(lambda: _ping_ok(server), timeout=10, what="a free client slot")
    assert server.client().ping() is True


def test_config_set_maxclients_takes_effect(redge_factory):
    server = redge_factory("--maxclients", "6")
    admin = server.raw()
    # More than the descriptors were planned for: Redis's refusal, naming what is possible.
    assert admin.call("CONFIG", "SET", "maxclients", "7") == Error(
        "ERR CONFIG SET failed (possibly related to argument 'maxclients') - The operating "
        "system is not able to handle the specified number of clients, try with 6")
    assert admin.call("CONFIG", "GET", "maxclients") == [b"maxclients", b"6"]
    other = server.raw()
    assert other.call("PING") == "PONG"
    # Lowered below the clients connected now: nobody is closed, the next one is refused.
    assert admin.call("CONFIG", "SET", "maxclients", "1") == "OK"
    assert other.call("PING") == "PONG"
    assert b"maxclients:1\r\n" in admin.call("INFO", "clients")
    extra = server.raw()
    extra.send(RawConn.encode("PING"))
    assert extra.read_until_close() == b"-ERR max number of clients reached\r\n"
    # Raised again (up to the planned number): accepted at once.
    assert admin.call("CONFIG", "SET", "maxclients", "6") == "OK"
    assert server.client().ping() is True


def _ping_ok(server):
    try:
        with RawConn(server.host, server.port, timeout=5) as c:
            return c.call("PING") == "PONG"
    except Exception:
        return False
