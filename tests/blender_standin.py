"""`blender` for the README's commands, on the bpy module (there is no Blender binary here): what Blender does with

    blender [-b] [--factory-startup] [FILE.blend] -P SCRIPT [-- ARGS]
    blender [-b] [--factory-startup] [FILE.blend] -c COMMAND ARGS...

Blender's startup reads the user's preferences, which enable their add-ons and extensions, then loads FILE.blend,
then runs the script or the command. Commands are what add-ons register with bpy.utils.register_cli_command (the
real one: Blender checks the id and the callable and keeps the handle); this stand-in records them on the way, as
Blender's registry does, and runs one the way Blender does (source/blender/python/intern/bpy_cli_command.cc): the
arguments after its id as a list, its int result (or SystemExit's code) as the exit status, 1 after an exception
or a result that is not an int, and a command registered twice refused.
"""

import runpy
import sys
import traceback

import bpy

COMMANDS: dict[str, list] = {}  # id -> [(handle, execute)], as registered and not yet unregistered
_register, _unregister = bpy.utils.register_cli_command, bpy.utils.unregister_cli_command


def register_cli_command(id, execute):
    handle = _register(id, execute)
    COMMANDS.setdefault(id, []).append((handle, execute))
    return handle


def unregister_cli_command(handle):
    _unregister(handle)
    for entries in COMMANDS.values():
        entries[:] = [(h, e) for h, e in entries if h is not handle]


def run_command(name: str, argv: list[str]) -> int:
    entries = COMMANDS.get(name, [])
    if not entries:
        print(f'Unrecognized command: "{name}"', file=sys.stderr)
        return 1
    if len(entries) > 1:
        print(f'Command: "{name}" was registered multiple times, must be resolved, aborting!', file=sys.stderr)
        return 1
    try:
        result = entries[0][1](argv)
    except SystemExit as exc:
        result = exc.code
    except Exception:
        traceback.print_exc()
        return 1
    if not isinstance(result, int):
        print(f"TypeError: Expected an int return value, not a {type(result).__name__}", file=sys.stderr)
        return 1
    return result


def main() -> None:
    import addon_utils  # on the path once bpy is imported

    bpy.utils.register_cli_command, bpy.utils.unregister_cli_command = register_cli_command, unregister_cli_command
    addon_utils.disable("bl_pkg")  # Blender's extension manager registered its `extension` command before this ran
    addon_utils.enable("bl_pkg")
    args = sys.argv[1:]
    command = args[args.index("-c") + 1 :] if "-c" in args else None
    options = args[: args.index("-c")] if command else args[: args.index("--")] if "--" in args else args
    if "--factory-startup" not in options:
        bpy.ops.wm.read_userpref()
    blend = [a for a in options if a.endswith(".blend")]
    if blend:
        bpy.ops.wm.open_mainfile(filepath=blend[0], load_ui=False)
    if command:
        sys.exit(run_command(command[0], command[1:]))
    runpy.run_path(options[options.index("-P") + 1], run_name="__main__")


if __name__ == "__main__":  # not when a process it spawns (multiprocessing) imports it as its main module
    main()
