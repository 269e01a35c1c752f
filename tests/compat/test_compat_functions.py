"""Redis 7.0 functions (FUNCTION LOAD/LIST/DELETE/FLUSH/DUMP/RESTORE/STATS/KILL, FCALL,
FCALL_RO) against a real redge.

1. Side by side with a real redis-server 7.0: every case of
   scripting_corpus.FUNCTION_CASES gets byte-identical replies.
2. Libraries live in the store: they survive restarts, and so do DELETE, FLUSH and
   RESTORE; a restart does not bring back what was deleted.
3. DUMP/RESTORE round trips with each policy; a Redis-made payload is refused cleanly.
4. Long functions: BUSY with the FUNCTION variant, FUNCTION STATS, FUNCTION KILL, and
   the cross-kill refusals between SCRIPT KILL and FUNCTION KILL.
"""

import pathlib
import sys
import threading

import pytest
import redis

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import redge_process  # noqa: E402

from compat_support import Error, wait_until  # noqa: E402
from redis_reference import compare, start_reference, stop_reference  # noqa: E402
from scripting_corpus import FUNCTION_CASES  # noqa: E402


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    ref = start_reference(tmp_path_factory.mktemp("redis"))
    redge = redge_process.RedgeProcess(redge_process.redge_binary(),
                                       tmp_path_factory.mktemp("redge"), []).start()
    yield ref, redge
    failure = redge.stop()
    stop_reference(ref)
    if failure:
        pytest.fail(failure, pytrace=False)


def case_id(commands):
    return " | ".join(" ".join(c) for c in commands)[:60].replace("\n", "\\n")


@pytest.mark.parametrize("commands", FUNCTION_CASES, ids=[case_id(c) for c in FUNCTION_CASES])
def test_same_replies_as_redis(servers, commands):
    ref, redge = servers
    difference = compare(ref.port, redge.resp_port, commands)
    assert difference is None, difference


LIB = """#!lua name=mylib
local function greet(name) return 'hello ' .. name end
redis.register_function('greet', function(keys, args) return greet(args[1]) end)
redis.register_function{function_name = 'setget', description = 'sets and reads',
  callback = function(keys, args) redis.call('set', keys[1], args[1])
    return redis.call('get', keys[1]) end}
redis.register_function{function_name = 'reader', flags = {'no-writes'},
  callback = function(keys) return redis.call('get', keys[1]) end}
"""

OTHER = """#!lua name=other
redis.register_function('other_fn', function() return 'other' end)
"""


def as_dict(pairs):
    """redis-py 4.3 returns FUNCTION LIST's maps as flat lists (RESP2)."""
    return {pairs[i]: pairs[i + 1] for i in range(0, len(pairs), 2)}


def libraries(c, **kwargs):
    out = []
    for lib in c.function_list(**kwargs):
        lib = as_dict(lib)
        lib["functions"] = [as_dict(f) for f in lib["functions"]]
        out.append(lib)
    return out


def library_names(c):
    return sorted(lib["library_name"] for lib in libraries(c))


def test_basic_usage(r):
    assert r.function_load(LIB) == "mylib"
    assert r.fcall("greet", 0, "bob") == "hello bob"
    assert r.fcall("GREET", 0, "case") == "hello case"  # function names ignore case
    assert r.fcall("setget", 1, "k", "v") == "v"
    assert r.fcall_ro("reader", 1, "k") == "v"
    with pytest.raises(redis.ResponseError, match=r"Can not execute a script with write flag"):
        r.fcall_ro("setget", 1, "k", "v2")
    [lib] = libraries(r)
    assert lib["library_name"] == "mylib" and lib["engine"] == "LUA"
    # redge lists a library's functions in registration order.
    assert [f["name"] for f in lib["functions"]] == ["greet", "setget", "reader"]
    assert lib["functions"][1]["description"] == "sets and reads"
    assert lib["functions"][2]["flags"] == ["no-writes"]
    assert libraries(r, withcode=True)[0]["library_code"] == LIB
    assert r.execute_command("FUNCTION", "STATS") == [
        "running_script", None, "engines", ["LUA", ["libraries_count", 1, "functions_count", 3]]]
    assert int(r.info("memory")["number_of_functions"]) == 3
    assert int(r.info("memory")["number_of_libraries"]) == 1


