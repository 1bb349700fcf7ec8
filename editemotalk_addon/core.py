"""The bpy-free core: bundled inside the extension as a sub-package, or found beside us in a repository checkout."""

import importlib.util

if importlib.util.find_spec(f"{__package__}.model") is not None:  # the extension zip: <extension>/model
    from .model.runtime import animator, audio, demo_head, ict, livelink, name_mapping, rig, timebase, weights
else:  # a repository checkout: model/ next to editemotalk_addon/
    from model.runtime import animator, audio, demo_head, ict, livelink, name_mapping, rig, timebase, weights

__all__ = ["animator", "audio", "demo_head", "ict", "livelink", "name_mapping", "rig", "timebase", "weights"]
