"""Training candidates: the proxy trainer, its augmentation, schedules and metrics."""
from nasbench.train.metrics import count_macs, count_params, evaluate_accuracy, measure_latency
from nasbench.train.trainer import ProgressCallback, ProxyTrainer, TrainerConfig, evaluate_test

__all__ = ["ProgressCallback", "ProxyTrainer", "TrainerConfig", "count_macs", "count_params",
           "evaluate_accuracy", "evaluate_test", "measure_latency"]
