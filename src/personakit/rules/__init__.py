"""The rules of Amazon Personalize as pure code: no boto3, no network, no I/O but what is asked.

* :mod:`~personakit.rules.facts`: every Personalize fact personakit relies on (recipes,
  domain use cases, limits, tag keys, type maps), each written once next to its AWS
  documentation URL;
* :mod:`~personakit.rules.schema`: Avro schemas, inferred from frames and checked;
* :mod:`~personakit.rules.validate`: every rule checked at once (a :class:`DataReport`);
* :mod:`~personakit.rules.prep`: helpers that put frames into Personalize's shape;
* :mod:`~personakit.rules.filters`: the filter expression grammar;
* :mod:`~personakit.rules.writer`: the CSV a dataset import job accepts.

Everything above this layer (``aws``, ``personalize``, ``llm``, ``cost``, ``local``)
imports from here; nothing here imports from above.
"""
