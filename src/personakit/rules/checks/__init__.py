"""The checks :func:`~personakit.rules.validate.validate` runs, one module per kind.

Part of :mod:`personakit.rules` (pure, no I/O):

* :mod:`~personakit.rules.checks.columns`: Arrow columns read as numpy, ids encoded once;
* :mod:`~personakit.rules.checks.run`: one dataset (:class:`~personakit.rules.checks.run.Data`)
  and what one call has found (:class:`~personakit.rules.checks.run.Run`);
* :mod:`~personakit.rules.checks.fields`: the checks of one column at a time;
* :mod:`~personakit.rules.checks.datasets`: the checks of a whole dataset.
"""
