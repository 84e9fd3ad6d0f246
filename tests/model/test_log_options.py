"""The time filter of a log read: sinceSeconds / sinceTime as the server and agent parse them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orchestrator.model.log_options import BOTH_SINCE, parse_rfc3339, since_options

EPOCH_18H = datetime(2026, 11, 28, 18, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-28T18:00:00Z", EPOCH_18H),
    ("2026-11-28T18:00:00.5Z", EPOCH_18H + 0.5),
    ("2026-11-28T18:00:00.123456789Z", EPOCH_18H + 0.123456),  # nanoseconds: cut to microseconds
    ("2026-11-28T19:30:00+01:30", EPOCH_18H),
    ("2026-11-28t18:00:00z", EPOCH_18H),
])
def test_rfc3339_times(text: str, expected: float) -> None:
    assert parse_rfc3339(text) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("text", ["2026-11-28", "2026-11-28T18:00:00", "2026-11-28 18:00:00Z", "yesterday",
                                  "2026-13-28T18:00:00Z", "2026-11-28T18:00Z", "1795888800"])
def test_not_rfc3339(text: str) -> None:
    with pytest.raises(ValueError, match="not an RFC 3339 time"):
        parse_rfc3339(text)


def test_since_options() -> None:
    assert since_options({}) == (None, None)
    assert since_options({"sinceSeconds": "30"}) == (30, None)
    assert since_options({"sinceTime": "2026-11-28T18:00:00Z"}) == (None, EPOCH_18H)
    with pytest.raises(ValueError, match="^" + BOTH_SINCE + "$"):
        since_options({"sinceSeconds": "30", "sinceTime": "2026-11-28T18:00:00Z"})
    for junk in ("0", "-5", "1.5", "abc", "²", " 5"):
        with pytest.raises(ValueError, match="sinceSeconds=.* must be a positive integer"):
            since_options({"sinceSeconds": junk})
    with pytest.raises(ValueError, match="^sinceTime: 'soon' is not an RFC 3339 time"):
        since_options({"sinceTime": "soon"})
