"""Stand-in for ComfyUI's ``server`` module of 2026 before the asset manager (variant D-11; read, not
run: ``yzkee/ComfyUI`` ``server.py`` at 783545f6): ``PromptServer`` without aiohttp.

As in ComfyUI: ``PromptServer(loop)`` (no asset manager: assets are ``--enable-assets`` and a
seeder here) sets ``PromptServer.instance`` (the class has no ``instance`` before that) and
builds its own ``prompt_queue = execution.PromptQueue(self)`` (``main.py``'s worker runs that
queue); ``sockets_metadata`` holds each client's feature flags; ``send_sync`` hands ``(event, data,
sid)`` to ``loop.call_soon_threadsafe(self.messages.put_nowait, ...)`` for ``publish_loop``;
``send`` / ``send_json`` / ``send_bytes`` / ``send_image`` / ``send_image_with_metadata``
(coroutines) write straight to the websockets in ``sockets`` (to every one when ``sid`` is None);
``queue_updated`` sends ``status`` with the queue's remaining count. The plugin hands the
constructor a recording stand-in for the loop (nothing runs, no port is bound) and connects its
client as a socket. Routes are recorded by a table of the same shape as aiohttp's ``RouteTableDef``.
``send_progress_text(text, node_id, sid=None)`` (a node's text shown on the node; ComfyUI's
loop nodes send their "Iteration n / total" with it) hands ``send_sync`` a ``BinaryEventTypes.TEXT``
(3) message: the UTF-8 node id's length as 4 big-endian bytes, the node id, the text (UTF-8 when a
str); read from ``yzkee/ComfyUI`` ``server.py`` and ``protocol.py`` at 783545f6. Not reproduced:
the HTTP app, its routes and the user manager.
"""
import asyncio
import logging
import struct
import traceback
from io import BytesIO

import execution
from comfy.cli_args import args


class BinaryEventTypes:  # ComfyUI's protocol.BinaryEventTypes, which server.py imports
    PREVIEW_IMAGE = 1
    UNENCODED_PREVIEW_IMAGE = 2
    TEXT = 3
    PREVIEW_IMAGE_WITH_METADATA = 4


async def send_socket_catch_exception(function, message):
    try:
        await function(message)
    except ConnectionError as err:
        logging.warning("send error: {}".format(err))


