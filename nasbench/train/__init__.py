"""Training networks: the proxy trainer of a search (``trainer``) and the full-scale trainer
(``python -m nasbench.train``: ``cli``, ``plan``, ``recipe``, ``loop``, ``checkpoint``,
``ray_launcher``). Both extend one config (``base_config``) and run one SGD step and epoch
(``steps``); augmentation, schedules, metrics and freezing are shared modules too."""
from nasbench.train.metrics import count_macs, count_params, evaluate_accuracy, measure_latency
from nasbench.train.trainer import ProgressCallback, ProxyTrainer, TrainerConfig, evaluate_test

__all__ = ["ProgressCallback", "ProxyTrainer", "TrainerConfig", "count_macs", "count_params",
           "evaluate_accuracy", "evaluate_test", "measure_latency"]
