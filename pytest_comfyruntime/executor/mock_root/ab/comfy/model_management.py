"""Stand-in for ``comfy.model_management`` (eras A and B): interruption, memory helpers, no torch.

The interrupt flag and its RLock behave as in every ComfyUI era: the flag is a module global,
``throw_exception_if_processing_interrupted`` clears it before raising.
"""
import threading
from enum import Enum


class VRAMState(Enum):
    DISABLED = 0
    NO_VRAM = 1
    LOW_VRAM = 2
    NORMAL_VRAM = 3
    HIGH_VRAM = 4
    SHARED = 5


class CPUState(Enum):
    GPU = 0
    CPU = 1
    MPS = 2


vram_state = VRAMState.DISABLED
cpu_state = CPUState.CPU
DISABLE_SMART_MEMORY = False


# ComfyUI aliases ``torch.cuda.OutOfMemoryError``: a RuntimeError (not a MemoryError) whose
# ``execution.full_type_name`` is "torch.OutOfMemoryError" with current torch. Built with
# ``type()`` so the module binds no name the real one lacks; no torch is imported.
OOM_EXCEPTION = type("OutOfMemoryError", (RuntimeError,), {
    "__module__": "torch", "__qualname__": "OutOfMemoryError",
    "__doc__": "Stands in for torch.cuda.OutOfMemoryError (CUDA out of memory)."})


class InterruptProcessingException(Exception):
    pass


interrupt_processing_mutex = threading.RLock()
interrupt_processing = False


def interrupt_current_processing(value=True):
    global interrupt_processing
    with interrupt_processing_mutex:
        interrupt_processing = value


def processing_interrupted():
    with interrupt_processing_mutex:
        return interrupt_processing


def throw_exception_if_processing_interrupted():
    global interrupt_processing
    with interrupt_processing_mutex:
        if interrupt_processing:
            interrupt_processing = False
            raise InterruptProcessingException()


def get_torch_device():
    return "cpu"


def is_device_cpu(device):
    return str(device) == "cpu"


def soft_empty_cache(force=False):
    pass


def unload_all_models():
    pass


# execute() calls cleanup_models(keep_clone_weights_loaded=True); there is no cleanup_models_gc yet.
def cleanup_models(keep_clone_weights_loaded=False):
    pass


def free_memory(memory_required, device, keep_loaded=[]):
    return []


def get_free_memory(dev=None, torch_free_too=False):
    return (0, 0) if torch_free_too else 0


def get_total_memory(dev=None, torch_total_too=False):
    return (0, 0) if torch_total_too else 0


def cast_to(weight, dtype=None, device=None, non_blocking=False, copy=False, stream=None):
    return weight
