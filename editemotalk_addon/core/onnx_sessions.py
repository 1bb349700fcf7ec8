"""ONNX Runtime for the shipped graphs: imported with its telemetry off, CPU sessions made one way."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .windows import RUNNING


def onnx_runtime():
    """The onnxruntime module, imported with its telemetry off: importing it otherwise writes a device id and a
    database under ~/.cache/Microsoft and a session file in the temporary folder (ONNX Runtime 1.23), and the
    extension writes nothing beyond what it is asked to and its own folder. The switch is read while the module
    imports, and the environment is put back right after: Blender's, and its other add-ons', stays theirs."""
    if "onnxruntime" not in sys.modules and "ORT_DISABLE_TELEMETRY" not in os.environ:
        os.environ["ORT_DISABLE_TELEMETRY"] = "1"
        try:
            import onnxruntime
        finally:
            del os.environ["ORT_DISABLE_TELEMETRY"]
    import onnxruntime

    return onnxruntime


def shared_cores() -> int:
    """Threads for one of the windows that run side by side (windows.RUNNING at a time): its share of the cores."""
    return max(1, (os.cpu_count() or 1) // RUNNING)


def cpu_session(path: Path, spinning: bool = True, threads: int = 0):
    """An inference session on the CPU. `spinning` False for graphs run once per analysis (the pretrained
    networks): their idle threads would otherwise spin on the cores a slider's re-generate needs next. `threads`
    0: ONNX Runtime's choice (every physical core); the pretrained networks' windows take shared_cores() each."""
    ort = onnx_runtime()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.enable_cpu_mem_arena = False  # the arena keeps every block a long clip needed: 30 min peaked at 2.2 GB
    if not spinning:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