def test_a_function_that_fails_writes_nothing(r):
    r.function_load("#!lua name=l\nredis.register_function('f', function(keys)"
                    " redis.call('set', keys[1], 'x') redis.call('rpush', keys[2], 'y')"
                    " error('half way') end)")
    with pytest.raises(redis.ResponseError, match="half way"):
        r.fcall("f", 2, "a", "b")
    assert r.exists("a", "b") == 0


def test_libraries_survive_a_restart(redge_factory, tmp_path):
    data = tmp_path / "data"
    first = redge_factory(data_dir=data)
    c = first.client()
    c.function_load(LIB)
    c.function_load(OTHER)
    c.function_load("#!lua name=gone\nredis.register_function('gone_fn', function() return 1 end)")
    c.function_delete("gone")
    c.function_load("#!lua name=other\nredis.register_function('other_fn', function()"
                    " return 'replaced' end)", replace=True)
    assert first.stop() is None

    second = redge_factory(data_dir=data)
    c = second.client()
    assert library_names(c) == ["mylib", "other"]
    assert c.fcall("greet", 0, "again") == "hello again"
    assert c.fcall("other_fn", 0) == "replaced"
    with pytest.raises(redis.ResponseError, match="Function not found"):
        c.fcall("gone_fn", 0)
    # FLUSHALL keeps functions (they are not keys), FUNCTION FLUSH does not.
    c.flushall()
    assert library_names(c) == ["mylib", "other"]
    c.function_flush()
    assert second.stop() is None

    third = redge_factory(data_dir=data)
    c = third.client()
    assert c.function_list() == []
    assert c.execute_command("FUNCTION", "STATS")[3] == [
        "LUA", ["libraries_count", 0, "functions_count", 0]]


def test_restore_is_persistent(redge_factory, tmp_path):
    data = tmp_path / "data"
    first = redge_factory(data_dir=data)
    c = first.client(decode_responses=False)
    c.function_load(LIB)
    payload = c.function_dump()
    c.function_flush()
    assert c.function_restore(payload) is True
    assert first.stop() is None
    second = redge_factory(data_dir=data)
    assert library_names(second.client()) == ["mylib"]
    assert second.client().fcall("greet", 0, "x") == "hello x"


def test_dump_and_restore_policies(redge, r):
    r.function_load(LIB)
    payload = redge.client(decode_responses=False).function_dump()
    r.function_flush()
    assert r.function_restore(payload) is True
    assert library_names(r) == ["mylib"]
    with pytest.raises(redis.ResponseError, match="Library mylib already exists"):
        r.function_restore(payload)  # APPEND is the default
    r.function_load(OTHER)
    assert r.function_restore(payload, "REPLACE") is True
    assert library_names(r) == ["mylib", "other"]
    assert r.function_restore(payload, "FLUSH") is True
    assert library_names(r) == ["mylib"]
    # A name clash with another library's function aborts and keeps everything.
    r.function_flush()
    r.function_load("#!lua name=clash\nredis.register_function('greet', function() return 0 end)")
    with pytest.raises(redis.ResponseError, match="Function greet already exists"):
        r.function_restore(payload)
    assert library_names(r) == ["clash"]
    with pytest.raises(redis.ResponseError, match="Wrong restore policy"):
        r.function_restore(payload, "MERGE")
    corrupted = payload[:-1] + bytes([payload[-1] ^ 1])
    with pytest.raises(redis.ResponseError, match="payload version or checksum are wrong"):
        r.function_restore(corrupted)
    assert library_names(r) == ["clash"]


