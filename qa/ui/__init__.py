"""The chat UI: :func:`serve` runs it, :func:`build_app` makes the Gradio app (for embedding).

The renderer (:mod:`qa.ui.render`) and the app (:mod:`qa.ui.app`) are apart so the HTML is
tested without a browser or Gradio; who may log in is :mod:`qa.ui.access`. The app (and the
pipeline behind it) is imported on first use, so the command line reads ``qa.ui.access``
without loading the models' libraries.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_app", "serve"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from qa.ui import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
