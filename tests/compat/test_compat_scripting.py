"""Lua scripting (EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT) against a real redge.

1. Side by side with a real redis-server 7.0: every case of scripting_corpus.EVAL_CASES
   must get byte-identical replies (conversions in RESP2/RESP3, error texts, sandbox,
   cjson, cmsgpack, struct, bit).
2. What redge promises beyond Redis: a script is one atomic transaction (a script that
   fails half way writes nothing, other clients never see its intermediate states), its
   writes are durable per --fsync, and deep or huge inputs fail cleanly.
3. The long-script machinery: BUSY for other clients past lua-time-limit, SCRIPT KILL,
   UNKILLABLE after a write, the allowed commands, CONFIG of the limit.
4. Real clients: redis-py's Lock (EVALSHA), BullMQ-style scripts with cjson and
   cmsgpack.
"""

import json
import pathlib
import sys
import threading

import msgpack
import pytest
import redis

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import redge_process  # noqa: E402

from compat_support import Error, wait_until  # noqa: E402
from redis_reference import compare, start_reference, stop_reference, exchange  # noqa: E402
from scripting_corpus import EVAL_CASES  # noqa: E402


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """A reference redis-server and one redge, shared by the corpus cases (each case
    resets both)."""
    ref = start_reference(tmp_path_factory.mktemp("redis"))
    redge = redge_process.RedgeProcess(redge_process.redge_binary(),
                                       tmp_path_factory.mktemp("redge"), []).start()
    yield ref.port, redge.resp_port
    failure = redge.stop()
    stop_reference(ref)
    if failure:
        pytest.fail(failure, pytrace=False)


def case_id(commands):
    text = " | ".join(" ".join(c) for c in commands)
    return text[:60].replace("\n", "\\n")


@pytest.mark.parametrize("commands", EVAL_CASES, ids=[case_id(c) for c in EVAL_CASES])
def test_same_replies_as_redis(servers, commands):
    difference = compare(*servers, commands)
    assert difference is None, difference


# --- Atomicity, isolation, durability --------------------------------------------------


def test_a_script_that_fails_half_way_writes_nothing(r):
    r.set("untouched", "before")
    script = """
        redis.call('set', 'a', '1')
        redis.call('rpush', 'list', 'x', 'y')
        redis.call('set', 'untouched', 'after')
        redis.call('incr', 'a')
        return redis.call('lpush', 'a', 'not a list')
    """
    with pytest.raises(redis.ResponseError, match="WRONGTYPE Operation against a key holding"):
        r.eval(script, 0)
    assert r.get("a") is None
    assert r.exists("list") == 0
    assert r.get("untouched") == "before"
    # A Lua error after writes, and a killed script, write nothing either.
    with pytest.raises(redis.ResponseError, match="boom"):
        r.eval("redis.call('set', 'b', '1') error('boom')", 0)
    assert r.get("b") is None


def test_errors_caught_by_the_script_keep_its_writes(r):
    script = """
        redis.call('set', 'a', '1')
        local err = redis.pcall('lpush', 'a', 'x')
        local ok = pcall(function() error('caught') end)
        redis.call('set', 'b', '2')
        return err['err']
    """
    assert r.eval(script, 0).startswith("WRONGTYPE")
    assert r.mget("a", "b") == ["1", "2"]


def test_script_inside_exec_rolls_back_only_its_own_writes(r):
    pipe = r.pipeline(transaction=True)
    pipe.set("before", "1")
    pipe.eval("redis.call('set', 'inside', '1') error('late failure')", 0)
    pipe.set("after", "1")
    res = pipe.execute(raise_on_error=False)
    assert res[0] is True and res[2] is True
    assert isinstance(res[1], redis.ResponseError) and "late failure" in str(res[1])
    # Redis would keep 'inside'; redge undoes the failed script's writes only.
    assert r.mget("before", "inside", "after") == ["1", None, "1"]


def test_other_clients_never_see_an_intermediate_state(redge, r):
    r.mset({"a": 0, "b": 0})
    script = """
        for i = 1, 200 do
            redis.call('incr', 'a')
            redis.call('incr', 'b')
        end
        return redis.call('get', 'a')
    """
    stop = threading.Event()
    seen = []

    def reader():
        c = redge.client()
        while not stop.is_set():
            seen.append(tuple(c.mget("a", "b")))

    t = threading.Thread(target=reader)
    t.start()
    try:
        for n in range(1, 21):
            assert r.eval(script, 0) == str(200 * n)
    finally:
        stop.set()
        t.join()
    assert seen, "the reader read nothing"
    assert all(a == b for a, b in seen), [s for s in seen if s[0] != s[1]][:5]
    assert all(int(a) % 200 == 0 for a, _ in seen)


