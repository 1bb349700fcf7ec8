"""`python -m editemotalk_addon bake|batch ...` on the bpy module (see cli.py)."""

import sys

from .cli import main

sys.exit(main())
