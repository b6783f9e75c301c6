"""Evaluators: a candidate in, an ``EvalResult`` out (see ``base.Evaluator``).

``EVALUATORS`` is the one registry of evaluators: a name maps to a class with a config
schema (``Config``) and ``from_config(settings, context)``. Adding an evaluator is one
module here, one line below and one YAML file in ``nasbench/conf/evaluator/``.
``proxy`` trains a small network (``nasbench.train``), ``nasbench201`` looks the cell up
in the table (``nasbench.tables``). The package may import training, networks,
strategies, tables, data, core and ``search_spaces``; never the run loop or the
executors that call it.
"""
from __future__ import annotations

from typing import Any

from nasbench.evaluators.base import Evaluator, EvaluatorContext
from nasbench.evaluators.nasbench201 import NasBench201Evaluator
from nasbench.evaluators.proxy import ProxyEvaluator
from search_spaces.registry import Registry

EVALUATORS: Registry[Any] = Registry("evaluator", [
    ("proxy", ProxyEvaluator),
    ("nasbench201", NasBench201Evaluator),
])

__all__ = ["EVALUATORS", "Evaluator", "EvaluatorContext", "NasBench201Evaluator", "ProxyEvaluator"]