def test_script_writes_survive_a_crash_with_fsync_always(redge_factory, tmp_path):
    data = tmp_path / "durable"
    server = redge_factory("--fsync", "always", data_dir=data)
    c = server.client()
    assert c.eval("redis.call('set', 'k', ARGV[1]) return redis.call('rpush', 'l', 'a', 'b')",
                  0, "v") == 2
    server.proc.kill()  # SIGKILL: no shutdown, no final sync
    server.proc.wait()
    server._release()
    again = redge_factory(data_dir=data)
    c2 = again.client()
    assert c2.get("k") == "v"
    assert c2.lrange("l", 0, -1) == ["a", "b"]


def test_publish_from_a_script_is_delivered_only_if_it_commits(redge, r):
    sub = redge.client().pubsub()
    sub.subscribe("news")
    wait_until(lambda: sub.get_message(timeout=0.1), what="subscribe confirmation")
    assert r.eval("return redis.call('publish', 'news', 'kept')", 0) == 1
    with pytest.raises(redis.ResponseError):
        r.eval("redis.call('publish', 'news', 'rolled back') error('no')", 0)
    r.publish("news", "after")
    got = []

    def two_messages():
        m = sub.get_message(timeout=0.1)
        if m and m["type"] == "message":
            got.append(m["data"])
        return len(got) >= 2

    wait_until(two_messages, what="two messages")
    assert got == ["kept", "after"]
    sub.close()


def test_a_blocked_client_is_served_by_a_script_push(redge, r):
    waiter = redge.client()
    result = {}
    t = threading.Thread(target=lambda: result.update(v=waiter.blpop("jobs", timeout=10)))
    t.start()
    wait_until(lambda: int(r.info("clients")["blocked_clients"]) == 1, what="BLPOP parked")
    with pytest.raises(redis.ResponseError):  # rolled back: must not wake the waiter
        r.eval("redis.call('lpush', 'jobs', 'lost') error('no')", 0)
    r.eval("return redis.call('lpush', KEYS[1], 'job1')", 1, "jobs")
    t.join(timeout=10)
    assert result["v"] == ("jobs", "job1")


def test_watch_sees_writes_of_a_script(redge, r):
    other = redge.client()
    r.set("w", "1")
    with r.pipeline() as pipe:
        pipe.watch("w")
        other.eval("redis.call('set', 'w', '2')", 0)
        pipe.multi()
        pipe.set("w", "3")
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert r.get("w") == "2"


def test_select_inside_a_script_is_the_scripts_alone(r):
    r.set("k", "db0")
    r.execute_command("SELECT", 0)
    assert r.eval("redis.call('select', 9) redis.call('set', 'k', 'db9') "
                  "return redis.call('get', 'k')", 0) == "db9"
    assert r.get("k") == "db0"
    r.execute_command("SELECT", 9)
    assert r.get("k") == "db9"
    assert r.dbsize() == 1


def test_scripts_may_touch_keys_they_did_not_declare(r):
    assert r.eval("redis.call('set', 'undeclared', '1') return redis.call('get', 'undeclared')",
                  0) == "1"


# --- Bad and hostile input ---------------------------------------------------------------


