"""Parameter and label limits, and the terminal's escaping."""

from __future__ import annotations

import pytest

from jobprobe.commands import terminal
from jobprobe.tasks import errors, input_limits, submission


def test_nesting_is_checked_without_recursion() -> None:
    deep: list[object] = []
    node = deep
    for _ in range(100_000):  # far past Python's recursion limit
        child: list[object] = []
        node.append(child)
        node = child
    with pytest.raises(errors.SubmitError, match="nested deeper than 32"):
        submission.validate_params({"x": deep})


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {"a": [1, float("-inf")]}])
def test_only_finite_numbers(value: object) -> None:
    with pytest.raises(errors.SubmitError, match="finite"):
        submission.validate_params({"x": value})


def test_sizes_leave_the_environment_startable() -> None:
    submission.validate_params({"ok": "x" * 30_000, "n": 3})
    with pytest.raises(errors.SubmitError, match="one parameter"):
        submission.validate_params({"x": "x" * (input_limits.MAX_PARAM_BYTES + 1)})
    with pytest.raises(errors.SubmitError, match="together"):
        submission.validate_params({f"p{i}": "y" * 30_000 for i in range(3)})
    with pytest.raises(errors.SubmitError, match="NUL"):
        submission.validate_params({"x": "a\x00b"})


@pytest.mark.parametrize("value", ["a\nb", "\x1b[2J", "a\u202eb", "tab\there", "\x7f"])
def test_labels_hold_no_control_characters(value: str) -> None:
    with pytest.raises(errors.SubmitError, match="control character"):
        submission.validate_labels({"user": value})
    assert submission.validate_labels({"user": "ana-ü ✓"}) == {"user": "ana-ü ✓"}


def test_the_terminal_sees_control_characters_escaped() -> None:
    assert terminal.escape("a\nb\x1b[2J\x07\u202e ü") == "a\\nb\\x1b[2J\\x07\\u202e ü"
    assert terminal.escape_lines("row 1\nrow\x1b 2") == "row 1\nrow\\x1b 2"
