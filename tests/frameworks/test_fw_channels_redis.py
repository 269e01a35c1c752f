"""channels_redis 4.0 (Debian's python3-channels-redis) unchanged against the server:
RedisChannelLayer (sorted-set queues, BZPOPMIN, Lua for group_send and flush) and
RedisPubSubChannelLayer (SUBSCRIBE/PUBLISH) send, receive (also a receive that waits
longer than the layer's 5 s BZPOPMIN timeout), group_send and flush.

Sender and receiver are separate layer instances (separate connections), as two Django
processes are. Each test runs its coroutine under asyncio.run with an overall deadline.
"""

import asyncio

import pytest
from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer

from fw_support import wait_for

RECEIVE_S = 10
# Longer than RedisChannelLayer.brpop_timeout (5 s), so the receive has to issue its
# blocking pop again: a server that ends or breaks the wait early loses the message.
LONG_WAIT_S = 6.5


def run(coro, timeout=60):
    """Runs coro to completion in a fresh event loop; fails the test after `timeout`."""
    async def bounded():
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(bounded())


async def receive(layer, channel, timeout=RECEIVE_S):
    return await asyncio.wait_for(layer.receive(channel), timeout)


def ended_early(waiting):
    """Fails if the receive ended before anything was sent, with what ended it."""
    if waiting.done():
        waiting.result()  # raises the error that ended the receive, if any
        pytest.fail(f"receive returned {waiting.result()!r} before anything was sent")


async def wait_numsub(target, channel, n=1):
    """Waits until the server counts n subscribers of `channel`, so a PUBLISH cannot
    overtake the SUBSCRIBE that another connection sent."""
    r = target.client()
    await asyncio.to_thread(
        wait_for, lambda: dict(r.pubsub_numsub(channel)).get(channel, 0) >= n, 10,
        f"{n} subscriber(s) of {channel}")


# -- RedisChannelLayer --------------------------------------------------------------
def core_layer(target, **kwargs):
    return RedisChannelLayer(hosts=[target.url], **kwargs)


def test_core_send_receive(target):
    async def scenario():
        sender, receiver = core_layer(target), core_layer(target)
        try:
            await sender.send("fw-chat", {"type": "chat.message", "text": "hello"})
            await sender.send("fw-chat", {"type": "chat.message", "text": "again"})
            assert await receive(receiver, "fw-chat") == {"type": "chat.message",
                                                          "text": "hello"}
            assert (await receive(receiver, "fw-chat"))["text"] == "again"
            # A process-local ("!") channel, as consumers get from new_channel().
            local = await receiver.new_channel()
            await sender.send(local, {"type": "direct", "n": 7})
            assert await receive(receiver, local) == {"type": "direct", "n": 7}
        finally:
            await sender.close_pools()
            await receiver.close_pools()
    run(scenario())


def test_core_receive_waits_longer_than_5s(target):
    async def scenario():
        sender, receiver = core_layer(target), core_layer(target)
        try:
            waiting = asyncio.ensure_future(receiver.receive("fw-slow"))
            # The scenario itself: the receiver waits with nothing to read for longer
            # than one blocking pop; the message comes only after that.
            await asyncio.sleep(LONG_WAIT_S)
            ended_early(waiting)
            await sender.send("fw-slow", {"type": "late", "after": LONG_WAIT_S})
            assert await asyncio.wait_for(waiting, RECEIVE_S) == {"type": "late",
                                                                  "after": LONG_WAIT_S}
        finally:
            await sender.close_pools()
            await receiver.close_pools()
    run(scenario())


def test_core_group_send(target):
    async def scenario():
        sender, receiver = core_layer(target), core_layer(target)
        try:
            a, b, c = [await receiver.new_channel() for _ in range(3)]
            for ch in (a, b, c):
                await receiver.group_add("fw-room", ch)
            await receiver.group_discard("fw-room", c)
            await sender.group_send("fw-room", {"type": "room.message", "text": "hi"})
            assert await receive(receiver, a) == {"type": "room.message", "text": "hi"}
            assert await receive(receiver, b) == {"type": "room.message", "text": "hi"}
            # c left the group: the next message it gets is the one sent to it directly.
            await sender.send(c, {"type": "direct"})
            assert await receive(receiver, c) == {"type": "direct"}
        finally:
            await sender.close_pools()
            await receiver.close_pools()
    run(scenario())