def test_deep_and_huge_inputs_fail_cleanly(redge, r):
    deep_json = "[" * 200000 + "]" * 200000
    res = r.eval("cjson.decode_max_depth(10000000) local ok, e = pcall(cjson.decode, ARGV[1]) "
                 "return e", 0, deep_json)
    assert res.startswith("Found too many nested data structures")
    deep_pack = b"\x91" * 200000 + b"\x01"
    c = redge.client(decode_responses=False)
    res = c.eval("local ok, e = pcall(cmsgpack.unpack, ARGV[1]) return e", 0, deep_pack)
    assert res.startswith(b"stack overflow")
    # A table that contains itself: as deep as Redis goes, then Redis's error.
    [reply] = exchange(redge.port, [["eval", "local a = {} local b = {a} a[1] = b return a", "0"]])
    assert reply == b"*1\r\n" * 7995 + b"-ERR reached lua stack limit\r\n"
    with pytest.raises(redis.ResponseError, match="pattern too complex"):
        r.eval("return string.find('x', string.rep('x?', 100000))", 0)
    args = [str(i) for i in range(7999)]
    assert r.eval("return redis.call('rpush', 'big', unpack(ARGV))", 0, *args) == 7999
    with pytest.raises(redis.ResponseError, match="too many results to unpack"):
        r.eval("return unpack({}, 1, 1e8)", 0)
    with pytest.raises(redis.ResponseError, match="Error compiling script"):
        r.eval("return " + "(" * 300 + "1" + ")" * 300, 0)
    with pytest.raises(redis.ResponseError, match="stack overflow"):
        r.eval("local function f(n) return f(n + 1) + 1 end return f(1)", 0)
    redge.assert_serving()


def test_sandbox_escapes_are_refused(r):
    for script, message in [
        ("return os.execute('true')", "nonexistent global variable 'os'"),
        ("return io.open('/etc/passwd')", "nonexistent global variable 'io'"),
        ("return require('os')", "nonexistent global variable 'require'"),
        ("return loadfile('/etc/passwd')", "nonexistent global variable 'loadfile'"),
        ("return dofile('/etc/passwd')", "nonexistent global variable 'dofile'"),
        ("return debug.getinfo(1)", "nonexistent global variable 'debug'"),
        ("return setfenv(0, {})", "nonexistent global variable 'setfenv'"),
        ("return getfenv(0)", "nonexistent global variable 'getfenv'"),
        ("return loadstring(string.dump(function() return 1 end))()", "attempt to call a nil"),
        ("redis.call = function() return 'pwned' end", "Attempt to modify a readonly table"),
        ("rawset(redis, 'call', tostring)", "Attempt to modify a readonly table"),
        ("setmetatable(_G, nil)", "Attempt to modify a readonly table"),
        ("getmetatable('').__index = {upper = function() return 'pwned' end}",
         "Attempt to modify a readonly table"),
        ("getmetatable(_G).__index = function() return 1 end", "Attempt to modify a readonly"),
        ("table.insert(cjson, tostring)", "Attempt to modify a readonly table"),
        ("pwned = true", "Attempt to modify a readonly table"),
    ]:
        with pytest.raises(redis.ResponseError, match=message):
            r.eval(script, 0)
    # Nothing leaked into later scripts.
    assert r.eval("return redis.call('ping')", 0) == "PONG"
    assert r.eval("return ('x'):upper()", 0) == "X"
    assert r.eval("return rawget(_G, 'pwned') == nil", 0) == 1


# --- Long scripts: BUSY, SCRIPT KILL -----------------------------------------------------

BUSY_EVAL = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."


def run_in_thread(fn):
    result = {}

    def body():
        try:
            result["value"] = fn()
        except Exception as e:  # noqa: BLE001 (the test inspects it)
            result["error"] = e

    t = threading.Thread(target=body)
    t.start()
    return t, result


def wait_busy(raw):
    wait_until(lambda: raw.call("PING") == Error(BUSY_EVAL), what="BUSY", timeout=15)


def test_busy_then_script_kill(redge):
    admin = redge.raw()
    assert admin.call("CONFIG", "SET", "lua-time-limit", "50") == "OK"
    runner = redge.client()
    t, result = run_in_thread(lambda: runner.eval("while true do end", 0))
    wait_busy(admin)
    assert admin.call("GET", "x") == Error(BUSY_EVAL)
    assert admin.call("FUNCTION", "KILL") == Error(
        "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.")
    assert admin.call("FUNCTION", "STATS") == Error(BUSY_EVAL)
    # Commands Redis allows while a script is busy.
    assert isinstance(admin.call("HELLO", "2"), list)
    assert admin.call("MULTI") == "OK"
    assert admin.call("SET", "x", "1") == Error(BUSY_EVAL)
    assert admin.call("DISCARD") == "OK"
    assert admin.call("SCRIPT", "KILL") == "OK"
    t.join(timeout=10)
    assert "Script killed by user with SCRIPT KILL..." in str(result["error"])
    assert admin.call("PING") == "PONG"
    assert admin.call("SCRIPT", "KILL") == Error("NOTBUSY No scripts in execution right now.")


