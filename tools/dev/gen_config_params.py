#!/usr/bin/python3
"""Generates edge/resp/config_params.cc: every parameter of CONFIG GET/SET as Redis 7.0
has it (name, kind, bounds, enum values, default, mutability), learnt by probing a real
redis-server 7.0 over the protocol (black box: CONFIG GET * for names and defaults, a bad
CONFIG SET per parameter for its kind and the error texts, a CONFIG SET of the current
value for mutability). Nothing is read from Redis's sources.

    tools/dev/gen_config_params.py [redis-server] > edge/resp/config_params.cc
"""
import re
import socket
import subprocess
import sys
import tempfile
import time

import redis

SERVER = sys.argv[1] if len(sys.argv) > 1 else "/usr/bin/redis-server"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def main():
    port = free_port()
    d = tempfile.mkdtemp()
    proc = subprocess.Popen([SERVER, "--port", str(port), "--save", "", "--appendonly", "no",
                             "--dir", d], stdout=subprocess.DEVNULL)
    try:
        r = redis.Redis(port=port, decode_responses=True)
        for _ in range(100):
            try:
                r.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        version = r.info("server")["redis_version"]
        params = r.config_get("*")
        aliases = find_aliases(r, params)
        rows = []
        for name in sorted(params):
            default = params[name]
            kind, lo, hi, enums = probe(r, name, default)
            mutable = settable(r, name, default)
            rows.append((name, kind, lo, hi, enums, INSTANCE_DEFAULTS.get(name, default), mutable,
                         aliases.get(name, "")))
        emit(version, rows)
    finally:
        proc.terminate()
        proc.wait()


def find_aliases(r, params):
    """name -> the name it is an alias of: changing one changes the other's value too.
    The alias is the name that sorts after its twin in Redis's own naming (ziplist, slave
    and master are the old names), else the second in sort order."""
    aliases = {}
    for name in sorted(params):
        if name in aliases:
            continue
        old = params[name]
        if old in ("yes", "no"):
            new = "no" if old == "yes" else "yes"
        elif re.fullmatch(r"-?\d+", old):  # list-max-ziplist-size is -2
            new = str(int(old) + 1)
        elif old == "" and name.endswith("-announce-ip"):
            new = "10.0.0.1"
        else:
            continue
        try:
            r.config_set(name, new)
        except redis.ResponseError:
            continue
        now = r.config_get("*")
        r.config_set(name, old)
        for other in now:
            if other != name and now[other] != params[other]:
                old_names = ("ziplist", "slave", "master")
                if any(w in name for w in old_names) and not any(w in other for w in old_names):
                    aliases[name] = other
                else:
                    aliases[other] = name
    # replicaof cannot be probed (setting it starts replication); slaveof is its old name
    # (redis.conf and CONFIG GET both list the pair).
    if "slaveof" in params and "replicaof" in params:
        aliases["slaveof"] = "replicaof"
    return aliases


def err(r, *args):
    try:
        r.execute_command("CONFIG", "SET", *args)
        return None
    except redis.ResponseError as e:
        return str(e)


SPECIAL = {"save", "client-output-buffer-limit", "oom-score-adj-values",
           "notify-keyspace-events", "bind", "replicaof", "slaveof",
           "latency-tracking-info-percentiles", "dir", "maxmemory-clients"}


def probe(r, name, default):
    if name in SPECIAL:
        return "special", 0, 0, []
    e = err(r, name, "not-a-value!")
    if e is None:
        r.config_set(name, default)
        return "string", 0, 0, []
    if "immutable" in e or "protected" in e:
        # The kind of an immutable parameter cannot be probed; guess from its value.
        if default in ("yes", "no"):
            return "bool", 0, 0, []
        if re.fullmatch(r"-?\d+", default):
            return "int", -(2**63), 2**63 - 1, []
        return "string", 0, 0, []
    if "'yes' or 'no'" in e:
        return "bool", 0, 0, []
    if "must be one of the following" in e:
        values = e.split("following:", 1)[1].strip()
        return "enum", 0, 0, [v.strip() for v in values.split(",")]
    if "memory value" in e or "integer" in e:
        kind = "memory" if "memory value" in e else "int"
        lo, hi = -(2**63), 2**63 - 1
        # A memory value cannot be negative (Redis refuses "-..." before its bounds check),
        # so its lower bound shows only for 0.
        extremes = ("-9223372036854775808", "9223372036854775807")
        for probe_value in extremes + (("0",) if kind == "memory" else ()):
            m = err(r, name, probe_value)
            if m:
                b = re.search(r"between (-?\d+) and (-?\d+) inclusive", m)
                if b:
                    lo, hi = int(b.group(1)), int(b.group(2))
            else:
                r.config_set(name, default)
        return kind, lo, hi, []
    return "string", 0, 0, []


def settable(r, name, default):
    e = err(r, name, default)
    if e and "immutable" in e:
        return "kImmutable"
    if e and "protected" in e:
        return "kProtected"
    return "kMutable"


# Values that belong to the probed instance, not to Redis: redge fills them at start.
INSTANCE_DEFAULTS = {"port": "6379", "dir": "", "pidfile": "", "logfile": ""}


def cstr(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def emit(version, rows):
    print("// Generated by tools/dev/gen_config_params.py from a redis-server " + version + ":")
    print("// every CONFIG parameter with its kind, bounds, enum values, default and whether")
    print("// CONFIG SET may change it. Do not edit by hand; regenerate.")
    print("// clang-format off")
    print('#include "edge/resp/config_table.h"\n')
    print("namespace redge::resp {\n")
    print("const std::vector<ConfigParam>& RedisConfigParams() {")
    print("  static const std::vector<ConfigParam> params = {")
    for name, kind, lo, hi, enums, default, mutable, alias in rows:
        kind_enum = {"bool": "kBool", "int": "kInt", "memory": "kMemory", "enum": "kEnum",
                     "string": "kString", "special": "kSpecial"}[kind]
        e = "{" + ", ".join(cstr(v) for v in enums) + "}"
        lo_s = "INT64_MIN" if lo == -(2**63) else f"{lo}LL"
        hi_s = "INT64_MAX" if hi == 2**63 - 1 else f"{hi}LL"
        print(f"      {{{cstr(name)}, ConfigKind::{kind_enum}, {lo_s}, {hi_s}, {e}, "
              f"{cstr(default)}, ConfigMutability::{mutable}, {cstr(alias)}}},")
    print("  };")
    print("  return params;")
    print("}\n")
    print("}  // namespace redge::resp")


if __name__ == "__main__":
    main()