def test_a_redis_made_dump_is_refused_cleanly(redge, tmp_path):
    ref = start_reference(tmp_path / "redis")
    try:
        rc = redis.Redis(port=ref.port)
        rc.function_load(LIB)
        payload = rc.function_dump()
        rc.close()
    finally:
        stop_reference(ref)
    c = redge.client()
    with pytest.raises(redis.ResponseError) as e:
        c.function_restore(payload)
    assert str(e.value) == "DUMP payload version or checksum are wrong"
    assert c.function_list() == []
    redge.assert_serving()


BUSY_FUNCTION = ("BUSY Redis is busy running a script. "
                 "You can only call FUNCTION KILL or SHUTDOWN NOSAVE.")
BUSY_EVAL = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."


def test_busy_function_stats_and_kill(redge):
    admin = redge.raw()
    admin.call("CONFIG", "SET", "busy-reply-threshold", "50")
    admin.call("FUNCTION", "LOAD", "#!lua name=spin\nredis.register_function('spin', function()"
               " local a = 1 while true do a = a + 1 end end)")
    runner = redge.client()
    result = {}

    def body():
        try:
            runner.fcall("spin", 0)
        except redis.ResponseError as e:
            result["error"] = str(e)

    t = threading.Thread(target=body)
    t.start()
    wait_until(lambda: admin.call("PING") == Error(BUSY_FUNCTION), what="BUSY", timeout=15)
    stats = admin.call("FUNCTION", "STATS")
    assert stats[0] == b"running_script"
    running = stats[1]
    assert running[0:4] == [b"name", b"spin", b"command", [b"FCALL", b"spin", b"0"]]
    assert running[4] == b"duration_ms" and running[5] >= 50
    assert admin.call("SCRIPT", "KILL") == Error(BUSY_FUNCTION)
    assert admin.call("FUNCTION", "KILL") == "OK"
    t.join(timeout=10)
    assert "Script killed by user with SCRIPT KILL..." in result["error"]
    assert "script: spin, on @user_function:2." in result["error"]
    assert admin.call("PING") == "PONG"
    assert admin.call("FUNCTION", "KILL") == Error("NOTBUSY No scripts in execution right now.")


def test_function_kill_does_not_kill_an_eval(redge):
    admin = redge.raw()
    admin.call("CONFIG", "SET", "lua-time-limit", "50")
    runner = redge.client()
    result = {}

    def body():
        try:
            runner.eval("while true do end", 0)
        except redis.ResponseError as e:
            result["error"] = str(e)

    t = threading.Thread(target=body)
    t.start()
    wait_until(lambda: admin.call("PING") == Error(BUSY_EVAL), what="BUSY", timeout=15)
    assert admin.call("FUNCTION", "KILL") == Error(BUSY_EVAL)
    assert admin.call("SCRIPT", "KILL") == "OK"
    t.join(timeout=10)
    assert "killed by user" in result["error"]
    assert admin.call("PING") == "PONG"


def test_load_errors_keep_the_old_library(r):
    r.function_load(LIB)
    with pytest.raises(redis.ResponseError, match="Library 'mylib' already exists"):
        r.function_load(LIB)
    with pytest.raises(redis.ResponseError, match="Error compiling function"):
        r.function_load("#!lua name=mylib\nthis is not lua", replace=True)
    with pytest.raises(redis.ResponseError, match="FUNCTION LOAD timeout"):
        r.function_load("#!lua name=mylib\nwhile true do end", replace=True)
    assert r.fcall("greet", 0, "still") == "hello still"
    assert library_names(r) == ["mylib"]


def test_functions_inside_multi(r):
    r.function_load(LIB)
    pipe = r.pipeline(transaction=True)
    pipe.fcall("setget", 1, "k", "in-exec")
    pipe.fcall("greet", 0, "tx")
    assert pipe.execute() == ["in-exec", "hello tx"]