def test_exec_refused_while_busy_ends_the_transaction_with_execabort(redge):
    # As Redis (multi.tcl "EXEC and script timeout"): a refused EXEC ends the transaction
    # and says why; the connection is out of MULTI afterwards.
    admin = redge.raw()
    assert admin.call("CONFIG", "SET", "lua-time-limit", "50") == "OK"
    client = redge.raw()
    assert client.call("MULTI") == "OK"
    assert client.call("SET", "xx", "1") == "QUEUED"
    runner = redge.client()
    t, result = run_in_thread(lambda: runner.eval("while true do end", 0))
    wait_busy(admin)
    assert client.call("EXEC") == Error("EXECABORT Transaction discarded because of: " + BUSY_EVAL)
    assert admin.call("SCRIPT", "KILL") == "OK"
    t.join(timeout=10)
    assert client.call("EXEC") == Error("ERR EXEC without MULTI")
    assert client.call("EXISTS", "xx") == 0


def test_a_kill_reaches_a_script_that_catches_errors(redge):
    admin = redge.raw()
    admin.call("CONFIG", "SET", "busy-reply-threshold", "50")
    runner = redge.client()
    script = ("local f = function() while 1 do redis.call('ping') end end "
              "while 1 do pcall(f) end")
    t, result = run_in_thread(lambda: runner.eval(script, 0))
    wait_busy(admin)
    assert admin.call("SCRIPT", "KILL") == "OK"
    t.join(timeout=10)
    assert "killed by user" in str(result["error"])


def test_a_script_that_wrote_is_unkillable_and_finishes(redge):
    admin = redge.raw()
    admin.call("CONFIG", "SET", "lua-time-limit", "50")
    runner = redge.client()
    script = """
        redis.call('set', 'written', '1')
        local start = redis.call('time')
        while true do
            local now = redis.call('time')
            if (now[1] - start[1]) * 1000000 + (now[2] - start[2]) > 1500000 then break end
        end
        return 'finished'
    """
    t, result = run_in_thread(lambda: runner.eval(script, 0))
    wait_busy(admin)
    assert admin.call("SCRIPT", "KILL") == Error(
        "UNKILLABLE Sorry the script already executed write commands against the dataset. You "
        "can either wait the script termination or kill the server in a hard way using the "
        "SHUTDOWN NOSAVE command.")
    t.join(timeout=15)
    assert result.get("value") == "finished"
    assert admin.call("GET", "written") == b"1"


def test_commands_sent_before_the_limit_wait_their_turn(redge):
    # Below the threshold nothing is refused: other clients' commands queue behind the
    # script and run after it, in order.
    admin = redge.raw()
    admin.call("CONFIG", "SET", "lua-time-limit", "100000")
    runner = redge.client()
    script = """
        local start = redis.call('time')
        while true do
            local now = redis.call('time')
            if (now[1] - start[1]) * 1000000 + (now[2] - start[2]) > 300000 then break end
        end
        return redis.call('set', 'order', 'script')
    """
    t, result = run_in_thread(lambda: runner.eval(script, 0))
    # FUNCTION STATS answers at once, with BUSY while an EVAL runs: the script started.
    wait_until(lambda: admin.call("FUNCTION", "STATS") == Error(BUSY_EVAL), what="script start")
    assert admin.call("SET", "order", "client") == "OK"
    t.join(timeout=10)
    assert result["value"] == "OK"
    assert admin.call("GET", "order") == b"client"


def test_lua_time_limit_config(r):
    assert r.config_get("lua-time-limit") == {"lua-time-limit": "5000"}
    assert r.config_get("busy-reply-threshold") == {"busy-reply-threshold": "5000"}
    r.config_set("busy-reply-threshold", 1234)
    assert r.config_get("lua-time-limit") == {"lua-time-limit": "1234"}
    with pytest.raises(redis.ResponseError, match="argument couldn't be parsed into an integer"):
        r.config_set("lua-time-limit", "abc")
    with pytest.raises(redis.ResponseError, match="argument must be between 0 and"):
        r.config_set("lua-time-limit", -5)


# --- Script cache, INFO --------------------------------------------------------------------


