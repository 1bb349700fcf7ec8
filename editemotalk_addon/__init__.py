"""EditEmoTalk: speech-driven ARKit facial animation with continuous emotion editing. Registration only.

The package itself is bpy-free: core/ runs anywhere numpy does (the research side and the command line import
it); the Blender layer (blender/) and Blender's own command line (`blender -c editemotalk bake|batch ...`) are
set up only when Blender registers the add-on.
"""


def register():
    import functools

    from . import blender, cli

    blender.register(commands={"editemotalk": functools.partial(cli.command, prog="blender -c editemotalk")})


def unregister():
    from . import blender

    blender.unregister()
