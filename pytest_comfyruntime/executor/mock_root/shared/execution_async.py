# ``execution`` of eras C and D: definitions the two eras share word for word, executed into each
# era's module by ``__comfyruntime_include__("execution_async.py")`` (so their globals are that
# module's, as in ComfyUI). Needs ``asyncio``, ``sys``, ``Enum``, ``NamedTuple``, ``ExecutionBlocker``
# and ``_nullcontext`` imported by the including module.


class CacheEntry(NamedTuple):
    ui: dict
    outputs: list


class CacheType(Enum):
    CLASSIC = 0
    LRU = 1
    NONE = 2
    RAM_PRESSURE = 3


async def resolve_map_node_over_list_results(results):
    remaining = [x for x in results if isinstance(x, asyncio.Task) and not x.done()]
    if remaining:
        done, _ = await asyncio.wait(remaining)
        for task in done:
            if task.exception() is not None:
                raise task.exception()
    return [x.result() if isinstance(x, asyncio.Task) else x for x in results]


def merge_result_data(results, obj):
    output = []
    output_is_list = getattr(obj, "OUTPUT_IS_LIST", [False] * len(results[0]))
    for i, is_list in zip(range(len(results[0])), output_is_list):
        if is_list:
            value = []
            for o in results:
                if isinstance(o[i], ExecutionBlocker):
                    value.append(o[i])
                else:
                    value.extend(o[i])
            output.append(value)
        else:
            output.append([o[i] for o in results])
    return output


def get_output_from_returns(return_values, obj):
    results = []
    uis = []
    for r in return_values:
        if isinstance(r, dict):
            if "ui" in r:
                uis.append(r["ui"])
            if "expand" in r:
                raise NotImplementedError(
                    f"{type(obj).__name__} returned 'expand' (subgraph expansion), which the "
                    "pytest-comfyruntime mock does not run; use the real ComfyUI backend for it")
            if "result" in r:
                result = r.get("result", None)
                if isinstance(result, ExecutionBlocker):
                    result = tuple([result] * len(obj.RETURN_TYPES))
                results.append(result)
        else:
            if isinstance(r, ExecutionBlocker):
                r = tuple([r] * len(obj.RETURN_TYPES))
            results.append(r)
    output = merge_result_data(results, obj) if results else []
    ui = {k: [y for x in uis for y in x[k]] for k in uis[0].keys()} if uis else dict()
    return output, ui, False


def _inference_mode():
    # ComfyUI runs prompts under torch.inference_mode(). The mock never imports torch, but when the
    # test process already has (a node pack uses it), node code gets the same mode as in ComfyUI.
    mode = getattr(sys.modules.get("torch"), "inference_mode", None)
    return mode() if mode is not None else _nullcontext()