def test_script_cache_commands(r):
    sha = r.script_load("return 'loaded'")
    assert sha == "b534286061d4b9e4026607613b95c06c06015ae8"
    assert r.evalsha(sha, 0) == "loaded"
    assert r.evalsha(sha.upper(), 0) == "loaded"
    assert r.script_exists(sha, "0" * 40) == [True, False]
    assert int(r.info("memory")["number_of_cached_scripts"]) == 1
    assert r.script_flush() is True
    assert int(r.info("memory")["number_of_cached_scripts"]) == 0
    with pytest.raises(redis.exceptions.NoScriptError):
        r.evalsha(sha, 0)
    assert r.execute_command("SCRIPT", "DEBUG", "NO") == "OK"
    with pytest.raises(redis.ResponseError, match="no Lua debugger"):
        r.execute_command("SCRIPT", "DEBUG", "YES")


def test_prng_is_redis_sequence(redge):
    # Redis's math.random: one drand48 sequence per process (0.39646477363839 first).
    c = redge.client()
    assert c.eval("return tostring(math.random())", 0) == "0.39646477363839"
    assert c.eval("return tostring(math.random())", 0) == "0.84048536971234"
    assert c.eval("math.randomseed(10) return tostring(math.random())", 0) == \
        c.eval("math.randomseed(10) return tostring(math.random())", 0)


# --- Real clients ---------------------------------------------------------------------------


def test_redis_py_lock(redge, r):
    lock = r.lock("resource", timeout=5, blocking_timeout=0.2)
    assert lock.acquire()
    other = redge.client().lock("resource", timeout=5, blocking_timeout=0.2)
    assert not other.acquire()
    assert lock.owned()
    assert lock.extend(10)
    assert 5000 < r.pttl("resource") <= 15000
    assert lock.reacquire()
    assert 4000 < r.pttl("resource") <= 5000
    lock.release()
    assert r.exists("resource") == 0
    assert other.acquire()
    stale = r.lock("resource", timeout=5)
    stale.local.token = b"not-the-owner"  # the release script must refuse it
    with pytest.raises(redis.exceptions.LockNotOwnedError):
        stale.release()
    stale.local.token = b"not-the-owner"
    with pytest.raises(redis.exceptions.LockNotOwnedError):
        stale.extend(1)
    assert other.locked()
    other.release()
    # The scripts went through EVALSHA after a first NOSCRIPT: they are cached now.
    assert int(r.info("memory")["number_of_cached_scripts"]) >= 3


ADD_JOB = """
-- BullMQ-style: options packed with msgpack, data as JSON, events on a list.
local opts = cmsgpack.unpack(ARGV[1])
local data = cjson.decode(ARGV[2])
local id = redis.call('incr', KEYS[1])
local job = {id = tostring(id), name = opts.name, data = data, attempts = opts.attempts or 1,
             delay = opts.delay or 0}
redis.call('set', KEYS[2] .. id, cjson.encode(job))
redis.call('rpush', KEYS[3], id)
redis.call('publish', KEYS[4], cjson.encode({event = 'added', jobId = tostring(id)}))
return cmsgpack.pack({tostring(id), #redis.call('lrange', KEYS[3], 0, -1)})
"""

TAKE_JOB = """
local id = redis.call('lpop', KEYS[1])
if not id then return nil end
local job = cjson.decode(redis.call('get', KEYS[2] .. id))
job.processedOn = tonumber(ARGV[1])
redis.call('set', KEYS[2] .. id, cjson.encode(job))
return cjson.encode(job)
"""


GET_COUNTS = """
#!lua flags=no-writes
-- BullMQ-style read-only query, run with EVALSHA_RO: counts per state, msgpack-packed.
local out = {}
for i, key in ipairs(KEYS) do
  out[ARGV[i]] = redis.call('llen', key)
end
return cmsgpack.pack(out)
"""


