"""Loaded at interpreter start by `modelmeter run` (this folder is put first on PYTHONPATH).

It instruments the program with the options `modelmeter run` passed in MODELMETER_* variables,
then hands over to any other `sitecustomize` the environment had, so that one still runs.
Nothing here may stop the program: every failure is only logged.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys


def _instrument() -> None:
    try:
        import modelmeter

        modelmeter.instrument()
    except Exception:
        logging.getLogger("modelmeter").warning("modelmeter run: could not instrument", exc_info=True)


def _chain_next_sitecustomize() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    saved_path = list(sys.path)
    this = sys.modules.pop("sitecustomize", None)
    try:
        sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
        importlib.import_module("sitecustomize")
    except ImportError:
        pass
    except Exception:
        logging.getLogger("modelmeter").warning(
            "modelmeter run: the next sitecustomize failed", exc_info=True
        )
    finally:
        sys.path[:] = saved_path
        if this is not None:
            sys.modules["sitecustomize"] = this


_instrument()
_chain_next_sitecustomize()
