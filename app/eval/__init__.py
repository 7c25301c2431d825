"""longvid.app.eval — evaluations, benchmarks and the synthetic media they are built from.

Nothing in the product imports this package (a test walks the imports to keep it so); it adds the
``longvid eval`` subcommands through the ``longvid.commands`` entry point, and its extra dependencies come
with ``pip install -e ".[eval]"``. What each module measures:

* :mod:`~longvid.app.eval.synth` — videos with known cuts and numbered frames; text slides; the demo recipe;
* :mod:`~longvid.app.eval.haystack`, :mod:`~longvid.app.eval.niah`, :mod:`~longvid.app.eval.heatmap` —
  the needle-in-a-video-haystack evaluation;
* :mod:`~longvid.app.eval.mc` — Video-MME / MLVU style multiple-choice accuracy through ``ask``;
* :mod:`~longvid.app.eval.plans` — how the question planner reads labelled questions (nothing indexed);
* :mod:`~longvid.app.eval.benchmarks` — scripts whose figures go in the README.

A command that needs the extra says so in one line before any work starts::

    >>> require_extra("longvid eval niah", ["json"])  # present: nothing to say
    >>> require_extra("longvid eval niah", ["no_such_module_x"])
    Traceback (most recent call last):
    ...
    longvid.app.eval.MissingExtraError: longvid eval niah needs no_such_module_x: pip install -e ".[eval]"
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence

from longvid.ingest.errors import LongvidError

# Import names of the ``eval`` extra, with the distribution that provides each.
EXTRA_MODULES = {"skimage": "scikit-image", "psutil": "psutil"}


class MissingExtraError(LongvidError):
    """An evaluation needs a package of the ``eval`` extra that is not installed."""


def require_extra(what: str, modules: Sequence[str] = tuple(EXTRA_MODULES)) -> None:
    """Raise :class:`MissingExtraError` naming the install command when any of ``modules`` is missing."""
    missing = [EXTRA_MODULES.get(m, m) for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingExtraError(f'{what} needs {", ".join(missing)}: pip install -e ".[eval]"')
