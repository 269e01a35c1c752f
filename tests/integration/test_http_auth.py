"""HTTP credentials: a wrong bearer token is answered 401, held back per client address
once it keeps failing (one reply per interval whatever the number of connections), and
logged at a bounded rate without the token; a right token is never held."""

import time

from integration_support import wait_until

TOKEN = "right-token-123"


def timed_get(http, path="/v1/queues"):
    started = time.monotonic()
    reply = http.get(path)
    return reply, time.monotonic() - started


def test_wrong_tokens_are_held_back_right_ones_are_not(redge_factory):
    server = redge_factory("--http-token", TOKEN)
    took = []
    for i in range(8):
        reply, elapsed = timed_get(server.http_with_token(f"guess-{i}"))
        assert reply.status == 401, reply
        assert reply.error_code() == "unauthorized"
        took.append(elapsed)
    assert sum(took[:5]) < 1.0, took
    assert took[5] >= 0.09 and took[6] >= 0.19 and took[7] >= 0.39, took
    # ?access_token= guesses are the same failures.
    started = time.monotonic()
    assert server.http.get("/v1/queues?access_token=guess-q").status == 401
    assert time.monotonic() - started >= 0.7
    reply, elapsed = timed_get(server.http_with_token(TOKEN))
    assert reply.status == 200 and elapsed < 0.5, (reply, elapsed)
    # No credential at all is not a guess: answered at once.
    reply, elapsed = timed_get(server.http)
    assert reply.status == 401 and elapsed < 0.5, (reply, elapsed)


def test_parallel_wrong_tokens_are_released_one_interval_apart(redge_factory):
    server = redge_factory("--http-token", TOKEN)
    for i in range(5):
        assert server.http_with_token(f"warm-{i}").get("/v1/queues").status == 401
    wrong = server.http_with_token("parallel-guess")
    pending = [wrong.start("GET", "/v1/queues", timeout=20) for _ in range(10)]
    started = time.monotonic()
    for p in pending:
        reply, _ = p.reply(timeout=20)
        assert reply.status == 401, reply
    assert time.monotonic() - started >= 2.0


def test_401s_are_logged_rate_limited_without_the_token(redge_factory):
    server = redge_factory("--http-token", TOKEN)
    for i in range(6):
        assert server.http_with_token(f"leaked-guess-{i}").get("/v1/queues").status == 401

    def lines():
        text = server.log_path.read_text(errors="replace")
        return [line for line in text.splitlines() if "authentication failed" in line]

    wait_until(lambda: lines(), timeout=5, what="an 'authentication failed' log line")
    assert len(lines()) == 1, lines()
    assert "http" in lines()[0] and "127.0.0.1" in lines()[0]
    log = server.log_path.read_text(errors="replace")
    assert "leaked-guess" not in log and TOKEN not in log
