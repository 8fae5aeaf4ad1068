"""Deprecated: renamed :mod:`personakit.samples` (it no longer reads like ``dataset``).

``import personakit.datasets`` and ``pk.datasets`` keep working for one release and
warn; use ``pk.samples`` (or ``import personakit.samples``) instead.
"""

from __future__ import annotations

import warnings

from personakit.samples import *  # noqa: F403
from personakit.samples import __all__ as __all__

warnings.warn(
    "personakit.datasets is now personakit.samples; the old name goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)
