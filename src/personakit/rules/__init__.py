"""The rules of Amazon Personalize as pure code: no boto3, no network, no I/O but what is asked.

* :mod:`~personakit.rules.facts`: every Personalize fact personakit relies on (recipes,
  domain use cases, limits, tag keys, type maps), each written once next to its AWS
  documentation URL;
* :mod:`~personakit.rules.report`: problems and the :class:`DataReport` that lists them;
* :mod:`~personakit.rules.arrow` and :mod:`~personakit.rules.names`: frames as Arrow
  tables, field names;
* :mod:`~personakit.rules.schema`: Avro schemas and the reserved fields, inferred from
  frames and checked;
* :mod:`~personakit.rules.validate`: every rule checked at once (a :class:`DataReport`),
  with the checks themselves in :mod:`~personakit.rules.checks`;
* :mod:`~personakit.rules.prep`: helpers that put frames into Personalize's shape;
* :mod:`~personakit.rules.filters`: filters, on the expression grammar
  (:mod:`~personakit.rules.filter_grammar`) and the ``filterValues`` encoding
  (:mod:`~personakit.rules.filter_values`);
* :mod:`~personakit.rules.writer`: the CSV a dataset import job accepts.
* :mod:`~personakit.rules.display` and :mod:`~personakit.rules.plots`: how result
  objects show themselves (text, HTML, and matplotlib pictures, drawn only when asked).

Every other package of personakit (``aws``, ``personalize``, ``llm``, ``cost``,
``local``) imports from here; nothing here imports from them.
"""
