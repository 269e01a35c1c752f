"""Django Channels 4.0 (Debian's python3-django-channels) over the Redis channel layers:
a chat consumer joins a group on connect and relays what it receives to the group; two
WebsocketCommunicators (channels.testing, the ASGI test client) connect, and what one
sends both receive, through the server. Run with each layer of channels_redis.
"""

import asyncio

import django
import pytest
from django.conf import settings

if not settings.configured:
    settings.configure(INSTALLED_APPS=["channels"], CHANNEL_LAYERS={})
    django.setup()

from channels.generic.websocket import AsyncJsonWebsocketConsumer  # noqa: E402
from channels.layers import get_channel_layer  # noqa: E402
from channels.testing import WebsocketCommunicator  # noqa: E402
from django.test import override_settings  # noqa: E402

TIMEOUT_S = 10
LAYERS = {
    "core": "channels_redis.core.RedisChannelLayer",
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
}


class ChatConsumer(AsyncJsonWebsocketConsumer):
    """What a Channels chat app does: one group per room, messages fanned out to it."""

    room = "fw-room"

    async def connect(self):
        await self.channel_layer.group_add(self.room, self.channel_name)
        await self.accept()
        await self.send_json({"joined": self.channel_name})

    async def disconnect(self, code):
        await self.channel_layer.group_discard(self.room, self.channel_name)

    async def receive_json(self, content, **kwargs):
        await self.channel_layer.group_send(
            self.room, {"type": "chat.message", "text": content["text"],
                        "sender": self.channel_name})

    async def chat_message(self, event):
        await self.send_json({"text": event["text"], "sender": event["sender"]})


async def connect(app):
    comm = WebsocketCommunicator(app, "/ws/chat/")
    connected, _ = await comm.connect(timeout=TIMEOUT_S)
    assert connected
    joined = await comm.receive_json_from(timeout=TIMEOUT_S)
    return comm, joined["joined"]


async def wait_group_subscribed(target, layer):
    """The pub/sub layer subscribes to the group channel without waiting for the server's
    confirmation; wait until the server has it, so a group_send cannot overtake it."""
    if not hasattr(layer, "_get_layer"):
        return
    group_channel = layer._get_layer()._get_group_channel_name(ChatConsumer.room)
    r = target.client()
    deadline = asyncio.get_running_loop().time() + TIMEOUT_S
    while dict(r.pubsub_numsub(group_channel)).get(group_channel, 0) < 1:
        assert asyncio.get_running_loop().time() < deadline, "group subscription missing"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("layer_kind", sorted(LAYERS))
def test_consumer_round_trip_two_communicators(target, layer_kind):
    config = {"default": {"BACKEND": LAYERS[layer_kind], "CONFIG": {"hosts": [target.url]}}}

    async def scenario():
        layer = get_channel_layer()
        app = ChatConsumer.as_asgi()
        alice, alice_channel = await connect(app)
        bob, bob_channel = await connect(app)
        try:
            await wait_group_subscribed(target, layer)
            await alice.send_json_to({"text": "hello from alice"})
            want = {"text": "hello from alice", "sender": alice_channel}
            assert await alice.receive_json_from(timeout=TIMEOUT_S) == want
            assert await bob.receive_json_from(timeout=TIMEOUT_S) == want

            await bob.send_json_to({"text": "hi alice"})
            want = {"text": "hi alice", "sender": bob_channel}
            assert await alice.receive_json_from(timeout=TIMEOUT_S) == want
            assert await bob.receive_json_from(timeout=TIMEOUT_S) == want
        finally:
            await alice.disconnect(timeout=TIMEOUT_S)
            await bob.disconnect(timeout=TIMEOUT_S)
            if layer_kind == "core":
                await layer.close_pools()
            else:
                await layer.flush()

    with override_settings(CHANNEL_LAYERS=config):
        asyncio.run(asyncio.wait_for(scenario(), 60))
