"""The proxy evaluator: a candidate's metrics depend on its seed alone."""
import torch

from nasbench.evaluators.proxy import ProxyEvaluator
from search_spaces.published import point
from search_spaces.spaces import make_space

SKELETON = {"cells_per_stage": 1, "filters": 8, "aux_head": False}
TRAINER = {"epochs": 1, "batch_size": 64, "lr": 0.1, "crop_padding": 1, "flip": False, "measure_latency": False}


def test_same_seed_same_metrics_whatever_the_global_rng():
    evaluator = ProxyEvaluator(make_space("darts"), SKELETON, {"name": "digits"}, TRAINER)
    torch.manual_seed(1)
    first = evaluator.evaluate(point("darts_v2"), seed=5)
    torch.manual_seed(2)
    second = evaluator.evaluate(point("darts_v2"), seed=5)
    assert first.status == "ok" and first.val_curve == second.val_curve and first.train_loss == second.train_loss
    assert first.settings["space"] == "darts" and first.macs > 0


def test_an_unbuildable_candidate_is_an_error_result():
    evaluator = ProxyEvaluator(make_space("darts"), SKELETON, {"name": "digits"}, TRAINER)
    result = evaluator.evaluate({"normal": "nonsense"}, seed=0)
    assert result.status == "error" and result.message


def test_a_misspelt_skeleton_setting_is_an_error_result():
    evaluator = ProxyEvaluator(make_space("darts"), {"cels_per_stage": 1}, {"name": "digits"}, TRAINER)
    result = evaluator.evaluate(point("darts_v2"), seed=0)
    assert result.status == "error" and "skeleton.cels_per_stage" in result.message


def test_a_candidate_over_max_params_fails_untrained():
    evaluator = ProxyEvaluator(make_space("darts"), SKELETON, {"name": "digits"}, TRAINER, max_params=1000)
    result = evaluator.evaluate(point("darts_v2"), seed=0)
    assert result.status == "error" and "passes the limit of 1,000 parameters" in result.message
    assert result.epochs_run == 0 and not result.val_curve
