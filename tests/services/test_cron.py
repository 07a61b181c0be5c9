"""Schedules are checked without croniter when their form is plain; croniter must agree."""

from __future__ import annotations

import itertools
import subprocess
import sys

from croniter import croniter
from hypothesis import given
from hypothesis import strategies as st

from keelbase.services.cron import MACROS, _plainly_valid, check_expression

TOKENS = ["*", "", "-1", "1.5", "½", "٣", "1-5", "1,2", "*/", "*/x", "mon", "jan", "L", "?"]
TOKENS += [str(n) for n in range(0, 64)] + [f"*/{n}" for n in range(0, 64)] + ["00", "007"]


def _croniter_valid(fields: list[str]) -> bool:
    # croniter takes seconds last; Keelbase's sixth field comes first
    return croniter.is_valid(" ".join(fields if len(fields) == 5 else [*fields[1:], fields[0]]))


def test_every_plain_field_croniter_accepts_and_no_other() -> None:
    """Each field alone (the others ``*``): whatever the plain check accepts, croniter does."""
    for size in (5, 6):
        for position, token in itertools.product(range(size), TOKENS):
            fields = ["*"] * size
            fields[position] = token
            if _plainly_valid(fields):
                assert _croniter_valid(fields), fields
    for schedule, plain in (("0 * * * *", True), ("*/10 * * * * *", True),
                            ("60 * * * *", False), ("* * 0 * *", False)):  # fmt: skip
        assert _plainly_valid(schedule.split(" ")) is plain


@given(st.lists(st.sampled_from(TOKENS), min_size=5, max_size=6))
def test_plain_schedules_are_valid_ones(fields: list[str]) -> None:
    if _plainly_valid(fields):
        assert _croniter_valid(fields), fields
    # either way the answer is croniter's when the plain check does not decide
    expected = "" if _croniter_valid(fields) else "invalid cron expression"
    if "" not in fields:
        assert check_expression(" ".join(fields)) == expected


def test_the_macros_and_anything_else_still_checked() -> None:
    assert all(_plainly_valid(five.split(" ")) for five in MACROS.values())
    assert check_expression("0 9 * * mon-fri") == ""  # not plain: croniter decides
    assert check_expression("0 9 * * nope") == "invalid cron expression"
    assert check_expression("* * *").startswith("Invalid cron expression")


def test_plain_schedules_are_added_without_croniter_and_run_with_it() -> None:
    script = """
import sys
from datetime import UTC, datetime
from keelbase.services.cron import CronService
crons = CronService(store=None)
crons.add("hourly", "0 * * * *", lambda: None)
crons.add("often", "*/10 * * * * *", lambda: None)
print("croniter" in sys.modules)
print(crons.jobs["hourly"].due(datetime(2026, 1, 1, 5, 0, 0, tzinfo=UTC)))
print(crons.jobs["often"].due(datetime(2026, 1, 1, 5, 0, 7, tzinfo=UTC)))
print("croniter" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stdout.split() == ["False", "True", "False", "True"], done.stderr
