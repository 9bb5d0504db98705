"""The one way every command reads a time (`--since`, `--until`, `--at`), so they all take the same forms.

A time is a date or datetime (UTC unless it carries an offset), an age back from now (`7d`), or a word
people type (`today`, `last week`). Calendar words mean the start of that day, week (ISO, Monday) or
month in UTC, so `--since yesterday --until today` is exactly yesterday.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import typer

from modelmeter.cli import exits

FORMS = (
    "a date (2026-11-01), a datetime (2026-11-01T09:00, UTC unless it has an offset such as +01:00 or Z), "
    "an age (30m, 24h, 7d, 2w), or now, today, yesterday, this week, last week, this month, last month"
)
_AGE = re.compile(r"(\d+)\s*(m|min|h|d|w)")
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def _midnight(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _week(now: datetime) -> datetime:
    day = _midnight(now)
    return day - timedelta(days=day.weekday())


def _month(now: datetime) -> datetime:
    return _midnight(now).replace(day=1)


_WORDS: dict[str, Callable[[datetime], datetime]] = {
    "now": lambda now: now,
    "today": _midnight,
    "yesterday": lambda now: _midnight(now) - timedelta(days=1),
    "this week": _week,
    "last week": lambda now: _week(now) - timedelta(days=7),
    "this month": _month,
    "last month": lambda now: (_month(now) - timedelta(days=1)).replace(day=1),
}


def parse_time(text: str, now: datetime) -> datetime:
    """A timezone-aware UTC datetime from what a user typed; ValueError naming the accepted forms."""
    cleaned = " ".join(text.strip().lower().split())
    if cleaned in _WORDS:
        return _WORDS[cleaned](now)
    if age := _AGE.fullmatch(cleaned):
        return now - timedelta(**{_UNITS[age.group(2)]: int(age.group(1))})
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a time: use {FORMS}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_option(text: str) -> datetime:
    """`parser=` for typer options: a bad time is a usage error naming the option and the forms."""
    try:
        return parse_time(text, datetime.now(UTC))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def check_period(
    command: str, since: datetime | None, until: datetime | None, until_name: str = "--until"
) -> None:
    """Refuse a period that ends before it starts (a `--since` after the `--until`)."""
    if since is not None and until is not None and since >= until:
        raise exits.usage(
            command,
            f"the period is reversed: --since {since:%Y-%m-%d %H:%M} UTC is not before "
            f"{until_name} {until:%Y-%m-%d %H:%M} UTC",
        )