def test_bullmq_style_scripts(redge):
    c = redge.client(decode_responses=False)
    add = c.register_script(ADD_JOB)
    take = c.register_script(TAKE_JOB)
    keys = ["q:id", "q:job:", "q:wait", "q:events"]
    for n in range(1, 4):
        opts = msgpack.packb({"name": "email", "attempts": 3})
        packed = add(keys=keys, args=[opts, json.dumps({"to": f"u{n}@x", "n": n})])
        assert msgpack.unpackb(packed) == [str(n), n]
    job = json.loads(take(keys=["q:wait", "q:job:"], args=[1700000000000]))
    assert job["id"] == "1" and job["data"] == {"to": "u1@x", "n": 1}
    assert job["attempts"] == 3 and job["processedOn"] == 1700000000000
    assert c.lrange("q:wait", 0, -1) == [b"2", b"3"]
    stored = json.loads(c.get("q:job:1"))
    assert stored["processedOn"] == 1700000000000
    # Bad input from a client: the script fails as Redis's would and writes nothing.
    with pytest.raises(redis.ResponseError, match="Bad data format in input"):
        add(keys=keys, args=[b"\xc1", "{}"])
    with pytest.raises(redis.ResponseError, match="Expected object key string but found invalid token"):
        add(keys=keys, args=[msgpack.packb({"name": "x"}), "{not json"])
    assert c.get("q:id") == b"3"
    sha = c.script_load(GET_COUNTS.lstrip())
    counts = c.execute_command("EVALSHA_RO", sha, 2, "q:wait", "q:done", "wait", "done")
    assert msgpack.unpackb(counts) == {"wait": 2, "done": 0}


def test_resp3_client(redge):
    raw = redge.raw()
    assert raw.call("HELLO", "3")
    assert raw.call("EVAL", "redis.setresp(3) return {double = 1.5}", "0") == 1.5
    assert raw.call("EVAL", "return {map = {a = 1}}", "0") == {b"a": 1}
    assert raw.call("EVAL", "redis.setresp(3) return redis.call('ping')", "0") == "PONG"
    assert raw.call("EVAL", "redis.setresp(3) return {true, false}", "0") == [True, False]


def test_exchange_helper_matches_redis_wire_format(redge):
    # The comparison helper itself: a multi-level reply is read whole.
    got = exchange(redge.port, [["eval", "return {1, {2, {3}}, 'x'}", "0"]])
    assert got == [b"*3\r\n:1\r\n*2\r\n:2\r\n*1\r\n:3\r\n$1\r\nx\r\n"]


def test_shutdown_stops_a_runaway_script_and_keeps_nothing_of_it(redge_factory, tmp_path):
    data = tmp_path / "data"
    server = redge_factory(data_dir=data)
    admin = server.raw()
    runner = server.raw()
    runner.send_command("EVAL", "redis.call('set', 'partial', '1') while true do end", "0")
    # The script wrote, so SCRIPT KILL cannot stop it; a SIGTERM must still end redge.
    wait_until(lambda: admin.call("FUNCTION", "STATS") == Error(BUSY_EVAL), what="script start")
    assert admin.call("SCRIPT", "KILL").startswith("UNKILLABLE")
    assert server.stop() is None  # exits on SIGTERM within the harness's 10 s
    again = redge_factory(data_dir=data)
    assert again.client().get("partial") is None


def test_a_client_that_leaves_during_its_script(redge):
    admin = redge.raw()
    admin.call("CONFIG", "SET", "lua-time-limit", "50")
    runner = redge.raw()
    runner.send_command("EVAL", "while true do end", "0")
    wait_busy(admin)
    runner.close()
    assert admin.call("SCRIPT", "KILL") == "OK"
    wait_until(lambda: admin.call("PING") == "PONG", what="PONG after the kill")
    redge.assert_serving()


def test_kill_without_a_time_limit(redge):
    admin = redge.raw()
    admin.call("CONFIG", "SET", "lua-time-limit", "0")  # BUSY off
    runner = redge.client()
    t, result = run_in_thread(lambda: runner.eval("while true do end", 0))
    wait_until(lambda: admin.call("FUNCTION", "STATS") == Error(BUSY_EVAL), what="script start")
    assert admin.call("PING") == "PONG"  # never BUSY with a limit of 0
    assert admin.call("SCRIPT", "KILL") == "OK"
    t.join(timeout=10)
    assert "Script killed by user" in str(result["error"])


def test_monitor_shows_the_script_and_its_commands(redge, r):
    monitor = redge.raw()
    assert monitor.call("MONITOR") == "OK"
    r.eval("redis.call('set', KEYS[1], ARGV[1]) return redis.call('get', KEYS[1])", 1, "k", "v")
    lines = [monitor.read_reply(timeout=5) for _ in range(3)]
    assert '"EVAL"' in lines[0] and lines[0].endswith('"1" "k" "v"')
    # As Redis: the script's commands follow it, from the client "lua", in its database.
    assert lines[1].endswith('[0 lua] "set" "k" "v"'), lines
    assert lines[2].endswith('[0 lua] "get" "k"'), lines
