"""The Blender layer: properties, panels, operators and preferences on the bpy-free core, and the session that
keeps one clip's analysis live while the sliders move. Registration only.

What Blender holds of ours (classes, the depsgraph handler, command-line commands) is handed back by unregister(),
and at the latest when Python exits. On the bpy module that matters: Blender's own exit (disabling add-ons,
stopping the sound device's thread) runs only once the `bpy` module object is freed at interpreter shutdown,
and a class Blender still holds keeps its methods' module globals, and through them `bpy`, alive. The process
then never finishes exiting (the sound thread's condition variable waits forever), or crashes freeing a command
handler after Python is gone. Blender's add-on manager disables the add-ons it enabled at exit; a script that
calls register() itself has nobody to do that, so register() arranges it.

bpy is imported when the layer registers, not when a module of it is imported: a batch driver (batch.py) starts
its worker processes from a Python that has not imported bpy (see batch._workers_here).
"""

import atexit

_COMMANDS: list = []  # the handles Blender gave for our command-line commands (`blender -c editemotalk ...`)
_REGISTERED: list = []  # non-empty while registered: unregister() runs once, whoever calls it first


def _classes() -> list:
    """Every class, in registration order (the preferences and properties before what uses them)."""
    from . import characters, operators, panels, preferences, properties

    return [cls for module in (preferences, properties, operators, panels, characters) for cls in module.CLASSES]


def register(commands: dict | None = None):
    """Classes, properties, the live-preview handler, and `commands` ({id: execute(argv) -> exit status}) for
    Blender's `-c`/`--command` option."""
    import bpy

    from . import properties, session

    for cls in _classes():
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
    import bpy

    from . import properties, session

    while _COMMANDS:
        bpy.utils.unregister_cli_command(_COMMANDS.pop())
    session.unregister()
    properties.unregister()
    for cls in reversed(_classes()):
        bpy.utils.unregister_class(cls)
