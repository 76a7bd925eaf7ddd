"""``execution.PromptQueue`` of every era, executed into each era's ``execution`` namespace.

An era's ``execution.py`` pulls this in with ``__comfyruntime_include__("prompt_queue.py")``, so
the class is defined in, and its globals are, that ``execution`` module, as in ComfyUI. Era
differences: A and B register the queue on ``server.prompt_queue``; A's ``task_done`` stores a
deep copy of ``outputs``; C and D take ``process_item`` and offer ``get_current_queue_volatile``
and ``get_history(map_function=...)``; D adds ``interrupt_if_running``. Needs ``copy``,
``heapq``, ``threading``, ``List``, ``Literal``, ``NamedTuple``, ``Optional`` (and ``nodes`` in
D) imported by the including module.
"""
MAXIMUM_HISTORY_SIZE = 10000



class PromptQueue:
    def __init__(self, server):
        self.server = server
        self.mutex = threading.RLock()
        self.not_empty = threading.Condition(self.mutex)
        self.task_counter = 0
        self.queue = []
        self.currently_running = {}
        self.history = {}
        self.flags = {}
        if __comfyruntime_era__ in ("A", "B"):
            server.prompt_queue = self

    def put(self, item):
        with self.mutex:
            heapq.heappush(self.queue, item)
            self.server.queue_updated()
            self.not_empty.notify()

    def get(self, timeout=None):
        with self.not_empty:
            while len(self.queue) == 0:
                self.not_empty.wait(timeout=timeout)
                if timeout is not None and len(self.queue) == 0:
                    return None
            item = heapq.heappop(self.queue)
            i = self.task_counter
            self.currently_running[i] = copy.deepcopy(item)
            self.task_counter += 1
            self.server.queue_updated()
            return (item, i)

    class ExecutionStatus(NamedTuple):
        status_str: Literal["success", "error"]
        completed: bool
        messages: List[str]

    def _record(self, item_id, result, status, process_item):
        with self.mutex:
            prompt = self.currently_running.pop(item_id)
            if len(self.history) > MAXIMUM_HISTORY_SIZE:
                self.history.pop(next(iter(self.history)))
            status_dict = copy.deepcopy(status._asdict()) if status is not None else None
            if process_item is not None:
                prompt = process_item(prompt)
            if __comfyruntime_era__ == "A":
                self.history[prompt[1]] = {"prompt": prompt, "outputs": copy.deepcopy(result), "status": status_dict}
            else:
                self.history[prompt[1]] = {"prompt": prompt, "outputs": {}, "status": status_dict}
                self.history[prompt[1]].update(result)
            self.server.queue_updated()

    if __comfyruntime_era__ == "A":
        def task_done(self, item_id, outputs, status: Optional["PromptQueue.ExecutionStatus"]):
            self._record(item_id, outputs, status, None)
    elif __comfyruntime_era__ == "B":
        def task_done(self, item_id, history_result, status: Optional["PromptQueue.ExecutionStatus"]):
            self._record(item_id, history_result, status, None)
    else:
        def task_done(self, item_id, history_result, status: Optional["PromptQueue.ExecutionStatus"], process_item=None):
            self._record(item_id, history_result, status, process_item)

    def get_current_queue(self):
        with self.mutex:
            return (list(self.currently_running.values()), copy.deepcopy(self.queue))

    if __comfyruntime_era__ not in ("A", "B"):
        def get_current_queue_volatile(self):
            with self.mutex:
                return (list(self.currently_running.values()), copy.copy(self.queue))

    def get_tasks_remaining(self):
        with self.mutex:
            return len(self.queue) + len(self.currently_running)

    def wipe_queue(self):
        with self.mutex:
            self.queue = []
            self.server.queue_updated()

    def delete_queue_item(self, function):
        with self.mutex:
            for x in range(len(self.queue)):
                if function(self.queue[x]):
                    if len(self.queue) == 1:
                        self.wipe_queue()
                    else:
                        self.queue.pop(x)
                        heapq.heapify(self.queue)
                    self.server.queue_updated()
                    return True
        return False

    def _history(self, prompt_id, max_items, offset, map_function):
        with self.mutex:
            if prompt_id is None:
                out = {}
                if offset < 0 and max_items is not None:
                    offset = len(self.history) - max_items
                for i, k in enumerate(self.history):
                    if i >= offset:
                        p = self.history[k]
                        out[k] = map_function(p) if map_function is not None else p
                        if max_items is not None and len(out) >= max_items:
                            break
                return out
            if prompt_id in self.history:
                p = self.history[prompt_id]
                return {prompt_id: copy.deepcopy(p) if map_function is None else map_function(p)}
            return {}

    if __comfyruntime_era__ in ("A", "B"):
        def get_history(self, prompt_id=None, max_items=None, offset=-1):
            return self._history(prompt_id, max_items, offset, None)
    else:
        def get_history(self, prompt_id=None, max_items=None, offset=-1, map_function=None):
            return self._history(prompt_id, max_items, offset, map_function)

    def wipe_history(self):
        with self.mutex:
            self.history = {}

    def delete_history_item(self, id_to_delete):
        with self.mutex:
            self.history.pop(id_to_delete, None)

    def set_flag(self, name, data):
        with self.mutex:
            self.flags[name] = data
            self.not_empty.notify()

    def get_flags(self, reset=True):
        with self.mutex:
            if reset:
                ret = self.flags
                self.flags = {}
                return ret
            return self.flags.copy()

    if __comfyruntime_era__ == "D":
        def interrupt_if_running(self, prompt_id):
            """Interrupts the running prompt with this id, checked and signalled under the queue lock."""
            with self.mutex:
                for item in self.currently_running.values():
                    if item[1] == prompt_id:
                        nodes.interrupt_processing()
                        return True
            return False


