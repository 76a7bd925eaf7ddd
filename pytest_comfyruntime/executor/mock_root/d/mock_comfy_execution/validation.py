"""Stand-in for ``comfy_execution.validation`` (era D; read, not run: ``Comfy-Org/ComfyUI`` at 503745c9,
the generation of ``execution.py`` at 04e2a914).

``validate_node_input`` gained the 2026 shortcuts: ``"*"`` (any type) and the V3 match type
``"COMFY_MATCHTYPE_V3"`` always connect, and a list of options fits a ``"COMBO"`` input.

``validate_loops(prompt, outputs, node_ids, start_nodes, end_nodes)`` pairs the V3 loop boundary
nodes (``Schema.loop_boundary`` ``"start"`` / ``"end"``, collected by ``validate_prompt``):

- ``{}`` when the prompt has no boundary node at all;
- the nodes looked at are ``node_ids`` (``validate_prompt`` passes the nodes it validated: the
  outputs and their ancestors), the nodes downstream of the outputs up to a Start (a Start that
  was not validated is left out), and the ancestors of the End nodes among those (up to a Start);
- Ends are paired innermost first (the first, in sorted id order, with no other remaining End
  upstream) with the closest remaining Start upstream of them, and each new pair is checked at once
  for a body that escapes: reaches an unpaired End or a terminal output without its End;
- a failure raises ``LoopValidationError`` (``custom_validation_failed`` with ``extra_info
  {"input_name": "loop boundary", "loop_error_type", "node_ids", "output_ids"}``, both sorted):
  ``loop_end_cycle``, ``loop_end_without_start``, ``ambiguous_loop_nesting``, ``loop_escape``,
  ``loop_start_without_end`` or ``loop_accumulate_from_body`` (the End's ``accumulate`` is linked to
  its Start or its body); ``output_ids`` are the outputs downstream of the nodes blamed;
- on success every paired Start node of ``prompt`` gets ``"_loop_body"`` (sorted ids of the nodes
  between it and its End) and ``"_loop_end"`` (the End's id), read by the Start Loop node at run
  time, and ``{start_id: end_id}`` is returned.
"""
from comfy_execution.graph_utils import is_link

_ANY = "*"
_MATCH_TYPE = "COMFY_MATCHTYPE_V3"
_COMBO = "COMBO"


class LoopValidationError(Exception):
    def __init__(self, error_type, message, details, node_ids, output_ids):
        super().__init__(details)
        self.error = {
            "type": "custom_validation_failed",
            "message": message,
            "details": details,
            "extra_info": {
                "input_name": "loop boundary",
                "loop_error_type": error_type,
                "node_ids": sorted(node_ids),
                "output_ids": sorted(output_ids),
            },
        }


def _walk_graph(start_ids, edges, stop_at=(), return_stops=False):
    """Nodes reached from ``start_ids`` along ``edges`` (a stop node is reached, not crossed);
    with ``return_stops`` only the stop nodes reached."""
    seen = set()
    stops = set()
    todo = list(start_ids)
    while todo:
        node_id = todo.pop()
        if node_id in seen:
            continue
        seen.add(node_id)
        if node_id in stop_at:
            stops.add(node_id)
            continue
        todo.extend(edges[node_id])
    return stops if return_stops else seen


def _loop_validation_error(error_type, message, details, actors, children, outputs):
    reached = _walk_graph(actors, children).intersection(outputs)
    return LoopValidationError(error_type, message, details, actors, reached)


def _links_of(node):
    return [value[0] for value in node.get("inputs", {}).values() if is_link(value)]


