"""Settings and logs: --version/--help, check-config, precedence flag > env > file >
default seen through job behaviour, refusals at startup, JSON log lines (valid JSON, job
ids on job lines, no payloads or secrets at info and above, RESP connects at debug), and
--log-file with SIGHUP reopening (logrotate's rename-then-HUP)."""

import json
import os
import pathlib
import re
import signal
import subprocess
import threading

import pytest

import integration_support as sup
from integration_support import enqueue, get_job, lease, wait_state, wait_until

REPO = pathlib.Path(__file__).resolve().parent.parent.parent
SETTINGS = (
    "http", "resp", "data-dir", "fsync", "requirepass", "http-token", "lease-timeout",
    "max-attempts", "result-ttl", "sse-heartbeat", "sse-max-streams", "max-body",
    "queue-key-template", "response-key-template", "progress-channel-template", "config",
    "log-format", "log-level", "log-file",
)
RUN_TIMEOUT_S = 30


def run_redge(*args, env=None, cwd=None):
    """Runs the binary to completion (commands and startups that fail before serving)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("REDGE_")}
    full_env.update(env or {})
    return subprocess.run([str(sup.redge_binary()), *map(str, args)], capture_output=True,
                          text=True, timeout=RUN_TIMEOUT_S, env=full_env, cwd=cwd,
                          stdin=subprocess.DEVNULL)


def read_json_lines(path):
    """Every line of a log file parsed as JSON (fails naming the first line that is not)."""
    out = []
    for n, line in enumerate(pathlib.Path(path).read_text().splitlines(), 1):
        try:
            value = json.loads(line)
        except ValueError:
            pytest.fail(f"{path}:{n} is not JSON: {line!r}", pytrace=False)
        assert isinstance(value, dict), (n, line)
        assert {"ts", "level", "msg"} <= value.keys(), (n, line)
        out.append(value)
    return out


def file_text(path):
    try:
        return pathlib.Path(path).read_text()
    except FileNotFoundError:
        return ""


# -- commands -------------------------------------------------------------------------

def test_version():
    version = re.search(r"project\(redge VERSION (\S+)",
                        (REPO / "CMakeLists.txt").read_text()).group(1)
    res = run_redge("--version")
    assert res.returncode == 0, res
    assert res.stdout == f"redge {version}\n", res.stdout


def test_help_lists_every_setting():
    res = run_redge("--help")
    assert res.returncode == 0, res
    for name in SETTINGS:
        assert re.search(rf"^  --{re.escape(name)}\b", res.stdout, re.M), (name, res.stdout)
    assert "REDGE_<NAME>" in res.stdout and "flag > environment > file > default" in res.stdout


def test_check_config_good(tmp_path):
    good = tmp_path / "good.conf"
    good.write_text("# comment\n\nfsync always\nmax-attempts = 4\nlog-file /var/log/redge.log\n"
                    'http-token "s3cret"\n')
    res = run_redge("check-config", good)
    assert res.returncode == 0, res
    assert res.stdout == f"{good}: ok\n", res.stdout
    shipped = REPO / "systemd" / "redge.conf"
    res = run_redge("check-config", shipped)
    assert res.returncode == 0, res
    assert res.stdout.strip().endswith("ok"), res.stdout


def test_check_config_bad(tmp_path):
    unknown = tmp_path / "unknown.conf"
    unknown.write_text("fsync always\n# fine\nfsink always\n")
    res = run_redge("check-config", unknown)
    assert res.returncode == 1, res
    assert f"{unknown}:3" in res.stderr and "'fsink'" in res.stderr, res.stderr
    assert "ok" not in res.stdout

    bad_value = tmp_path / "bad.conf"
    bad_value.write_text("resp 127.0.0.1:6379\nfsync sometimes\n")
    res = run_redge("check-config", bad_value)
    assert res.returncode == 1, res
    assert f"{bad_value}:2" in res.stderr and "fsync" in res.stderr, res.stderr
    assert "sometimes" in res.stderr, res.stderr

    res = run_redge("check-config", tmp_path / "missing.conf")
    assert res.returncode == 1 and "missing.conf" in res.stderr, res

    # Settings valid alone but not together are refused as redge's start refuses them
    # (found by tests/fuzz/fuzz_config: check-config said ok to a file redge refused).
    for text, words in [("user alice on >pw ~* +@all\naclfile /etc/redge/users.acl\n",
                         "defined both"),
                        ("tls-cert /etc/redge/cert.pem\n", "go together"),
                        ("jwt-jwks /etc/redge/jwks.json\n", "--jwt-audience")]:
        combo = tmp_path / "combo.conf"
        combo.write_text(text)
        res = run_redge("check-config", combo)
        assert res.returncode == 1 and words in res.stderr, (text, res)
        res = run_redge("--config", combo, "--data-dir", tmp_path / "d")
        assert res.returncode != 0 and words in res.stderr, (text, res)


# -- precedence -----------------------------------------------------------------------

def _effective(server, queue):
    """(max_attempts of a new job, lease_timeout_ms of its lease) on a running server."""
    job_id = enqueue(server.http, queue, {"n": 1})["id"]
    max_attempts = get_job(server.http, job_id)["max_attempts"]
    leased = lease(server.http, queue, wait=5, worker="prec")
    assert leased["id"] == job_id, leased
    return max_attempts, leased["lease_timeout_ms"]


def test_precedence_flag_env_file_default(redge_factory, tmp_path, monkeypatch):
    for name in [k for k in os.environ if k.startswith("REDGE_") and k != "REDGE_BUILD_DIR"]:
        monkeypatch.delenv(name)
    conf = tmp_path / "redge.conf"
    conf.write_text("max-attempts 5\nlease-timeout 9\n")

    assert _effective(redge_factory(), "q") == (3, 60000)  # defaults
    assert _effective(redge_factory("--config", conf), "q") == (5, 9000)  # file > default
    monkeypatch.setenv("REDGE_MAX_ATTEMPTS", "4")
    assert _effective(redge_factory("--config", conf), "q") == (4, 9000)  # env > file
    assert _effective(redge_factory("--config", conf, "--max-attempts", "2"),
                      "q") == (2, 9000)  # flag > env > file
    # The config file named by the environment works the same way.
    monkeypatch.setenv("REDGE_CONFIG", str(conf))
    monkeypatch.setenv("REDGE_LEASE_TIMEOUT", "7")
    assert _effective(redge_factory(), "q") == (4, 7000)
    assert _effective(redge_factory("--lease-timeout=3.5"), "q") == (4, 3500)


def test_startup_refusals(tmp_path):
    data = tmp_path / "data"
    res = run_redge("--data-dir", data, "--bogus-flag", "1")
    assert res.returncode == 2, res
    assert "--bogus-flag" in res.stderr, res.stderr

    conf = tmp_path / "typo.conf"
    conf.write_text("fsync no\nmax-atempts 3\n")
    res = run_redge("--data-dir", data, "--config", conf)
    assert res.returncode == 2, res
    assert f"{conf}:2" in res.stderr and "max-atempts" in res.stderr, res.stderr

    res = run_redge("--data-dir", data, "--fsync", "sometimes")
    assert res.returncode == 2 and "fsync" in res.stderr, res

    res = run_redge("--data-dir", data, "--resp", "off", "--http", "0.0.0.0:0")
    assert res.returncode == 2, res
    assert "--http-token" in res.stderr and "--insecure" in res.stderr, res.stderr
    res = run_redge("--data-dir", data, "--http", "off", "--resp", "0.0.0.0:0")
    assert res.returncode == 2, res
    assert "--requirepass" in res.stderr, res.stderr
    # Refused before anything is opened.
    assert not data.exists()

    res = run_redge("--data-dir", data, "--log-file", tmp_path / "no-such-dir" / "redge.log")
    assert res.returncode == 1, res
    assert "no-such-dir" in res.stderr, res.stderr


def test_non_loopback_http_allowed_with_insecure(redge_factory):
    # With TLS and a token it is allowed too: tests/integration/test_tls.py.
    server = redge_factory("--http", "0.0.0.0:0", "--insecure")
    assert server.http.get("/healthz").status == 200


# -- JSON logs ------------------------------------------------------------------------

PAYLOAD_MARKER = "PAYLOAD-SECRET-123"
RESULT_MARKER = "RESULT-SECRET-456"
TOKEN = "TOKEN-SECRET-789"
PASSWORD = "PASSWORD-SECRET-012"


def test_json_logs_job_lines_and_no_secrets(redge_factory):
    server = redge_factory("--log-format", "json", "--log-level", "debug",
                           "--http-token", TOKEN, "--requirepass", PASSWORD)
    http = server.http_with_token(TOKEN)
    created = enqueue(http, "logs", {"prompt": PAYLOAD_MARKER},
                      headers={"X-Correlation-ID": "corr-logs-1"})
    job_id = created["id"]
    worker = server.worker("log-worker", password=PASSWORD)
    worker_id = str(worker.client_id())
    worker_addr = worker.client_info()["addr"]
    popped = worker.brpop("redge:queue:logs", timeout=10)
    assert popped is not None
    assert json.loads(popped[1])["payload"] == {"prompt": PAYLOAD_MARKER}
    assert worker.set(f"redge:response:{job_id}", json.dumps({"content": RESULT_MARKER}), ex=60)
    job = wait_state(http, job_id, "completed")
    assert job["result"] == {"content": RESULT_MARKER}, job
    worker.close()  # gives the connection back to the pool...
    worker.connection_pool.disconnect()  # ...which closes it

    def disconnected():
        return any(line.get("msg") == "resp client disconnected" and line.get("id") == worker_id
                   for line in read_json_lines(server.log_path))

    wait_until(disconnected, what="the worker's 'resp client disconnected' line")
    lines = read_json_lines(server.log_path)

    for msg in ("job enqueued", "job leased", "job finished"):
        mine = [line for line in lines if line["msg"] == msg and line.get("job_id") == job_id]
        assert len(mine) == 1, (msg, lines)
        assert mine[0]["correlation_id"] == "corr-logs-1", mine[0]
        assert mine[0]["level"] == "info", mine[0]
    finished = next(line for line in lines if line["msg"] == "job finished")
    assert finished["state"] == "completed", finished
    for line in lines:
        if line["msg"].startswith("job "):
            assert "job_id" in line and "correlation_id" in line, line

    for msg in ("resp client connected", "resp client disconnected"):
        mine = [line for line in lines if line["msg"] == msg and line.get("id") == worker_id]
        assert len(mine) == 1, (msg, [l for l in lines if l["msg"].startswith("resp")])
        assert mine[0]["level"] == "debug" and mine[0]["peer"] == worker_addr, mine[0]
    assert all(re.fullmatch(r"127\.0\.0\.1:\d+", line["peer"])
               for line in lines if line["msg"].startswith("resp client")), lines

    for line in lines:
        if line["level"] in ("info", "warning", "error", "critical"):
            text = json.dumps(line)
            for secret in (PAYLOAD_MARKER, RESULT_MARKER, TOKEN, PASSWORD):
                assert secret not in text, (secret, line)


def test_text_logs_are_lines_not_json(redge_factory):
    server = redge_factory("--log-format", "text", "--log-level", "info")
    job_id = enqueue(server.http, "text", {"x": 1})["id"]
    line = wait_until(lambda: next((l for l in file_text(server.log_path).splitlines()
                                    if "job enqueued" in l), None), what="job enqueued line")
    assert f"job_id={job_id}" in line and not line.startswith("{"), line


# -- log file and SIGHUP --------------------------------------------------------------

def _wait_for_line(path, predicate, what):
    def find():
        for text in file_text(path).splitlines():
            try:
                line = json.loads(text)
            except ValueError:
                continue  # a line still being written
            if predicate(line):
                return line
        return None

    return wait_until(find, what=f"{what} in {path}")


def test_log_file_reopened_on_sighup(redge_factory, tmp_path):
    log = tmp_path / "logs" / "redge.log"
    log.parent.mkdir()
    server = redge_factory("--log-file", log, "--log-level", "info")
    # No --log-format: a log file gets JSON lines, and nothing goes to stderr.
    _wait_for_line(log, lambda l: l["msg"] == "RESP listening", "the startup lines")
    first = enqueue(server.http, "rot", {"n": 1})["id"]
    _wait_for_line(log, lambda l: l.get("job_id") == first, "the first job's line")

    rotated = log.with_name("redge.log.1")
    os.rename(log, rotated)
    server.proc.send_signal(signal.SIGHUP)
    _wait_for_line(log, lambda l: l["msg"] == "log reopened", "'log reopened'")
    second = enqueue(server.http, "rot", {"n": 2})["id"]
    _wait_for_line(log, lambda l: l.get("job_id") == second and l["msg"] == "job enqueued",
                   "the second job's line")
    assert server.running()

    new_lines = read_json_lines(log)
    old_lines = read_json_lines(rotated)
    assert new_lines[0]["msg"] == "log reopened" and new_lines[0]["file"] == str(log), new_lines
    assert not any(l.get("job_id") == first for l in new_lines), new_lines
    assert any(l.get("job_id") == first for l in old_lines), old_lines
    assert not any(l.get("job_id") == second for l in old_lines), old_lines
    assert any(l["msg"] == "HTTP listening" for l in old_lines), old_lines
    assert file_text(server.log_path) == "", "stderr should be empty with --log-file"

    # A path that cannot be opened (here a directory took its place): redge keeps
    # writing to the file it has and says so there.
    kept = log.with_name("redge.log.2")
    os.rename(log, kept)
    log.mkdir()
    server.proc.send_signal(signal.SIGHUP)
    failed = _wait_for_line(kept, lambda l: l["msg"] == "log reopen failed", "'log reopen failed'")
    assert failed["level"] == "error" and failed["file"] == str(log), failed
    third = enqueue(server.http, "rot", {"n": 3})["id"]
    _wait_for_line(kept, lambda l: l.get("job_id") == third, "the third job's line")
    assert server.running()


def test_sighup_while_logging_loses_no_lines(redge_factory, tmp_path):
    log = tmp_path / "redge.log"
    server = redge_factory("--log-file", log, "--log-level", "info")
    total = 300
    ids = []
    errors = []

    def producer():
        try:
            conn = sup.KeepAlive(server.host, server.http_port)
            try:
                for i in range(total):
                    reply = conn.post_json("/v1/queues/busy/jobs", {"i": i})
                    assert reply.status == 202, reply
                    ids.append(reply.json()["id"])
            finally:
                conn.close()
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    thread = threading.Thread(target=producer)
    thread.start()
    rotations = 0
    try:
        while thread.is_alive() or rotations < 3:
            rotations += 1
            os.rename(log, log.with_name(f"redge.log.{rotations}"))
            server.proc.send_signal(signal.SIGHUP)
            _wait_for_line(log, lambda l: l["msg"] == "log reopened", f"reopen {rotations}")
    finally:
        thread.join(timeout=60)
    assert not errors, errors
    assert len(ids) == total

    seen = []
    for path in [log, *(log.with_name(f"redge.log.{n}") for n in range(1, rotations + 1))]:
        seen += [l["job_id"] for l in read_json_lines(path) if l["msg"] == "job enqueued"]
    assert sorted(seen) == sorted(ids), (len(seen), len(ids))
