"""``If-Match`` / ``If-None-Match`` values against a tag."""

from __future__ import annotations

import pytest

from serve_app.etags import matches

TAG = '"abc123"'


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, False),
        ("", False),
        ('"abc123"', True),
        ('W/"abc123"', True),
        ('"other", W/"abc123"', True),
        ("*", True),
        ('"other"', False),
        ("abc123", False),
    ],
)
def test_a_header_names_the_tag(header: str | None, expected: bool) -> None:
    assert matches(header, TAG) is expected
