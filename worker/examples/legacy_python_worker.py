#!/usr/bin/python3
"""A legacy Redis worker, written the way teams write them for a plain Redis: it knows
nothing about redge. It BRPOPs job envelopes from a queue key, PUBLISHes progress JSON to
the job's progress channel and SETs the result on the response key with a TTL. Pointed at
redge's RESP port, every step becomes a job event (docs/http-api.md, "RESP bridge").

    /usr/bin/python3 worker/examples/legacy_python_worker.py --url redis://127.0.0.1:6379 \
        --queue demo

The demo job "types" its answer: it streams the words of a reply one `chunk` event at a
time, then completes with the whole text. Payload: {"prompt": "..."}.
"""
import argparse
import json
import signal
import sys
import time

import redis


def answer_for(payload):
    prompt = payload.get("prompt", "") if isinstance(payload, dict) else str(payload)
    return f"You said: {prompt}. This answer was streamed by a legacy Redis worker via redge."


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="redis://127.0.0.1:6379")
    ap.add_argument("--queue", default="demo")
    ap.add_argument("--delay", type=float, default=0.15, help="seconds between chunks")
    args = ap.parse_args()

    r = redis.Redis.from_url(args.url, decode_responses=True)
    r.client_setname(f"demo-worker-{args.queue}")
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"demo worker: waiting for jobs on redge:queue:{args.queue}", file=sys.stderr)
    while not stopping:
        try:
            item = r.brpop(f"redge:queue:{args.queue}", timeout=1)
        except redis.ConnectionError:
            print("demo worker: redge went away; stopping", file=sys.stderr)
            return
        if item is None:
            continue
        envelope = json.loads(item[1])
        job_id = envelope["id"]
        words = answer_for(envelope.get("payload")).split(" ")
        for i, word in enumerate(words):
            r.publish(f"redge:progress:{job_id}", json.dumps(
                {"event": "chunk", "text": word + " ", "progress": (i + 1) / len(words)}))
            time.sleep(args.delay)  # pretend to think: this is the demo's pacing, not a wait
        r.set(f"redge:response:{job_id}", json.dumps({"text": " ".join(words)}), ex=3600)
        print(f"demo worker: completed job {job_id}", file=sys.stderr)


if __name__ == "__main__":
    main()
