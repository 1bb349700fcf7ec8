"""The Alembic export, run in a child Blender: the Alembic library aborts its whole process on a write error (a
full disk), so it must never run inside the bake or a batch worker.

    python alembic_child.py -- BAKE_PID scene.blend OBJECT target.abc '{"start": 1, ...}'
    blender -b --factory-startup --python alembic_child.py -- BAKE_PID scene.blend OBJECT target.abc '{...}'

Imports bpy alone: it runs on the bpy module and in a real Blender without the add-on enabled, and never edits the
import path. It ends without bpy's shutdown, which may never finish (a rig with a Python driver), once the archive
is written and closed.
"""

import json
import os
import shutil
import sys

if __name__ == "__main__" and sys.platform.startswith("linux"):  # before bpy loads: the child of a bake ends with it
    import ctypes
    import signal

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: the kernel ends it (kill -9 too)
    if os.getppid() != int(sys.argv[sys.argv.index("--") + 1]):  # the bake died before prctl took hold
        os._exit(1)

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
    known = bpy.ops.wm.alembic_export.get_rna_type().properties.keys()  # 5.0 dropped visible_objects_only
    bpy.ops.wm.alembic_export(filepath=target, **{k: v for k, v in json.loads(options).items() if k in known})
    shutil.rmtree(bpy.app.tempdir, ignore_errors=True)  # what Blender's shutdown would remove
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
