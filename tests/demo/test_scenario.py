"""The demo week as planned (pure: no sockets): the timeline, the simulated clock and the incident cuts."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from modelmeter.demo.clock import SimulatedClock, epoch_ns
from modelmeter.demo.runner import _segments
from modelmeter.demo.scenario import INCIDENTS, WORKFLOWS, Week, plan_week

# A Saturday mid-morning: the week then starts on a Saturday and has five full weekdays.
END = datetime(2026, 11, 28, 10, 26, 41, tzinfo=UTC)


def test_the_planned_week_covers_seven_days_in_time_order_and_is_the_same_every_time() -> None:
    week = Week.ending(END)
    timeline = plan_week(week)
    assert [call.at for call in timeline] == sorted(call.at for call in timeline)
    assert all(week.start <= call.at < week.end for call in timeline)
    assert timeline[-1].at - timeline[0].at > timedelta(days=6)
    assert timeline == plan_week(week)


def test_the_company_uses_four_tiers_four_providers_and_both_gateways() -> None:
    timeline = plan_week(Week.ending(END))
    assert len({call.workflow.name for call in timeline}) >= 5
    assert {call.workflow.tier for call in timeline} == {"frontier", "standard", "economy", "media"}
    assert {"openai", "anthropic", "gemini", "mistral"} <= {call.target.vendor for call in timeline}
    assert {"vercel", "openrouter"} <= {call.target.vendor for call in timeline}


def test_one_workflow_moves_from_direct_keys_to_the_gateway_mid_week_and_never_back() -> None:
    week = Week.ending(END)
    timeline = plan_week(week)
    moved = [w for w in WORKFLOWS if w.migrated_to is not None]
    assert len(moved) == 1
    routes = [call.target.route for call in timeline if call.workflow is moved[0]]
    switch = routes.index("gateway")
    assert switch > 0 and set(routes[:switch]) == {"direct"} and set(routes[switch:]) == {"gateway"}


def test_weekdays_carry_more_traffic_than_weekend_days() -> None:
    timeline = plan_week(Week.ending(END))
    per_day: dict[int, int] = {}
    for call in timeline:
        per_day[call.at.date().toordinal()] = per_day.get(call.at.date().toordinal(), 0) + 1
    saturday, monday = datetime(2026, 11, 22, tzinfo=UTC).date(), datetime(2026, 11, 23, tzinfo=UTC).date()
    assert per_day[monday.toordinal()] > 3 * per_day[saturday.toordinal()]


def test_segments_cut_the_timeline_at_midnight_and_exactly_at_incident_boundaries() -> None:
    week = Week.ending(END)
    timeline = plan_week(week)
    segments = list(_segments(week, timeline))
    assert [index for segment, _ in segments for index, _call in segment] == list(range(len(timeline)))
    assert all(len({call.at.date() for _, call in segment}) == 1 for segment, _ in segments)
    for incident in INCIDENTS:
        start, end = week.incident_window(incident)
        inside = [s for s, active in segments if incident in active]
        assert inside, f"no planned call falls inside {incident.title}"
        assert all(start <= call.at < end for segment in inside for _, call in segment)
        outside = [s for s, active in segments if incident not in active]
        assert not any(start <= call.at < end for segment in outside for _, call in segment)


def test_the_simulated_clock_starts_each_call_at_its_moment_and_lets_real_time_run() -> None:
    real = iter(range(1_000, 10_000, 250))
    clock = SimulatedClock(real_now_ns=lambda: next(real))
    moment = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    with clock.at(moment):
        first, second = clock.now_ns(), clock.now_ns()
    assert (first, second) == (epoch_ns(moment) + 250, epoch_ns(moment) + 500)
    assert clock.now_ns() == 1_750  # outside a call: real time again


def test_each_thread_sees_its_own_calls_moment() -> None:
    clock = SimulatedClock()
    seen: dict[str, int] = {}
    ready = threading.Barrier(2)

    def worker(name: str, moment: datetime) -> None:
        with clock.at(moment):
            ready.wait()
            seen[name] = clock.now_ns()

    monday, friday = datetime(2026, 11, 23, 9, tzinfo=UTC), datetime(2026, 11, 27, 17, tzinfo=UTC)
    threads = [threading.Thread(target=worker, args=args) for args in (("mon", monday), ("fri", friday))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert epoch_ns(monday) <= seen["mon"] < epoch_ns(monday) + 10**9 * 5
    assert epoch_ns(friday) <= seen["fri"] < epoch_ns(friday) + 10**9 * 5
