"""`python -m editemotalk_addon bake|batch ...` on the bpy module (see cli.py)."""

from .cli import command

command()
