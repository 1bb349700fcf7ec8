"""EditEmoTalk: speech-driven ARKit facial animation with continuous emotion editing. Registration only."""

import bpy

from . import live, operators, panels, preferences, properties

_MODULES = (preferences, properties, operators, panels)


def register():
    for module in _MODULES:
        for cls in module.CLASSES:
            bpy.utils.register_class(cls)
    properties.register()
    live.register()


def unregister():
    live.unregister()
    properties.unregister()
    for module in reversed(_MODULES):
        for cls in reversed(module.CLASSES):
            bpy.utils.unregister_class(cls)
