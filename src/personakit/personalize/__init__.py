"""Amazon Personalize resources: dataset groups, datasets, solutions, campaigns,
recommenders, event trackers and batch jobs, on one small base
(:mod:`~personakit.personalize.base`: create-or-adopt, wait, tag, teardown).

Inside the package, imports point one way::

    base <- campaign <- recommender, events, batch <- solution <- dataset <- group
"""
