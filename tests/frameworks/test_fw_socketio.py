"""python-socketio 5.7 (Debian's python3-socketio) with its Redis client manager: an
emit from a second process reaches a client connected to a server in this process.

The listening side is a real AsyncServer whose client_manager is an AsyncRedisManager on
the server under test (it SUBSCRIBEs to the `socketio` channel); a client connects over
Engine.IO 4's websocket transport through the ASGI app (driven by channels.testing's
WebsocketCommunicator, which speaks ASGI as a web server does) and is put in a room. The
emitter is a subprocess with a write-only RedisManager (it only PUBLISHes), like a
Celery task that notifies browsers.
"""

import asyncio
import json

import socketio
from channels.testing import WebsocketCommunicator

import fw_support
from fw_support import PYTHON, wait_for

TIMEOUT_S = 10
ROOM = "fw-room"


async def next_text(comm):
    """The next Engine.IO text frame the server sends, answering pings on the way."""
    while True:
        frame = await comm.receive_output(timeout=TIMEOUT_S)
        assert frame["type"] == "websocket.send", frame
        text = frame.get("text")
        if text == "2":  # Engine.IO ping: answer pong
            await comm.send_input({"type": "websocket.receive", "text": "3"})
            continue
        return text


def test_emit_from_another_process_reaches_client(target, procs, tmp_path):
    fw_support.copy_app("socketio_emit", tmp_path)
    manager = socketio.AsyncRedisManager(target.url)
    sio = socketio.AsyncServer(async_mode="asgi", client_manager=manager)
    app = socketio.ASGIApp(sio)

    @sio.event
    async def connect(sid, environ, auth):
        sio.enter_room(sid, ROOM)

    async def scenario():
        comm = WebsocketCommunicator(
            app, "/socket.io/?EIO=4&transport=websocket",
            headers=[(b"upgrade", b"websocket"), (b"connection", b"Upgrade")])
        connected, _ = await comm.connect(timeout=TIMEOUT_S)
        assert connected
        try:
            opened = await next_text(comm)
            assert opened.startswith("0{"), opened  # Engine.IO OPEN with the session
            await comm.send_input({"type": "websocket.receive", "text": "40"})
            joined = await next_text(comm)
            assert joined.startswith("40{") and '"sid"' in joined, joined

            # The manager subscribes when the first client connects; publishing before
            # the server has that subscription would be lost (pub/sub keeps nothing).
            r = target.client()
            await asyncio.to_thread(
                wait_for, lambda: dict(r.pubsub_numsub("socketio")).get("socketio", 0) >= 1,
                TIMEOUT_S, "the AsyncRedisManager's subscription to 'socketio'")

            payload = {"headline": "from another process", "n": 42}
            emitter = procs.start(
                "socketio-emitter",
                [PYTHON, tmp_path / "socketio_emit.py", "news", ROOM, json.dumps(payload)],
                env=fw_support.python_env(tmp_path, target.url))
            assert await asyncio.to_thread(emitter.wait_exit, 30) == 0, emitter.log_text()

            event = await next_text(comm)
            assert event.startswith("42"), event
            assert json.loads(event[2:]) == ["news", payload]
        finally:
            await comm.disconnect(timeout=TIMEOUT_S)
            if manager.thread is not None:
                manager.thread.cancel()
            if getattr(manager, "redis", None) is not None:
                await manager.redis.close(close_connection_pool=True)

    asyncio.run(asyncio.wait_for(scenario(), 60))
