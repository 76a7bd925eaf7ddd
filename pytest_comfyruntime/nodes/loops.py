"""V3 stand-ins of ComfyUI's loop nodes (``comfy_extras/nodes_loop.py``, built in from the 2026
generation that ``execution.py`` at 04e2a914 belongs to; read at ``Comfy-Org/ComfyUI`` 023f153c, not
run): ``StartLoop`` / ``EndLoop`` and the dev-only ``LoopIteration``, ``LoopProgress`` and
``LoopResult`` they expand into, under ComfyUI's class names and node ids.

In ComfyUI they are registered at start-up with the other built-in nodes; the plugin's mock has no
``comfy_extras``: call :func:`loop_node_classes` while the ComfyUI that will run them is active (the
era-D mock) and register the result, as for :func:`~pytest_comfyruntime.nodes.v3.v3_node_classes`.
Importing this module never imports ComfyUI.

How a loop runs (all of it is the nodes' doing; the executor only pairs the boundaries):
``validate_prompt`` pairs every Start with its End (``comfy_execution.validation.validate_loops``)
and writes ``"_loop_body"`` / ``"_loop_end"`` into the Start node of the prompt. At run time the
Start node reads them through its hidden ``dynprompt``, builds one copy of the body per iteration
(ids ``"<position>_<node id>"`` under the executor's prefix ``"<start id>.0.0."``, each copy shown
as its original node; a ``LoopIteration`` per iteration shown as the Start node) chained through
``LoopProgress`` output nodes to a ``LoopResult``; then, on its hidden ``execution_list``, it adds
an external block to the End node, takes the original body out of the graph (``inhibit_nodes``)
and overrides the End node without its loop inputs, and returns the copies as its expansion.
``LoopResult`` releases the End node's block with the collected values (``release_external_block``)
and the End node returns them (``get_external_block_result``) as one list output.

Built as ComfyUI builds them, on the V3 dynamic inputs of the era-D ``io`` (``_io`` from the
04e2a914 reading on; the variant D-11 shares it): ``StartLoop``'s ``mode`` a ``DynamicCombo``
(options ``"simple"``, ``"For"``, ``"List"``; a prompt sends ``"mode"`` and ``"mode.<option
input>"``, the node gets the nested ``mode`` dict), ``EndLoop``'s ``terminations`` an ``Autogrow``
of up to fifty ``termination<n>``, ``MatchType`` carried, listed and returned values, and
``Schema.loop_boundary`` ``"start"`` / ``"end"``. As ComfyUI's do, the Start node sends
``"Iteration 0 / <total>"`` and each ``LoopProgress`` ``"Iteration <n> / <total>"`` as a progress
text on the Start node (``PromptServer.instance.send_progress_text(text, start id)``: a
``BinaryEventTypes.TEXT`` message, sid None).
"""
from __future__ import annotations

import importlib
from typing import Any, Final

#: The class_types :func:`loop_node_classes` defines, as ComfyUI registers them.
LOOP_CLASS_TYPES: Final = ("StartLoop", "EndLoop", "LoopIteration", "LoopProgress", "LoopResult")
#: ComfyUI's display names of the loop nodes (the three helpers are dev-only and have none).
LOOP_NODE_DISPLAY_NAME_MAPPINGS: Final = {"StartLoop": "Start Loop", "EndLoop": "End Loop"}

_TERMINATIONS: Final = 50
_CATEGORY: Final = "utilities/looping"


class LoopsUnavailableError(RuntimeError):
    """The active ComfyUI has no loop machinery: eras A to C (before the 2026 loops) and the variant
    D-11 (2026 up to v0.33: its ``ExecutionList`` / ``DynamicPrompt`` lack ``inhibit_nodes`` and
    ``override_node``). Loops run on era D only."""


def _first(value: Any) -> Any:
    """A node with ``is_input_list`` gets every input as a list; a plain value is taken as is."""
    return value[0] if isinstance(value, list) else value


def _require_loops(io: Any) -> Any:
    """The active ``comfy_execution.graph``; raises :class:`LoopsUnavailableError` naming what is missing."""
    try:
        graph = importlib.import_module("comfy_execution.graph")
    except ImportError as exc:
        raise LoopsUnavailableError(
            f"ComfyUI's loop nodes (StartLoop / EndLoop) need the 2026 executor (era D); the active ComfyUI "
            f"has no comfy_execution.graph ({exc})") from exc
    missing = [name for name, present in (
        ("comfy_execution.graph.ExecutionList.inhibit_nodes", hasattr(graph.ExecutionList, "inhibit_nodes")),
        ("comfy_execution.graph.DynamicPrompt.override_node", hasattr(graph.DynamicPrompt, "override_node")),
        ("comfy_api.latest.io.Hidden.execution_list", hasattr(io.Hidden, "execution_list")),
    ) if not present]
    if missing:
        raise LoopsUnavailableError(
            "ComfyUI's loop nodes (StartLoop / EndLoop) need the 2026 executor (era D); the active ComfyUI lacks "
            + ", ".join(missing))
    return graph


