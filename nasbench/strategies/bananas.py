"""BANANAS: Bayesian optimisation with an ensemble of neural predictors.

White, Neiswanger & Savani, "BANANAS: Bayesian Optimization with Neural Architectures for
Neural Architecture Search", AAAI 2021, https://arxiv.org/abs/1910.11858 (Algorithm 1):
a few random points, then, each round, an ensemble of MLPs trained on the encodings of
every evaluated point predicts the candidates made by mutating the best points so far,
and an acquisition function (independent Thompson sampling, or UCB) picks one.
"""
from __future__ import annotations

import random
from typing import Any, Sequence

import torch

from nasbench.core.result import EvalResult
from nasbench.core.candidate import Candidate, candidate_seed, derive_seed
from nasbench.strategies.base import (StrategyError, check_state, fresh_sample, objective_problem, pop_pending,
                                      result_costs, result_fitness)
from nasbench.strategies.predictor import Weights, ensemble_forward, fit_ensemble, init_ensemble, kendall_tau
from search_spaces.spaces.base import Space

NAME = "bananas"
ACQUISITIONS = ("its", "ucb")
SETTINGS = ("initial_points", "ensemble_size", "hidden_width", "hidden_layers", "epochs", "refit_epochs",
            "learning_rate", "parents", "acquisition", "ucb_beta", "objectives")
PAREGO_RHO = 0.05  # the augmented Tchebycheff function's linear term (Knowles 2006)


