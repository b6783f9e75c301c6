"""Training networks: the proxy trainer of a search (``trainer``), the full-scale trainer
(``plan``, ``recipe``, ``loop``, ``checkpoint``, ``ray_launcher``; ``python -m
nasbench.train`` is ``nasbench.cli.train``) and fine-tuning (``finetune``). Both trainers
extend one config (``base_config``) and run one SGD step and epoch (``steps``);
augmentation, schedules, metrics and freezing are shared modules too. The package may
import networks (what a SOURCE names, ``nasbench.networks``), data, core and
``search_spaces``; the evaluators and commands above use it.
"""
from nasbench.train.metrics import count_macs, count_params, evaluate_accuracy, measure_latency
from nasbench.train.trainer import ProgressCallback, ProxyTrainer, TrainerConfig, evaluate_test

__all__ = ["ProgressCallback", "ProxyTrainer", "TrainerConfig", "count_macs", "count_params",
           "evaluate_accuracy", "evaluate_test", "measure_latency"]
