"""Run by tests/frameworks/test_fw_socketio.py in its own process, as a Celery task or a
management command emits to Socket.IO clients it is not connected to: a write-only
RedisManager on FW_REDIS_URL emits one event to a room and exits.

    python3 socketio_emit.py EVENT ROOM JSON_DATA
"""

import json
import os
import sys

import socketio

event, room, data = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
manager = socketio.RedisManager(os.environ["FW_REDIS_URL"], write_only=True)
manager.emit(event, data, room=room, namespace="/")
print(f"emitted {event} to room {room}", flush=True)
