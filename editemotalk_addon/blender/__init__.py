"""The Blender layer: properties, panels, operators and preferences on the bpy-free core, and the session that
keeps one clip's analysis live while the sliders move. Registration only."""

import bpy

from . import operators, panels, preferences, properties, session

_MODULES = (preferences, properties, operators, panels)


def register():
    for module in _MODULES:
        for cls in module.CLASSES:
            bpy.utils.register_class(cls)
    properties.register()
    session.register()


def unregister():
    session.unregister()
    properties.unregister()
    for module in reversed(_MODULES):
        for cls in reversed(module.CLASSES):
            bpy.utils.unregister_class(cls)
