"""The chat UI: :func:`serve` runs it, :func:`build_app` makes the Gradio app (for embedding).

The renderer (:mod:`qa.ui.render`) and the app (:mod:`qa.ui.app`) are apart so the HTML is
tested without a browser or Gradio.
"""

from qa.ui.app import build_app, serve

__all__ = ["build_app", "serve"]
