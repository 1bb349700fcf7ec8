"""The Blender layer: properties, panels, operators and preferences on the bpy-free core, and the session that
keeps one clip's analysis live while the sliders move. Registration only.

What Blender holds of ours (classes, the depsgraph handler, command-line commands) is handed back by unregister(),
and at the latest when Python exits. On the bpy module that matters: Blender's own exit (disabling add-ons,
stopping the sound device's thread) runs only once the `bpy` module object is freed at interpreter shutdown,
and a class Blender still holds keeps its methods' module globals, and through them `bpy`, alive. The process
then never finishes exiting (the sound thread's condition variable waits forever), or crashes freeing a command
handler after Python is gone. Blender's add-on manager disables the add-ons it enabled at exit; a script that
calls register() itself has nobody to do that, so register() arranges it.
"""

import atexit

import bpy

from . import operators, panels, preferences, properties, session

_MODULES = (preferences, properties, operators, panels)
_COMMANDS: list = []  # the handles Blender gave for our command-line commands (`blender -c editemotalk ...`)
_REGISTERED: list = []  # non-empty while registered: unregister() runs once, whoever calls it first


def register(commands: dict | None = None):
    """Classes, properties, the live-preview handler, and `commands` ({id: execute(argv) -> exit status}) for
    Blender's `-c`/`--command` option."""
    for module in _MODULES:
        for cls in module.CLASSES:
            bpy.utils.register_class(cls)
    properties.register()
    session.register()
    for name, execute in (commands or {}).items():
        _COMMANDS.append(bpy.utils.register_cli_command(name, execute))
    _REGISTERED.append(True)
    atexit.register(unregister)


def unregister():
    atexit.unregister(unregister)
    if not _REGISTERED:  # already done at exit, before Blender's add-on manager got to it
        return
    _REGISTERED.clear()
    while _COMMANDS:
        bpy.utils.unregister_cli_command(_COMMANDS.pop())
    session.unregister()
    properties.unregister()
    for module in reversed(_MODULES):
        for cls in reversed(module.CLASSES):
            bpy.utils.unregister_class(cls)
