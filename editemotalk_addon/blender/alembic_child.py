"""The Alembic export, run in a child Blender: the Alembic library aborts its whole process on a write error (a
full disk), so it must never run inside the bake or a batch worker.

    python alembic_child.py -- BAKE_PID scene.blend OBJECT target.abc '{"start": 1, ...}'
    blender -b --factory-startup --python alembic_child.py -- BAKE_PID scene.blend OBJECT target.abc '{...}'

Imports bpy and, by its path, the add-on's core/processes.py (standard library only): it runs on the bpy module
and in a real Blender without the add-on enabled.
"""

import json
import os
import sys

if __name__ == "__main__":  # first of all, before bpy loads (seconds): the child of a bake ends with it
    sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "core"))
    from processes import die_with_parent

    die_with_parent(int(sys.argv[sys.argv.index("--") + 1]))  # the kernel's signal (Linux), or a watching thread

import bpy  # noqa: E402


def select_only(obj) -> None:
    layer = bpy.context.view_layer
    layer.update()  # a freshly built object is in the view layer only once it is synced
    for o in layer.objects:
        o.select_set(o == obj)
    layer.objects.active = obj


if __name__ == "__main__":
    _bake, blend, name, target, options = sys.argv[sys.argv.index("--") + 1 :]
    bpy.ops.wm.open_mainfile(filepath=blend, load_ui=False)
    select_only(bpy.data.objects[name])
    bpy.ops.wm.alembic_export(filepath=target, **json.loads(options))
