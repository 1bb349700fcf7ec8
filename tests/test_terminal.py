"""Progress as a terminal shows it: one line updated in place on a terminal, a line per tenth in a log."""

import io
import os

from editemotalk_addon.core.terminal import Progress


def test_in_a_log_a_line_per_tenth_and_the_last():
    log = io.StringIO()
    progress = Progress("preview", 97, "frames", stream=log)
    for done in range(1, 98):
        progress.update(done)
    lines = log.getvalue().splitlines()
    assert len(lines) == 10 and lines[-1] == "preview: 97/97 frames" and "\r" not in log.getvalue()
    assert [int(line.split()[1].split("/")[0]) * 10 // 97 for line in lines] == list(range(1, 11))


def test_in_a_log_a_short_run_shows_every_step_and_a_head_start_counts():
    log = io.StringIO()
    progress = Progress("batch", 5, "jobs", stream=log)
    progress.update(3)  # up to date and refused jobs, counted at once
    progress.advance(), progress.advance()
    assert log.getvalue().splitlines() == ["batch: 3/5 jobs", "batch: 4/5 jobs", "batch: 5/5 jobs"]


def test_on_a_terminal_one_line_updated_in_place():
    main, child = os.openpty()
    with open(child, "w") as tty:
        progress = Progress("preview", 5, "frames", stream=tty)
        for done in range(1, 6):
            progress.update(done)
    shown = os.read(main, 4096).decode()
    os.close(main)
    assert shown.count("\r") - shown.count("\r\n") == 5 and shown.count("\n") == 1  # the terminal ends it with \r\n
    assert shown.rstrip("\r\n").split("\r")[1:] == [f"preview: {d}/5 frames" for d in range(1, 6)]


def test_disabled_or_empty_shows_nothing():
    log = io.StringIO()
    Progress("batch", 4, "jobs", enabled=False, stream=log).update(4)
    Progress("batch", 0, "jobs", stream=log).update(0)
    assert log.getvalue() == ""