def validate_loops(prompt, outputs, node_ids, start_nodes, end_nodes):
    """``{start_id: end_id}`` for the loop pairs; ``{}`` when the prompt has no loop boundaries."""
    if not start_nodes and not end_nodes:
        return {}

    considered = set(node_ids)
    every_child = {node_id: set() for node_id in prompt}
    every_parent = {node_id: set() for node_id in prompt}
    for node_id, node in prompt.items():
        for source in _links_of(node):
            if source in every_child:
                every_child[source].add(node_id)
                every_parent[node_id].add(source)
    downstream = _walk_graph(outputs, every_child, start_nodes)
    downstream -= set(start_nodes) - considered
    considered |= downstream
    considered |= _walk_graph(set(end_nodes) & downstream, every_parent, start_nodes)

    parents = {node_id: {source for source in _links_of(prompt[node_id]) if source in considered}
               for node_id in considered}
    children = {node_id: set() for node_id in considered}
    for node_id, sources in parents.items():
        for source in sources:
            children[source].add(node_id)

    start_nodes = set(start_nodes) & considered
    end_nodes = set(end_nodes) & considered
    terminal_outputs = {node_id for node_id in outputs if not children[node_id]}

    # Starts nested under a Start (crossing completed inner loops), and Ends upstream of an End.
    start_dag = {start_id: _walk_graph(children[start_id], children, start_nodes, return_stops=True)
                 for start_id in start_nodes}
    nested_starts = {start_id: _walk_graph(start_dag[start_id], start_dag) for start_id in start_nodes}
    end_dag = {end_id: _walk_graph(parents[end_id], parents, end_nodes, return_stops=True)
               for end_id in end_nodes}

    pairs = {}
    open_starts = set(start_nodes)
    open_ends = set(end_nodes)
    while open_ends:
        innermost = [end_id for end_id in sorted(open_ends) if not end_dag[end_id] & open_ends]
        if not innermost:
            names = ", ".join(sorted(open_ends))
            raise _loop_validation_error(
                "loop_end_cycle", "End Loops depend on each other",
                f"End Loops depend on each other, so none of them can be closed first: {names}",
                set(open_ends), children, outputs)
        end_id = innermost[0]
        candidates = _walk_graph(parents[end_id], parents, open_starts, return_stops=True)
        if not candidates:
            raise _loop_validation_error(
                "loop_end_without_start", "End Loop has no Start Loop",
                f"End Loop {end_id} has no available Start Loop", {end_id}, children, outputs)
        closest = {candidate for candidate in candidates
                   if all(other == candidate or candidate in nested_starts[other] for other in candidates)}
        if len(closest) != 1:
            names = ", ".join(sorted(candidates))
            raise _loop_validation_error(
                "ambiguous_loop_nesting", "End Loop has ambiguous Start Loops",
                f"End Loop {end_id} can close multiple unrelated Start Loops: {names}",
                candidates | {end_id}, children, outputs)
        start_id = closest.pop()
        pairs[start_id] = end_id
        open_starts.discard(start_id)
        open_ends.discard(end_id)
        # Paired (inner) Ends may be crossed; an open End or a terminal output is an escape.
        escapes = _walk_graph(children[start_id], children, open_ends | terminal_outputs | {end_id},
                              return_stops=True) - {end_id}
        if escapes:
            names = ", ".join(sorted(escapes))
            raise _loop_validation_error(
                "loop_escape", "Loop body is not closed",
                f"Start Loop {start_id} reaches {names} without passing through End Loop {end_id}",
                escapes | {start_id, end_id}, children, outputs)

    if open_starts:
        names = ", ".join(sorted(open_starts))
        raise _loop_validation_error(
            "loop_start_without_end", "Start Loop has no End Loop", f"Start Loops without End Loops: {names}",
            open_starts, children, outputs)

    bodies = {}
    for start_id, end_id in pairs.items():
        body = _walk_graph(children[start_id], children, {end_id}) - {end_id}
        bodies[start_id] = body
        accumulate = prompt[end_id].get("inputs", {}).get("accumulate")
        if is_link(accumulate) and (accumulate[0] == start_id or accumulate[0] in body):
            source_id = accumulate[0]
            raise _loop_validation_error(
                "loop_accumulate_from_body", "End Loop accumulate depends on its loop body",
                f"End Loop {end_id} accumulate is driven by loop node {source_id} under Start Loop {start_id}",
                {start_id, end_id, source_id}, children, outputs)

    for start_id, end_id in pairs.items():
        prompt[start_id]["_loop_body"] = sorted(bodies[start_id])
        prompt[start_id]["_loop_end"] = end_id
    return pairs


def validate_node_input(received_type, input_type, strict=False):
    """Types are ``"T1,T2,..."`` strings; non-strict needs an overlap, strict needs a subset."""
    if not received_type != input_type:  # honours custom ``__ne__`` on type objects
        return True
    if received_type == _ANY or input_type == _ANY:
        return True
    if received_type == _MATCH_TYPE or input_type == _MATCH_TYPE:
        return True
    if isinstance(received_type, list) and input_type == _COMBO:
        return True
    if not isinstance(received_type, str) or not isinstance(input_type, str):
        return False
    received = {t.strip() for t in received_type.split(",")}
    wanted = {t.strip() for t in input_type.split(",")}
    if _ANY in received or _ANY in wanted:
        return True
    return received.issubset(wanted) if strict else bool(received & wanted)
