"""The config edge: where names from the Hydra configs and the command line become objects.

``schema`` holds the structured configs and ``validate`` (a misspelt key fails at once
with its name), ``compose`` composes the config tree (``nasbench/conf/``) with Hydra, and
``parts`` (``make_parts``) looks every name up once, in its kind's registry, and builds
the space, strategy, evaluator, executor and budget of a search. Below this package code
passes objects. It may import every layer below it (one-shot, executors, run,
evaluators, training, networks, strategies, tables, data, core, ``search_spaces``), and
Hydra and OmegaConf.
"""