def _start_inputs(io: Any) -> list[Any]:
    list_item_type = io.MatchType.Template("list_item")
    carried_type = io.MatchType.Template("carried_value")
    return [
        io.DynamicCombo.Input("mode", options=[
            io.DynamicCombo.Option("simple", [
                io.Int.Input("num_iterations", default=4, min=0)]),
            io.DynamicCombo.Option("For", [
                io.Int.Input("start_iteration_index", default=0),
                io.Int.Input("max_iteration", default=4, max=0xffffffffffffffff),
                io.Int.Input("step", default=1, min=1)]),
            io.DynamicCombo.Option("List", [
                io.MatchType.Input("list", list_item_type)]),
        ]),
        io.Boolean.Input("cache_iterations", default=False, advanced=True),
        io.Int.Input("parent_iteration", optional=True, force_input=True),
        io.MatchType.Input("initial_iteration_value", carried_type, optional=True),
    ]


def _start_outputs(io: Any) -> list[Any]:
    return [
        io.Int.Output("iteration_index"),
        io.Boolean.Output("is_first"),
        io.Boolean.Output("is_last"),
        io.MatchType.Output(io.MatchType.Template("list_item"), id="list_item"),
        io.MatchType.Output(io.MatchType.Template("carried_value"), id="current_iteration_value"),
    ]


def _end_inputs(io: Any) -> list[Any]:
    terminations = io.Autogrow.TemplatePrefix(
        io.AnyType.Input("termination"),
        prefix="termination", min=0, max=_TERMINATIONS)
    return [
        io.MatchType.Input("output_value", io.MatchType.Template("output_value"), optional=True),
        io.MatchType.Input("next_iteration_value", io.MatchType.Template("carried_value"), optional=True),
        io.Boolean.Input("accumulate", default=False),
        io.Autogrow.Input("terminations", template=terminations, optional=True),
    ]


def _end_outputs(io: Any) -> list[Any]:
    return [io.MatchType.Output(io.MatchType.Template("output_value"), id="outputs", is_output_list=True)]


def _send_progress_text(text: str, node_id: str) -> None:
    """``PromptServer.instance.send_progress_text(text, node_id)``, on the active ComfyUI's server."""
    importlib.import_module("server").PromptServer.instance.send_progress_text(text, node_id)


def _expand_loop(graph_utils: Any, dynprompt: Any, opener_id: str, body: set[str], close_id: str,
                 values: list[int], list_items: list[Any] | None, initial_value: Any, reuse_cache: Any) -> dict[str, Any]:
    """The subgraph one Start Loop expands into: per iteration a ``LoopIteration`` (shown as the
    Start node), a copy of every body node (shown as the original) and a ``LoopProgress``; then the
    ``LoopResult`` that hands the End node its values."""
    is_link = graph_utils.is_link
    builder = graph_utils.GraphBuilder()
    nested: dict[str, dict[str, Any]] = {}
    close_inputs = dynprompt.get_node(close_id)["inputs"]
    output_source = close_inputs.get("output_value")
    carry_source = close_inputs.get("next_iteration_value")
    terminations = [v for k, v in close_inputs.items() if k.startswith("termination") and is_link(v)]
    accumulate = bool(close_inputs.get("accumulate", False))
    # is_first / is_last stay False when nothing reads them, so the loop's length does not change
    # the iterations' cache keys.
    read_sockets = {v[1] for node_id in (*body, close_id) for v in dynprompt.get_node(node_id).get("inputs", {}).values()
                    if is_link(v) and v[0] == opener_id}
    carried = initial_value
    waits_for: list[Any] = []
    last_progress = None
    result_inputs: dict[str, Any] = {"close_id": close_id}
    count = len(values)

    for position, value in enumerate(values):
        iteration = builder.node("LoopIteration", f"iteration_{position}",
                                 iteration_index=value,
                                 is_first=1 in read_sockets and position == 0,
                                 is_last=2 in read_sockets and position == count - 1,
                                 list_item=list_items[position] if list_items is not None else None,
                                 current_iteration_value=carried,
                                 reuse_cache=reuse_cache,
                                 **{f"dependency{i}": link for i, link in enumerate(waits_for)})
        iteration.set_override_display_id(opener_id)
        copies = {}
        for node_id in body:
            copy = builder.node(dynprompt.get_node(node_id)["class_type"], f"{position}_{node_id}")
            copy.set_override_display_id(node_id)
            copies[node_id] = copy

        def relink(source: Any, iteration: Any = iteration, copies: dict[str, Any] = copies) -> Any:
            if not is_link(source):
                return source
            if source[0] == opener_id:
                return iteration.out(source[1])
            if source[0] in copies:
                return copies[source[0]].out(source[1])
            return source

        for node_id, copy in copies.items():
            original = dynprompt.get_node(node_id)
            for name, source in original.get("inputs", {}).items():
                copy.set_input(name, relink(source))
            if "_loop_end" in original:  # a nested Start: its pairing follows the copies
                nested[copy.id] = {"_loop_body": [copies[inner].id for inner in original["_loop_body"]],
                                   "_loop_end": copies[original["_loop_end"]].id}

        waits_for = []
        if is_link(output_source):
            produced = relink(output_source)
            if accumulate:
                result_inputs[f"output{position}"] = produced
            elif position == count - 1:
                result_inputs["output0"] = produced
            waits_for.append(produced)
        if is_link(carry_source):
            carried = relink(carry_source)
            waits_for.append(carried)
        waits_for.extend(relink(source) for source in terminations)
        progress_inputs: dict[str, Any] = {"start_id": opener_id, "position": position + 1, "total": count,
                                           **{f"dependency{i}": link for i, link in enumerate(waits_for)}}
        if last_progress is not None:
            progress_inputs["previous_progress"] = last_progress
        last_progress = builder.node("LoopProgress", f"progress_{position}", **progress_inputs).out(0)

    if last_progress is not None:
        result_inputs["progress"] = last_progress
    result_inputs.update({f"dependency{i}": link for i, link in enumerate(waits_for)})
    builder.node("LoopResult", "result", **result_inputs)
    expanded: dict[str, Any] = builder.finalize()
    for node_id, pairing in nested.items():
        expanded[node_id].update(pairing)
    return expanded


