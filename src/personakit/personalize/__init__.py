"""Amazon Personalize resources: dataset groups, datasets, solutions, campaigns,
recommenders, event trackers and batch jobs, on one small base
(:mod:`~personakit.personalize.base`: create-or-adopt, names, scope;
:mod:`~personakit.personalize.teardown`: the teardown in dependency order).

Inside the package, imports point one way::

    teardown <- base <- serving <- campaign, recommender, events, batch <- solution
        <- dataset <- group; solution <- compare (several versions' metrics side by side)
"""
