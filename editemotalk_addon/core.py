"""The bpy-free runtime core: bundled in the extension as model/runtime/, or found beside us in a repository checkout.

Add-on modules import it as `from .core import rig, pipeline, ...`.
"""

import importlib
import importlib.util

_RUNTIME = f"{__package__}.model.runtime" if importlib.util.find_spec(f"{__package__}.model") else "model.runtime"
MODULES = (
    "animator",
    "audio",
    "bundled_head",
    "demo_head",
    "files",
    "ict",
    "livelink",
    "name_mapping",
    "performance",
    "pipeline",
    "rig",
    "timebase",
    "validate",
    "weights",
)
for _name in MODULES:
    globals()[_name] = importlib.import_module(f"{_RUNTIME}.{_name}")
