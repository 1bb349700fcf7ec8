"""The one error type the user sees: a single line naming what is wrong and the fix.

The core raises it (bad audio, weights, values, manifests), so does the Blender layer (no target, nothing to
bake, a file that cannot be written). Each boundary maps it once: an operator reports it in the status bar
(blender/operators.reporting), the command line prints it and exits (cli.main: status 2 for InputError, the
user's input is wrong; 1 for the rest, the run failed).
"""


class UserError(Exception):
    """One line: what is wrong, and how to fix it."""


class InputError(UserError, ValueError):
    """A value, file or manifest the user gave is wrong (exit status 2); a ValueError for the Python API."""
