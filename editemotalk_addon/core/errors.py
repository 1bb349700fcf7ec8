"""The one error type the user sees: a single line naming what is wrong and the fix.

The core raises it (bad audio, captures, curves, values, manifests), so does the Blender layer (a bad mesh, a file
that cannot be written). Each boundary maps it once: an operator reports it in the status bar
(blender/operators.reporting), the command line prints it and exits (cli.main), a batch lists it per job.

The exit-status rule, everywhere: 2 when the user's input is wrong (InputError: a value, an audio file, a capture,
a curves file, a mesh or a manifest line - fix the input, then run again), 1 when the run failed (any other
UserError: a full disk, a failing exporter, a dead worker, a busy lock, an unusable model - the same input may
succeed on a retry or another machine).
"""

INPUT_STATUS = 2  # the user's input is wrong
RUN_STATUS = 1  # the run failed


class UserError(Exception):
    """One line: what is wrong, and how to fix it."""

    status = RUN_STATUS


class InputError(UserError, ValueError):
    """A value, file or manifest the user gave is wrong (exit status 2); a ValueError for the Python API."""

    status = INPUT_STATUS
