"""The bpy-free core: bundled inside the extension as a sub-package, or found beside us in a repository checkout."""

try:  # the extension zip: <extension>/model
    from .model import animator, audio, demo_head, ict, name_mapping, rig, timebase, weights
except ImportError:  # a repository checkout: model/ next to editemotalk_addon/
    from model import animator, audio, demo_head, ict, name_mapping, rig, timebase, weights

__all__ = ["animator", "audio", "demo_head", "ict", "name_mapping", "rig", "timebase", "weights"]