class Bananas:
    """BANANAS (White et al., 2021) over any ``Space`` with ``features`` and ``neighbours``.

    The encoding is the space's (``space.features``: the path encoding for cell spaces).
    Candidates are every untried neighbour (``space.neighbours``) of the ``parents`` best
    points told so far. ``acquisition``: ``its`` draws one value per candidate from a
    normal with the ensemble's mean and standard deviation (independent Thompson
    sampling, the paper's choice); ``ucb`` scores mean + ``ucb_beta`` × std.

    NOTE: the paper's MLPs have 10 layers of width 20 and retrain from scratch each round
    for 200 epochs; to stay cheap on a CPU ours are ``hidden_layers`` × ``hidden_width``,
    trained ``epochs`` epochs once and then, as results arrive, warm-started for
    ``refit_epochs`` (incremental retraining), full-batch Adam on standardised accuracies.

    Two or more ``objectives`` (``val_acc`` maximised, costs such as ``edgegpu_latency``
    minimised): ParEGO's scalarisation (Knowles, "ParEGO: A Hybrid Algorithm With On-Line
    Landscape Approximation for Expensive Multiobjective Optimization Problems", IEEE TEVC
    2006). Each ask draws a weight vector from the simplex (seeded by the trial), scores
    every told point by the augmented Tchebycheff function of its normalised costs, and the
    predictor is refitted to those scores before the acquisition; held-out predictions are
    then not kept (each ask predicts another function).

    Asynchronous use: asks before ``initial_points`` results are random, as is any ask
    with fewer than two successes told or no untried candidate left; candidates in
    flight are never proposed again. Failures are not trained on. Each ask records the
    prediction of the point it proposes; when its result comes that pair is a held-out
    test of the predictor, and ``report`` gives their Kendall tau.
    """

    def __init__(self, space: Space, seed: int = 0, initial_points: int = 10, ensemble_size: int = 5,
                 hidden_width: int = 32, hidden_layers: int = 2, epochs: int = 100, refit_epochs: int = 10,
                 learning_rate: float = 0.01, parents: int = 10, acquisition: str = "its", ucb_beta: float = 1.0,
                 max_retries: int = 100, objectives: Sequence[str] = ("val_acc",)) -> None:
        for name, value in (("initial_points", initial_points), ("ensemble_size", ensemble_size),
                            ("hidden_width", hidden_width), ("hidden_layers", hidden_layers), ("epochs", epochs),
                            ("parents", parents)):
            if value < 1:
                raise StrategyError(f"{name}: {value} must be >= 1")
        if refit_epochs < 0 or max_retries < 0:
            raise StrategyError(f"refit_epochs and max_retries must be >= 0, got {refit_epochs} and {max_retries}")
        if not learning_rate > 0:
            raise StrategyError(f"learning_rate: {learning_rate} must be > 0")
        if acquisition not in ACQUISITIONS:
            raise StrategyError(f"acquisition: {acquisition!r} is not one of {', '.join(ACQUISITIONS)}")
        if objective_problem(objectives):
            raise StrategyError(objective_problem(objectives))
        if len(objectives) == 1 and objectives[0] != "val_acc":
            raise StrategyError(f"objectives: {list(objectives)!r}: one objective is val_acc")
        self.objectives = list(objectives)
        self.space = space
        self.seed = seed
        self.initial_points = initial_points
        self.ensemble_size = ensemble_size
        self.hidden_width = hidden_width
        self.hidden_layers = hidden_layers
        self.epochs = epochs
        self.refit_epochs = refit_epochs
        self.learning_rate = float(learning_rate)
        self.parents = parents
        self.acquisition = acquisition
        self.ucb_beta = float(ucb_beta)
        self.max_retries = max_retries
        self._next_trial = 0
        self._told: list[tuple[Any, str, float | None]] = []  # (point, key, fitness or None), in tell order
        self._costs: list[list[float] | None] = []  # with two or more objectives: each told point's costs
        self._proposed: set[str] = set()
        self._pending: dict[int, tuple[Any, str, float | None]] = {}  # trial -> (point, key, prediction)
        self._ensemble: Weights = {}  # the members' weights, stacked (``predictor.init_ensemble``)
        self._fitted_on = 0  # successes the ensemble was last trained on
        self._target_scale = (0.0, 1.0)  # (mean, std) of the accuracies it was trained on
        self._held_out: list[tuple[float, float]] = []  # (prediction at ask, accuracy told)
        # Derived from the points alone, so kept out of the state: recomputed alike on resume.
        self._neighbour_cache: dict[str, list[tuple[Any, str]]] = {}
        self._feature_cache: dict[str, list[float]] = {}

    def ask(self) -> Candidate:
        trial = self._next_trial
        rng = random.Random(derive_seed(self.seed, NAME, trial))
        many = len(self.objectives) > 1
        successes = self._scalarised(rng) if many else [
            (point, key, fitness) for point, key, fitness in self._told if fitness is not None]
        chosen = None
        if trial >= self.initial_points and len(successes) >= 2:
            if len(successes) != self._fitted_on or many:  # ParEGO: each ask a new function to fit
                self._fit(successes)
            chosen = self._acquire(successes, rng)
        point, key, prediction = chosen if chosen is not None else (*self._random_point(rng), None)
        self._proposed.add(key)
        self._pending[trial] = (point, key, prediction)
        self._next_trial += 1
        return Candidate(trial=trial, point=point, key=key, seed=candidate_seed(self.seed, trial))

    def tell(self, candidate: Candidate, result: EvalResult) -> None:
        point, key, prediction = pop_pending(self._pending, candidate)
        fitness = result_fitness(result)
        self._told.append((point, key, fitness))
        if len(self.objectives) > 1:
            self._costs.append(result_costs(result, self.objectives))
        elif fitness is not None and prediction is not None:
            self._held_out.append((prediction, fitness))

    def _scalarised(self, rng: random.Random) -> list[tuple[Any, str, float]]:
        """The told points with costs, each scored by ParEGO's augmented Tchebycheff function
        under a weight vector drawn now (higher is better)."""
        told = [(point, key, costs) for (point, key, _), costs in zip(self._told, self._costs) if costs is not None]
        draws = [rng.expovariate(1.0) for _ in self.objectives]
        weights = [draw / sum(draws) for draw in draws]  # uniform on the simplex
        if not told:
            return []
        low = [min(costs[i] for _, _, costs in told) for i in range(len(weights))]
        high = [max(costs[i] for _, _, costs in told) for i in range(len(weights))]
        scored = []
        for point, key, costs in told:
            scaled = [w * ((c - lo) / (hi - lo) if hi > lo else 0.0) for w, c, lo, hi in zip(weights, costs, low, high)]
            scored.append((point, key, -(max(scaled) + PAREGO_RHO * sum(scaled))))
        return scored

    def report(self) -> dict[str, Any]:
        """Figures for the run's summary: the predictor's Kendall tau on the points it
        proposed, each predicted before its result was known (held out from training)."""
        predicted = [prediction for prediction, _ in self._held_out]
        actual = [accuracy for _, accuracy in self._held_out]
        return {"predictor_kendall_tau": kendall_tau(predicted, actual), "held_out_points": len(self._held_out)}

    # --- the predictor ------------------------------------------------------------------
    def _features(self, points: Sequence[tuple[Any, str]]) -> torch.Tensor:
        rows = []
        for point, key in points:
            if key not in self._feature_cache:
                self._feature_cache[key] = [float(value) for value in self.space.features(point)]
            rows.append(self._feature_cache[key])
        return torch.tensor(rows, dtype=torch.float32)

    def _fit(self, successes: list[tuple[Any, str, float]]) -> None:
        inputs = self._features([(point, key) for point, key, _ in successes])
        accuracies = torch.tensor([fitness for _, _, fitness in successes], dtype=torch.float32)
        mean, std = float(accuracies.mean()), max(float(accuracies.std(unbiased=False)), 1e-6)
        targets = (accuracies - mean) / std
        epochs = self.refit_epochs
        if not self._ensemble:
            epochs = self.epochs
            self._ensemble = init_ensemble(self.ensemble_size, inputs.shape[1], self.hidden_width,
                                           self.hidden_layers, derive_seed(self.seed, NAME, "ensemble"))
        self._ensemble = fit_ensemble(self._ensemble, inputs, targets, epochs, self.learning_rate)
        self._fitted_on = len(successes)
        self._target_scale = (mean, std)

    def _acquire(self, successes: list[tuple[Any, str, float]],
                 rng: random.Random) -> tuple[Any, str, float] | None:
        """The candidate the acquisition function scores highest, with its predicted accuracy."""
        best = sorted(successes, key=lambda entry: -entry[2])[:self.parents]
        pool, seen = [], set(self._proposed)
        for point, key, _ in best:
            for neighbour, neighbour_key in self._neighbours(point, key):
                if neighbour_key not in seen:
                    seen.add(neighbour_key)
                    pool.append((neighbour, neighbour_key))
        if not pool:
            return None
        with torch.no_grad():
            inputs = self._features(pool)
            predictions = ensemble_forward(self._ensemble, inputs)
        mean, std = self._target_scale
        means = (predictions.mean(dim=0) * std + mean).tolist()
        spreads = (predictions.std(dim=0, unbiased=False) * std).tolist()
        if self.acquisition == "its":
            scores = [rng.gauss(m, s) for m, s in zip(means, spreads)]
        else:
            scores = [m + self.ucb_beta * s for m, s in zip(means, spreads)]
        index = max(range(len(pool)), key=scores.__getitem__)
        return pool[index][0], pool[index][1], means[index]

    def _neighbours(self, point: Any, key: str) -> list[tuple[Any, str]]:
        if key not in self._neighbour_cache:
            self._neighbour_cache[key] = [(n, self.space.key(n)) for n in self.space.neighbours(point)]
        return self._neighbour_cache[key]

    def _random_point(self, rng: random.Random) -> tuple[Any, str]:
        return fresh_sample(self.space, rng, self._proposed, self.max_retries)

    # --- state --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "strategy": NAME,
            "seed": self.seed,
            "settings": {name: getattr(self, name) for name in SETTINGS},
            "next_trial": self._next_trial,
            "told": [list(entry) for entry in self._told],
            "costs": [None if costs is None else list(costs) for costs in self._costs],
            "proposed": sorted(self._proposed),
            "pending": {trial: list(entry) for trial, entry in self._pending.items()},
            "ensemble": {name: tensor.clone() for name, tensor in self._ensemble.items()},
            "fitted_on": self._fitted_on,
            "target_scale": list(self._target_scale),
            "held_out": [list(pair) for pair in self._held_out],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        check_state(state, NAME, self.seed)
        saved = {"objectives": ["val_acc"], **state["settings"]}  # a state from before objectives: one
        for name in SETTINGS:
            if saved[name] != getattr(self, name):
                raise StrategyError(f"state has {name}={saved[name]!r}, this strategy "
                                    f"{getattr(self, name)!r}")
        self._next_trial = int(state["next_trial"])
        self._told = [(point, key, None if fitness is None else float(fitness)) for point, key, fitness in state["told"]]
        self._costs = [None if costs is None else [float(c) for c in costs] for costs in state.get("costs", [])]
        self._proposed = set(state["proposed"])
        self._pending = {int(trial): (point, key, None if prediction is None else float(prediction))
                         for trial, (point, key, prediction) in state["pending"].items()}
        self._ensemble = {name: tensor.clone() for name, tensor in state["ensemble"].items()}
        self._fitted_on = int(state["fitted_on"])
        self._target_scale = (float(state["target_scale"][0]), float(state["target_scale"][1]))
        self._held_out = [(float(prediction), float(accuracy)) for prediction, accuracy in state["held_out"]]
