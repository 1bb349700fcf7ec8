"""The Alembic export, run in a child Blender: the Alembic library aborts its whole process on a write error (a
full disk), so it must never run inside the bake or a batch worker.

    python alembic_child.py -- scene.blend OBJECT target.abc '{"start": 1, ...}'
    blender -b --factory-startup --python alembic_child.py -- scene.blend OBJECT target.abc '{...}'

Imports bpy alone: it runs on the bpy module and in a real Blender without the add-on.
"""

import json
import sys

import bpy


def select_only(obj) -> None:
    layer = bpy.context.view_layer
    layer.update()  # a freshly built object is in the view layer only once it is synced
    for o in layer.objects:
        o.select_set(o == obj)
    layer.objects.active = obj


if __name__ == "__main__":
    blend, name, target, options = sys.argv[sys.argv.index("--") + 1 :]
    bpy.ops.wm.open_mainfile(filepath=blend, load_ui=False)
    select_only(bpy.data.objects[name])
    known = bpy.ops.wm.alembic_export.get_rna_type().properties.keys()  # 5.0 dropped visible_objects_only
    bpy.ops.wm.alembic_export(filepath=target, **{k: v for k, v in json.loads(options).items() if k in known})
