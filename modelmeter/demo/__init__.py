"""demo/: a realistic week of AI traffic, replayed through the real SDKs, shim, ingest and reports.

`scenario` is the company as data, `app` is its application code, `clock` places calls on the
simulated week, `runner` plays it all against the mock providers, and `parts` gathers the stages
it assembles (failing by name when one is missing).
"""

from __future__ import annotations

from modelmeter.demo.parts import DemoError
from modelmeter.demo.runner import DemoResult, run_demo

__all__ = ["DemoError", "DemoResult", "run_demo"]
