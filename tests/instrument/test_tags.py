"""Tags nest, follow tasks and copied contexts, and take process-wide defaults (instrument/tags.py)."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import modelmeter
from modelmeter import semconv as sc
from modelmeter.instrument import tags


def test_tags_nest_inner_overrides_and_outer_comes_back() -> None:
    with modelmeter.tag(workflow="outer", team="core"):
        with modelmeter.tag(workflow="inner", customer="c1"):
            assert dict(tags.current_tags()) == {"workflow": "inner", "team": "core", "customer": "c1"}
        assert dict(tags.current_tags()) == {"workflow": "outer", "team": "core"}
    assert tags.attribute_name("workflow") == sc.MM_WORKFLOW
    assert tags.attribute_name("customer") == sc.MM_TAG_PREFIX + "customer"


async def test_tag_decorates_async_functions_and_tasks_inherit() -> None:
    @modelmeter.tag(workflow="async-job")
    async def job() -> dict[str, str]:
        child = asyncio.create_task(asyncio.sleep(0, result=dict(tags.current_tags())))
        return await child

    assert (await job())["workflow"] == "async-job"
    assert "workflow" not in tags.current_tags() or tags.current_tags()["workflow"] != "async-job"


def test_plain_threads_do_not_inherit_tags_but_a_copied_context_does() -> None:
    seen: dict[str, object] = {}

    @modelmeter.tag(workflow="sync-job")
    def job() -> None:
        thread = threading.Thread(target=lambda: seen.setdefault("thread", dict(tags.current_tags())))
        thread.start()
        thread.join()
        with ThreadPoolExecutor(1) as pool:
            seen["pool"] = pool.submit(
                contextvars.copy_context().run, lambda: dict(tags.current_tags())
            ).result()

    job()
    assert seen["thread"].get("workflow") != "sync-job"  # type: ignore[attr-defined]
    assert seen["pool"]["workflow"] == "sync-job"  # type: ignore[index]


def test_environment_gives_process_wide_default_tags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELMETER_WORKFLOW", "batch")
    monkeypatch.setenv("MODELMETER_TEAM", "data")
    try:
        tags.load_defaults()
        with modelmeter.tag(team="ml"):
            assert dict(tags.current_tags()) == {"workflow": "batch", "team": "ml"}
    finally:
        monkeypatch.delenv("MODELMETER_WORKFLOW")
        monkeypatch.delenv("MODELMETER_TEAM")
        tags.load_defaults()
