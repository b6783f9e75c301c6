"""Benchmark tables shipped inside the package: what a cell scored, looked up rather than trained.

``nasbench201`` reads the NAS-Bench-201 table (``data/nb201.csv.gz``, written by
``scripts/build_nb201_table.py``; every one of its 15,625 cells, with its accuracies,
training cost and network size per data set) and names cells by string or NB201 index.
The evaluator over it is ``nasbench.evaluators.nasbench201``; the resolver reads cell
indices here. ``hardware`` reads HW-NAS-Bench's device costs of the same cells
(``data/hw_nb201.csv.gz``, written by ``scripts/build_hw_table.py``). It may import core
and ``search_spaces`` only.
"""