def loop_node_classes(io: Any = None) -> dict[str, type]:
    """ComfyUI's loop nodes as V3 stand-ins (``StartLoop``, ``EndLoop``, ``LoopIteration``,
    ``LoopProgress``, ``LoopResult``), built on the ``io`` module of the ComfyUI now in
    ``sys.modules`` (or on ``io`` when given). Register the result while that ComfyUI is active.

    Raises :class:`LoopsUnavailableError`, naming what is missing, on a ComfyUI without the 2026 loop
    machinery (``ExecutionList.inhibit_nodes``, ``DynamicPrompt.override_node``,
    ``Hidden.execution_list``): eras A to C and the variant D-11.
    """
    if io is None:
        try:
            io = importlib.import_module("comfy_api.latest").io
        except ImportError as exc:
            raise LoopsUnavailableError(
                f"ComfyUI's loop nodes (StartLoop / EndLoop) need the 2026 executor (era D); the active ComfyUI "
                f"has no comfy_api.latest ({exc})") from exc
    _require_loops(io)
    graph_utils = importlib.import_module("comfy_execution.graph_utils")
    nan = float("NaN")

    class StartLoop(io.ComfyNode):  # type: ignore[misc]  # (ComfyUI's io, imported at run time)
        @classmethod
        def define_schema(cls) -> Any:
            return io.Schema(node_id="StartLoop", display_name="Start Loop", category=_CATEGORY,
                             loop_boundary="start", is_input_list=True, inputs=_start_inputs(io),
                             outputs=_start_outputs(io),
                             hidden=[io.Hidden.dynprompt, io.Hidden.execution_list, io.Hidden.unique_id],
                             enable_expand=True)

        @classmethod
        def execute(cls, mode: Any, cache_iterations: Any = False, parent_iteration: Any = None,
                    initial_iteration_value: Any = None) -> Any:
            # The DynamicCombo hands the node {"mode": [key], "<option input>": [...]}.
            kind = mode.get("mode", ["simple"])[0]
            list_items = None
            if kind == "simple":
                values = list(range(mode.get("num_iterations", [4])[0]))
            elif kind == "For":
                step = mode.get("step", [1])[0]
                if step == 0:
                    raise ValueError("Start Loop step must not be 0")
                values = list(range(mode.get("start_iteration_index", [0])[0], mode.get("max_iteration", [4])[0],
                                    step))
            else:
                list_items = mode["list"]
                values = list(range(len(list_items)))

            dynprompt = cls.hidden.dynprompt
            execution_list = cls.hidden.execution_list
            unique_id = cls.hidden.unique_id
            opener = dynprompt.get_node(unique_id)
            body = set(opener["_loop_body"])
            close_id = opener["_loop_end"]
            expanded = _expand_loop(graph_utils, dynprompt, unique_id, body, close_id, values, list_items,
                                    opener["inputs"].get("initial_iteration_value"), _first(cache_iterations))
            close = dynprompt.get_node(close_id)
            kept = {name: value for name, value in close["inputs"].items()
                    if name not in ("output_value", "next_iteration_value") and not name.startswith("termination")}
            execution_list.add_node(close_id)
            execution_list.add_external_block(close_id)
            execution_list.inhibit_nodes(body)
            dynprompt.override_node(close_id, {"class_type": close["class_type"], "inputs": kept})
            _send_progress_text(f"Iteration 0 / {len(values)}", unique_id)
            return io.NodeOutput(None, False, not values, None, None, expand=expanded)

        @classmethod
        def fingerprint_inputs(cls, cache_iterations: Any = False, **kwargs: Any) -> Any:
            return nan

    class LoopIteration(io.ComfyNode):  # type: ignore[misc]  # (ComfyUI's io, imported at run time)
        @classmethod
        def define_schema(cls) -> Any:
            return io.Schema(
                node_id="LoopIteration", is_input_list=True, is_dev_only=True, accept_all_inputs=True,
                inputs=[io.Int.Input("iteration_index"), io.Boolean.Input("is_first"), io.Boolean.Input("is_last"),
                        io.AnyType.Input("list_item", optional=True),
                        io.AnyType.Input("current_iteration_value", optional=True),
                        io.Boolean.Input("reuse_cache")],
                outputs=[io.Int.Output(), io.Boolean.Output(), io.Boolean.Output(), io.AnyType.Output(),
                         io.AnyType.Output(is_output_list=True)],
            )

        @classmethod
        def execute(cls, iteration_index: Any, is_first: Any, is_last: Any, reuse_cache: Any, list_item: Any = None,
                    current_iteration_value: Any = None, **kwargs: Any) -> Any:
            return io.NodeOutput(iteration_index[0], is_first[0], is_last[0], list_item[0] if list_item else None,
                                 current_iteration_value)

        @classmethod
        def fingerprint_inputs(cls, reuse_cache: Any, **kwargs: Any) -> Any:
            return None if _first(reuse_cache) else nan

    class LoopProgress(io.ComfyNode):  # type: ignore[misc]  # (ComfyUI's io, imported at run time)
        @classmethod
        def define_schema(cls) -> Any:
            return io.Schema(
                node_id="LoopProgress", is_input_list=True, is_output_node=True, is_dev_only=True,
                accept_all_inputs=True,
                inputs=[io.String.Input("start_id"), io.Int.Input("position"), io.Int.Input("total")],
                outputs=[io.Int.Output()],
            )

        @classmethod
        def execute(cls, start_id: Any, position: Any, total: Any, **kwargs: Any) -> Any:
            _send_progress_text(f"Iteration {position[0]} / {total[0]}", start_id[0])
            return io.NodeOutput(position[0])

        @classmethod
        def fingerprint_inputs(cls, **kwargs: Any) -> Any:
            return nan

    class LoopResult(io.ComfyNode):  # type: ignore[misc]  # (ComfyUI's io, imported at run time)
        @classmethod
        def define_schema(cls) -> Any:
            return io.Schema(
                node_id="LoopResult", is_input_list=True, is_output_node=True, is_dev_only=True,
                accept_all_inputs=True, inputs=[io.String.Input("close_id")], outputs=[],
                hidden=[io.Hidden.execution_list],
            )

        @classmethod
        def execute(cls, close_id: Any, **kwargs: Any) -> Any:
            collected: list[Any] = []
            while f"output{len(collected)}" in kwargs:
                collected.append(kwargs[f"output{len(collected)}"])
            cls.hidden.execution_list.release_external_block(close_id[0], collected)
            return io.NodeOutput()

        @classmethod
        def fingerprint_inputs(cls, **kwargs: Any) -> Any:
            return nan

    class EndLoop(io.ComfyNode):  # type: ignore[misc]  # (ComfyUI's io, imported at run time)
        @classmethod
        def define_schema(cls) -> Any:
            return io.Schema(node_id="EndLoop", display_name="End Loop", category=_CATEGORY, loop_boundary="end",
                             is_input_list=True, inputs=_end_inputs(io), outputs=_end_outputs(io),
                             hidden=[io.Hidden.execution_list, io.Hidden.unique_id])

        @classmethod
        def execute(cls, accumulate: Any, **kwargs: Any) -> Any:
            collected = cls.hidden.execution_list.get_external_block_result(cls.hidden.unique_id)
            return io.NodeOutput([value for values in collected for value in values])

    classes = [StartLoop, EndLoop, LoopIteration, LoopProgress, LoopResult]
    return {cls.__name__: cls for cls in classes}


__all__ = ["LOOP_CLASS_TYPES", "LOOP_NODE_DISPLAY_NAME_MAPPINGS", "LoopsUnavailableError", "loop_node_classes"]