class _RouteTable:
    """Records route registrations (``@PromptServer.instance.routes.get(path)``) without aiohttp."""

    def __init__(self):
        self._routes = []

    def route(self, method, path, **kwargs):
        def decorator(handler):
            self._routes.append((method, path, handler))
            return handler
        return decorator

    def head(self, path, **kwargs):
        return self.route("HEAD", path, **kwargs)

    def get(self, path, **kwargs):
        return self.route("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.route("POST", path, **kwargs)

    def put(self, path, **kwargs):
        return self.route("PUT", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.route("DELETE", path, **kwargs)

    def patch(self, path, **kwargs):
        return self.route("PATCH", path, **kwargs)

    def view(self, path, **kwargs):
        return self.route("*", path, **kwargs)

    def static(self, prefix, path, **kwargs):
        self._routes.append(("STATIC", prefix, path))

    def __iter__(self):
        return iter(self._routes)

    def __len__(self):
        return len(self._routes)


class PromptServer:
    def __init__(self, loop):
        PromptServer.instance = self

        self.supports = ["custom_nodes_from_web"]
        self.prompt_queue = execution.PromptQueue(self)
        self.loop = loop
        self.messages = asyncio.Queue()
        self.number = 0
        self.sockets = dict()
        self.sockets_metadata = dict()
        self.routes = _RouteTable()
        self.last_node_id = None
        self.client_id = None

        self.on_prompt_handlers = []

    def get_queue_info(self):
        prompt_info = {}
        exec_info = {}
        exec_info["queue_remaining"] = self.prompt_queue.get_tasks_remaining()
        prompt_info["exec_info"] = exec_info
        return prompt_info

    async def send(self, event, data, sid=None):
        if event == BinaryEventTypes.UNENCODED_PREVIEW_IMAGE:
            await self.send_image(data, sid=sid)
        elif event == BinaryEventTypes.PREVIEW_IMAGE_WITH_METADATA:
            # data is (preview_image, metadata)
            preview_image, metadata = data
            await self.send_image_with_metadata(preview_image, metadata, sid=sid)
        elif isinstance(data, (bytes, bytearray)):
            await self.send_bytes(event, data, sid)
        else:
            await self.send_json(event, data, sid)

    def encode_bytes(self, event, data):
        if not isinstance(event, int):
            raise RuntimeError(f"Binary event types must be integers, got {event}")

        packed = struct.pack(">I", event)
        message = bytearray(packed)
        message.extend(data)
        return message

    async def send_image(self, image_data, sid=None):
        from PIL import Image, ImageOps  # ComfyUI imports Pillow at the top; the mock only when a preview is sent

        image_type, image, max_size = image_data[0], image_data[1], image_data[2]
        if max_size is not None:
            image = ImageOps.contain(image, (max_size, max_size), Image.Resampling.BILINEAR)
        type_num = 2 if image_type == "PNG" else 1

        out = BytesIO()
        out.write(struct.pack(">I", type_num))
        image.save(out, format=image_type, quality=95, compress_level=1)
        await self.send_bytes(BinaryEventTypes.PREVIEW_IMAGE, out.getvalue(), sid=sid)

    async def send_image_with_metadata(self, image_data, metadata=None, sid=None):
        import json

        from PIL import Image, ImageOps

        image_type, image, max_size = image_data[0], image_data[1], image_data[2]
        if max_size is not None:
            image = ImageOps.contain(image, (max_size, max_size), Image.Resampling.BILINEAR)
        if metadata is None:
            metadata = {}
        metadata["image_type"] = "image/png" if image_type == "PNG" else "image/jpeg"
        metadata_json = json.dumps(metadata).encode("utf-8")

        out = BytesIO()
        image.save(out, format=image_type, quality=95, compress_level=1)
        combined = bytearray(struct.pack(">I", len(metadata_json)))
        combined.extend(metadata_json)
        combined.extend(out.getvalue())
        await self.send_bytes(BinaryEventTypes.PREVIEW_IMAGE_WITH_METADATA, combined, sid=sid)

    async def send_bytes(self, event, data, sid=None):
        message = self.encode_bytes(event, data)

        if sid is None:
            sockets = list(self.sockets.values())
            for ws in sockets:
                await send_socket_catch_exception(ws.send_bytes, message)
        elif sid in self.sockets:
            await send_socket_catch_exception(self.sockets[sid].send_bytes, message)

    async def send_json(self, event, data, sid=None):
        message = {"type": event, "data": data}

        if sid is None:
            sockets = list(self.sockets.values())
            for ws in sockets:
                await send_socket_catch_exception(ws.send_json, message)
        elif sid in self.sockets:
            await send_socket_catch_exception(self.sockets[sid].send_json, message)

    def send_sync(self, event, data, sid=None):
        self.loop.call_soon_threadsafe(
            self.messages.put_nowait, (event, data, sid))

    def queue_updated(self):
        self.send_sync("status", {"status": self.get_queue_info()})

    async def publish_loop(self):
        while True:
            msg = await self.messages.get()
            await self.send(*msg)

    def add_on_prompt_handler(self, handler):
        self.on_prompt_handlers.append(handler)

    def trigger_on_prompt(self, json_data):
        for handler in self.on_prompt_handlers:
            try:
                json_data = handler(json_data)
            except Exception:
                logging.warning("[ERROR] An error occurred during the on_prompt_handler processing")
                logging.warning(traceback.format_exc())

        return json_data

    def send_progress_text(self, text, node_id, sid=None):
        # ComfyUI's TEXT message: the node id's length (4 bytes, big-endian), the node id, the text (UTF-8)
        if isinstance(text, str):
            text = text.encode("utf-8")
        node_id_bytes = str(node_id).encode("utf-8")
        message = struct.pack(">I", len(node_id_bytes)) + node_id_bytes + text
        self.send_sync(BinaryEventTypes.TEXT, message, sid)