def test_core_flush(target):
    async def scenario():
        layer = core_layer(target)
        try:
            await layer.send("fw-flushed", {"type": "before"})
            ch = await layer.new_channel()
            await layer.group_add("fw-group", ch)
            r = target.client()
            assert r.keys("asgi:*"), "the layer stored nothing under its prefix"
            await layer.flush()
            assert r.keys("asgi:*") == []
            # Flushed, and still usable: only the message sent after the flush arrives.
            await layer.send("fw-flushed", {"type": "after"})
            assert await receive(layer, "fw-flushed") == {"type": "after"}
        finally:
            await layer.close_pools()
    run(scenario())


# -- RedisPubSubChannelLayer --------------------------------------------------------
def pubsub_layer(target):
    return RedisPubSubChannelLayer(hosts=[target.url])


def test_pubsub_send_receive(target):
    async def scenario():
        sender, receiver = pubsub_layer(target), pubsub_layer(target)
        try:
            ch = await receiver.new_channel()
            await wait_numsub(target, ch)
            await sender.send(ch, {"type": "chat.message", "text": "hello"})
            assert await receive(receiver, ch) == {"type": "chat.message", "text": "hello"}
        finally:
            await sender.flush()
            await receiver.flush()
    run(scenario())


def test_pubsub_receive_waits_longer_than_5s(target):
    async def scenario():
        sender, receiver = pubsub_layer(target), pubsub_layer(target)
        try:
            ch = await receiver.new_channel()
            await wait_numsub(target, ch)
            waiting = asyncio.ensure_future(receiver.receive(ch))
            await asyncio.sleep(LONG_WAIT_S)  # the scenario: a long idle subscription
            ended_early(waiting)
            await sender.send(ch, {"type": "late"})
            assert await asyncio.wait_for(waiting, RECEIVE_S) == {"type": "late"}
        finally:
            await sender.flush()
            await receiver.flush()
    run(scenario())


def test_pubsub_group_send(target):
    async def scenario():
        sender, receiver = pubsub_layer(target), pubsub_layer(target)
        try:
            a, b = await receiver.new_channel(), await receiver.new_channel()
            await receiver.group_add("fw-room", a)
            await receiver.group_add("fw-room", b)
            group_channel = receiver._get_layer()._get_group_channel_name("fw-room")
            await wait_numsub(target, group_channel)
            await sender.group_send("fw-room", {"type": "room.message", "text": "hi"})
            assert await receive(receiver, a) == {"type": "room.message", "text": "hi"}
            assert await receive(receiver, b) == {"type": "room.message", "text": "hi"}
        finally:
            await sender.flush()
            await receiver.flush()
    run(scenario())


def test_pubsub_flush(target):
    async def scenario():
        layer = pubsub_layer(target)
        sender = pubsub_layer(target)
        try:
            ch = await layer.new_channel()
            await wait_numsub(target, ch)
            await layer.flush()
            # The flush closed the layer's connections: the server drops the subscriber.
            r = target.client()
            await asyncio.to_thread(
                wait_for, lambda: dict(r.pubsub_numsub(ch)).get(ch, 0) == 0, 10,
                "the flushed layer's subscription to go away")
            # The layer works again after a flush, like a new one.
            ch2 = await layer.new_channel()
            await wait_numsub(target, ch2)
            await sender.send(ch2, {"type": "after-flush"})
            assert await receive(layer, ch2) == {"type": "after-flush"}
        finally:
            await layer.flush()
            await sender.flush()
    run(scenario())


def test_core_many_messages_in_order(target):
    """A burst on one channel arrives complete and in order (the layer's capacity is 100
    per channel by default, so the burst is sent with a larger capacity)."""
    n = 200

    async def scenario():
        sender = core_layer(target, capacity=n)
        receiver = core_layer(target, capacity=n)
        try:
            for i in range(n):
                await sender.send("fw-burst", {"type": "n", "i": i})
            got = [(await receive(receiver, "fw-burst"))["i"] for _ in range(n)]
            assert got == list(range(n))
        finally:
            await sender.close_pools()
            await receiver.close_pools()
    run(scenario())
