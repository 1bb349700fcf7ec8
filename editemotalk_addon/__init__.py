"""EditEmoTalk: speech-driven ARKit facial animation with continuous emotion editing. Registration only.

The package itself is bpy-free: core/ runs anywhere numpy does (the research side and the command line import
it); the Blender layer (blender/) and Blender's own command line (`blender -c editemotalk bake|batch ...`) are
set up only when Blender registers the add-on.
"""

_CLI_COMMAND = []  # the handle Blender gave for `blender -c editemotalk`


def register():
    import bpy

    from . import blender, cli

    blender.register()
    _CLI_COMMAND.append(bpy.utils.register_cli_command("editemotalk", cli.main))


def unregister():
    import bpy

    from . import blender

    while _CLI_COMMAND:
        bpy.utils.unregister_cli_command(_CLI_COMMAND.pop())
    blender.unregister()
