"""Stand-in for ComfyUI's ``server`` module: ``PromptServer.instance`` without aiohttp.

It has the attributes ``execution`` reads (``client_id``, ``last_node_id``, ``last_prompt_id``,
``sockets_metadata``, ``send_sync``) and the ones extensions commonly use at import time
(``routes``, ``add_on_prompt_handler``, ``send_sync``). Sent messages are recorded on a private
list the harness reads; nothing goes over a socket.
"""
import logging
import time
import traceback


class _RouteTable:
    """Records route registrations (``@PromptServer.instance.routes.get(path)``) without aiohttp."""

    def __init__(self):
        self._routes = []

    def _register(self, method, path, **kwargs):
        def decorator(handler):
            self._routes.append((method, path, handler))
            return handler
        return decorator

    def get(self, path, **kwargs):
        return self._register("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self._register("POST", path, **kwargs)

    def put(self, path, **kwargs):
        return self._register("PUT", path, **kwargs)

    def delete(self, path, **kwargs):
        return self._register("DELETE", path, **kwargs)

    def patch(self, path, **kwargs):
        return self._register("PATCH", path, **kwargs)

    def static(self, prefix, path, **kwargs):
        self._routes.append(("STATIC", prefix, path))

    def __iter__(self):
        return iter(self._routes)

    def __len__(self):
        return len(self._routes)


class PromptServer:
    instance = None

    def __init__(self, loop=None):
        PromptServer.instance = self
        self.loop = loop
        self.client_id = None
        self.last_node_id = None
        self.last_prompt_id = None
        self.sockets = {}
        self.sockets_metadata = {}
        self.routes = _RouteTable()
        self.on_prompt_handlers = []
        self.number = 0
        # (event, data, sid, perf_counter seconds) for every send_sync, in order.
        self._sent = []

    def send_sync(self, event, data, sid=None):
        self._sent.append((event, data, sid, time.perf_counter()))

    async def send(self, event, data, sid=None):
        self.send_sync(event, data, sid)

    async def send_json(self, event, data, sid=None):
        self.send_sync(event, data, sid)

    def queue_updated(self):
        pass

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
