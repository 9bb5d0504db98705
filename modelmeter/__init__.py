"""modelmeter: measure what your AI calls really do: cost, latency, failures, routes.

The public API is what `__all__` lists; everything else is private and may change.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from modelmeter.instrument import flush, instrument, tag, uninstrument

try:
    __version__ = version("modelmeter")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__", "flush", "instrument", "tag", "uninstrument"]
