"""Search strategies: determinism, exact resumption, asynchronous use, failures."""
from __future__ import annotations

import io
import math
from types import MappingProxyType
from typing import Any, Callable, Mapping

import pytest
import torch

from nasbench.evaluators.nasbench201 import NasBench201Evaluator
from nasbench.core.result import EvalResult
from nasbench.run.search_loop import best_record, run_search
from nasbench.strategies import STRATEGIES, Budget, BudgetError, StrategyError, derive_seed, make_strategy
from nasbench.core.candidate import Candidate
from nasbench.strategies.base import Strategy
from nasbench.strategies.bananas import Bananas
from nasbench.strategies.evolution import RegularizedEvolution
from nasbench.strategies.local_search import LocalSearch
from nasbench.strategies.pareto_local import ParetoLocalSearch
from nasbench.strategies.optuna_strategy import SAMPLERS, OptunaStrategy
from nasbench.strategies.random_search import RandomSearch
from nasbench.strategies.reinforce import Reinforce
from search_spaces.spaces.nasbench201 import OPS, NasBench201Space

SPACE = NasBench201Space()
CONV3 = OPS.index("nor_conv_3x3")
NONE = OPS.index("none")
FAILED = EvalResult(status="error", message="boom")

# name -> constructor(seed); small settings so that every phase shows within a few steps.
FACTORIES: Mapping[str, Callable[[int], Strategy]] = MappingProxyType({
    "random": lambda seed: RandomSearch(SPACE, seed),
    "evolution": lambda seed: RegularizedEvolution(SPACE, seed, population_size=4, sample_size=2),
    "reinforce": lambda seed: Reinforce(SPACE, seed, batch_size=2),
    "tpe": lambda seed: OptunaStrategy(SPACE, seed, sampler_options={"n_startup_trials": 3}),
    "nsga2": lambda seed: OptunaStrategy(
        SPACE, seed, sampler="nsga2", objectives=("val_acc", "macs"), sampler_options={"population_size": 4}
    ),
    "local": lambda seed: LocalSearch(SPACE, seed),
    "pareto_local": lambda seed: ParetoLocalSearch(SPACE, seed, objectives=("val_acc", "macs"), initial_points=3),
    "bananas": lambda seed: Bananas(SPACE, seed, initial_points=3, epochs=20, refit_epochs=5),
    "bananas_parego": lambda seed: Bananas(SPACE, seed, initial_points=3, epochs=20, refit_epochs=5,
                                           objectives=("val_acc", "macs")),
})


def fake_evaluate(candidate: Candidate) -> EvalResult:
    """A deterministic stand-in for the table: 3x3 convolutions help, ``none`` hurts."""
    indices = SPACE.encode(candidate.point)
    noise = derive_seed(0, candidate.key) % 1000 / 1e5
    val_acc = 0.5 + 0.07 * indices.count(CONV3) - 0.05 * indices.count(NONE) + noise
    macs = 1_000_000 * (9 * indices.count(CONV3) + indices.count(OPS.index("nor_conv_1x1")))
    return EvalResult(status="ok", val_acc=val_acc, macs=macs, cost_seconds=100.0, seed=candidate.seed)


def steps(strategy: Strategy, count: int) -> list[str]:
    keys = []
    for _ in range(count):
        candidate = strategy.ask()
        strategy.tell(candidate, fake_evaluate(candidate))
        keys.append(candidate.key)
    return keys


def through_a_file(state: dict[str, Any]) -> dict[str, Any]:
    """``state`` written with ``torch.save`` and read back as data only."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def comparable(strategy: Strategy) -> Any:
    """A strategy's state with tensors as lists and Optuna's study as its trials."""
    def plain(value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            return value.tolist()
        if isinstance(value, dict):
            return {key: plain(item) for key, item in value.items() if key != "study"}
        if isinstance(value, (list, tuple)):
            return [plain(item) for item in value]
        return value

    state = plain(strategy.state_dict())
    if isinstance(strategy, OptunaStrategy):
        state["trials"] = [(t.params, t.values, t.state) for t in strategy.study.trials]
    return state


@pytest.mark.parametrize("name", FACTORIES)
def test_same_seed_same_sequence(name):
    assert steps(FACTORIES[name](3), 12) == steps(FACTORIES[name](3), 12)


@pytest.mark.parametrize("name", ["random", "evolution", "reinforce", "tpe"])
def test_another_seed_another_sequence(name):
    assert steps(FACTORIES[name](1), 12) != steps(FACTORIES[name](2), 12)


@pytest.mark.parametrize("name", FACTORIES)
def test_state_dict_resumes_exactly(name):
    def search(interrupt: bool) -> tuple[list[str], Strategy]:
        strategy = FACTORIES[name](5)
        keys = steps(strategy, 8)
        in_flight = [strategy.ask() for _ in range(2)]  # two are being evaluated...
        if interrupt:  # ...when the search is saved, killed and restored
            state = through_a_file(strategy.state_dict())
            strategy = FACTORIES[name](5)
            strategy.load_state_dict(state)
        for candidate in reversed(in_flight):  # results arrive out of order
            strategy.tell(candidate, fake_evaluate(candidate))
        return keys + [c.key for c in in_flight] + steps(strategy, 4), strategy

    keys, uninterrupted = search(interrupt=False)
    resumed_keys, resumed = search(interrupt=True)
    assert resumed_keys == keys
    assert comparable(resumed) == comparable(uninterrupted)


@pytest.mark.parametrize("name", FACTORIES)
def test_failures_are_tolerated(name):
    strategy = FACTORIES[name](0)
    for trial in range(10):
        candidate = strategy.ask()
        strategy.tell(candidate, FAILED if trial % 2 else fake_evaluate(candidate))
    assert SPACE.contains(strategy.ask().point)


@pytest.mark.parametrize("name", FACTORIES)
def test_telling_an_unknown_or_told_candidate_is_refused(name):
    strategy = FACTORIES[name](0)
    candidate = strategy.ask()
    strategy.tell(candidate, fake_evaluate(candidate))
    with pytest.raises(StrategyError, match="was not asked or was already told"):
        strategy.tell(candidate, fake_evaluate(candidate))


@pytest.mark.parametrize("name", FACTORIES)
def test_state_of_another_strategy_or_seed_is_refused(name):
    other = "random" if name != "random" else "evolution"
    with pytest.raises(StrategyError, match="state is for strategy"):
        FACTORIES[name](0).load_state_dict(FACTORIES[other](0).state_dict())
    with pytest.raises(StrategyError, match="seed"):
        FACTORIES[name](1).load_state_dict(FACTORIES[name](0).state_dict())


def test_candidates_number_trials_and_derive_seeds():
    strategy = RandomSearch(SPACE, seed=9)
    candidates = [strategy.ask() for _ in range(5)]
    assert [c.trial for c in candidates] == list(range(5))
    assert len({c.seed for c in candidates}) == 5
    assert candidates[0].seed == RandomSearch(SPACE, seed=9).ask().seed


def test_derive_seed_is_stable_and_32_bit():
    assert derive_seed(0, "candidate", 0) == derive_seed(0, "candidate", 0)
    assert derive_seed(0, "candidate", 0) != derive_seed(0, "candidate", 1)
    assert derive_seed(1, 2) == 1235633943  # a hash of the JSON text, not Python's salted hash()
    assert all(0 <= derive_seed(s, "x") < 2**32 for s in range(50))


def test_random_search_avoids_repeats():
    strategy = RandomSearch(SPACE, seed=0)
    keys = [strategy.ask().key for _ in range(300)]
    assert len(set(keys)) == 300


def test_evolution_starts_random_then_mutates_the_population():
    strategy = RegularizedEvolution(SPACE, seed=0, population_size=5, sample_size=3)
    steps(strategy, 5)
    for _ in range(20):
        population = [SPACE.encode(point) for point, _, _ in strategy.population]
        candidate = strategy.ask()
        child = SPACE.encode(candidate.point)
        assert any(sum(a != b for a, b in zip(child, parent)) == 1 for parent in population)
        strategy.tell(candidate, fake_evaluate(candidate))
        assert len(strategy.population) == 5
        assert strategy.population[-1][1] == candidate.key  # the child is the youngest


def test_evolution_oldest_dies_and_failures_have_no_fitness():
    strategy = RegularizedEvolution(SPACE, seed=0, population_size=3, sample_size=2)
    candidates = [strategy.ask() for _ in range(4)]
    for candidate in candidates[:3]:
        strategy.tell(candidate, fake_evaluate(candidate))
    strategy.tell(candidates[3], FAILED)
    assert [key for _, key, _ in strategy.population] == [c.key for c in candidates[1:]]
    assert strategy.population[-1][2] == -math.inf


def test_evolution_with_many_in_flight():
    strategy = RegularizedEvolution(SPACE, seed=0, population_size=4, sample_size=2)
    outstanding = [strategy.ask() for _ in range(8)]  # more than the population: still random
    for candidate in outstanding[::2] + outstanding[1::2]:
        strategy.tell(candidate, fake_evaluate(candidate))
    in_flight = [strategy.ask() for _ in range(6)]
    for candidate in reversed(in_flight):
        strategy.tell(candidate, fake_evaluate(candidate))
    assert len(strategy.population) == 4


def test_reinforce_updates_with_many_in_flight():
    strategy = Reinforce(SPACE, seed=0, batch_size=3)
    before = [p.detach().clone() for p in strategy.controller.parameters()]
    outstanding = [strategy.ask() for _ in range(7)]
    for candidate in reversed(outstanding):
        strategy.tell(candidate, fake_evaluate(candidate))
    assert strategy.updates == 2 and len(strategy.state_dict()["batch"]) == 1
    assert any(not torch.equal(a, b) for a, b in zip(before, strategy.controller.parameters()))


def test_reinforce_learns_the_fake_objective():
    strategy = Reinforce(SPACE, seed=0)
    rewards = []
    for _ in range(150):
        candidate = strategy.ask()
        result = fake_evaluate(candidate)
        strategy.tell(candidate, result)
        rewards.append(result.val_acc)
    assert sum(rewards[-30:]) / 30 > sum(rewards[:30]) / 30 + 0.05


def test_reinforce_does_not_touch_torch_global_rng():
    state = torch.random.get_rng_state()
    strategy = Reinforce(SPACE, seed=0)
    steps(strategy, 3)
    assert torch.equal(state, torch.random.get_rng_state())


def test_optuna_failure_is_a_failed_trial():
    strategy = OptunaStrategy(SPACE, seed=0)
    candidate = strategy.ask()
    strategy.tell(candidate, FAILED)
    assert strategy.study.trials[0].state.name == "FAIL"


def test_optuna_missing_objective_is_an_error():
    strategy = OptunaStrategy(SPACE, seed=0, objectives=("val_acc", "params"))
    candidate = strategy.ask()
    with pytest.raises(StrategyError, match="no params to optimize"):
        strategy.tell(candidate, fake_evaluate(candidate))


def test_optuna_multi_objective_gives_a_pareto_front():
    strategy = FACTORIES["nsga2"](0)
    steps(strategy, 24)
    front = strategy.pareto_front()
    assert front
    values = [v for _, v in front]
    for acc, macs in values:  # nothing on the front is dominated by another point on it
        assert not any(a >= acc and m <= macs and (a, m) != (acc, macs) for a, m in values)
    assert all(SPACE.contains(point) for point, _ in front)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_every_optuna_sampler_runs(sampler):
    strategy = OptunaStrategy(SPACE, seed=0, sampler=sampler)
    assert len(steps(strategy, 3)) == 3


def test_optuna_bad_names_are_refused():
    with pytest.raises(StrategyError, match="sampler: 'annealing'"):
        OptunaStrategy(SPACE, sampler="annealing")
    with pytest.raises(StrategyError, match="objectives"):
        OptunaStrategy(SPACE, objectives=("accuracy",))


def test_optuna_journal_resumes_exactly(tmp_path):
    def journal(name: str) -> OptunaStrategy:
        return OptunaStrategy(SPACE, seed=4, storage=tmp_path / name / "optuna.journal",
                              sampler_options={"n_startup_trials": 3})

    expected = steps(journal("whole"), 10)
    first = journal("split")
    done = steps(first, 6)
    state = through_a_file(first.state_dict())
    assert "study" not in state and state["numbers"] == {t: t for t in range(6)}
    resumed = journal("split")  # a new process: the study comes back from the file
    resumed.load_state_dict(state)
    assert done + steps(resumed, 4) == expected
    assert len(resumed.study.trials) == 10


def test_optuna_journal_hands_out_trials_asked_after_the_snapshot(tmp_path):
    path = tmp_path / "optuna.journal"
    first = OptunaStrategy(SPACE, seed=0, storage=path)
    steps(first, 3)
    state = first.state_dict()
    lost = first.ask()  # asked, then the process died before the next save
    resumed = OptunaStrategy(SPACE, seed=0, storage=path)
    resumed.load_state_dict(state)
    again = resumed.ask()
    assert (again.trial, again.key) == (lost.trial, lost.key)
    resumed.tell(again, fake_evaluate(again))
    assert len(resumed.study.trials) == 4


@pytest.mark.parametrize("sampler, options", [("tpe", {"n_startup_trials": 3}), ("nsga2", {"population_size": 4})])
def test_optuna_journal_trial_killed_mid_suggest_is_sampled_again(tmp_path, sampler, options):
    def journal(name: str) -> OptunaStrategy:
        return OptunaStrategy(SPACE, seed=2, sampler=sampler, storage=tmp_path / name / "optuna.journal",
                              sampler_options=options)

    expected = steps(journal("whole"), 12)
    first = journal("split")
    done = steps(first, 7)
    state = first.state_dict()
    cut = first.study.ask()  # the process dies after two of the six choices reached the journal
    for decision in first._decisions[:2]:
        cut.suggest_categorical(decision.name, list(decision.choices))
    resumed = journal("split")
    resumed.load_state_dict(state)
    assert done + steps(resumed, 5) == expected
    assert [t.state.name for t in resumed.study.trials].count("FAIL") == 1


def test_optuna_fresh_strategy_over_a_journal_hands_its_trials_out_again(tmp_path):
    path = tmp_path / "optuna.journal"
    expected = steps(OptunaStrategy(SPACE, seed=1, storage=path, sampler_options={"n_startup_trials": 3}), 9)
    replayed = OptunaStrategy(SPACE, seed=1, storage=path, sampler_options={"n_startup_trials": 3})
    assert steps(replayed, 9) == expected  # the state was lost: the same trials, no new ones
    assert len(replayed.study.trials) == 9
    assert steps(replayed, 3) == steps(OptunaStrategy(SPACE, seed=1, storage=tmp_path / "b.journal",
                                                      sampler_options={"n_startup_trials": 3}), 12)[9:]


def test_optuna_in_memory_state_is_a_log_not_a_pickle():
    strategy = FACTORIES["tpe"](0)
    steps(strategy, 4)
    strategy.ask()
    state = through_a_file(strategy.state_dict())
    assert "study" not in state and [event[0] for event in state["events"]].count("ask") == 5
    state["events"] = state["events"][:-1]
    with pytest.raises(StrategyError, match="does not replay"):
        FACTORIES["tpe"](0).load_state_dict(state)


def test_registry_and_make_strategy(tmp_path):
    assert set(STRATEGIES) == {"random", "evolution", "reinforce", "tpe", "optuna", "nsga2", "local", "pareto_local",
                               "bananas"}
    assert isinstance(make_strategy("tpe", SPACE, seed=1), OptunaStrategy)
    assert make_strategy("tpe", SPACE, seed=1, run_dir=tmp_path).storage_path == tmp_path / "optuna.journal"
    with pytest.raises(StrategyError, match="search: 'anneal'"):
        make_strategy("anneal", SPACE)
    with pytest.raises(StrategyError, match="population"):
        make_strategy("random", SPACE, population=3)
    with pytest.raises(ValueError, match="registered twice"):
        STRATEGIES.with_entry("random", RandomSearch)


def test_budget():
    budget = Budget(trials=10, seconds=100.0)
    assert not budget.spent(9, 99.0)
    assert budget.spent(10, 0.0) and budget.spent(0, 100.0)
    assert budget.fraction_left(5, 90.0) == pytest.approx(0.1)
    assert Budget(trials=4).fraction_left(8, 0.0) == 0.0
    for kwargs in ({}, {"trials": 0}, {"seconds": -1.0}):
        with pytest.raises(BudgetError):
            Budget(**kwargs)


def test_search_loop_spends_the_budget_and_reports_each_result():
    seen = []
    outcome = run_search(RandomSearch(SPACE, seed=0), fake_evaluate, Budget(seconds=1000.0), progress=False,
                         on_record=lambda record: seen.append(record.candidate.trial))
    assert seen == list(range(10)) and len(outcome.history) == 10
    assert outcome.best is not None and outcome.best.result.val_acc == max(r.result.val_acc for r in outcome.history)


@pytest.mark.parametrize("name", FACTORIES)
def test_strategies_search_the_table(name):
    table = NasBench201Evaluator()
    strategy = FACTORIES[name](0)
    if name == "nsga2":
        strategy = OptunaStrategy(SPACE, 0, sampler="nsga2", objectives=("val_acc", "cost_seconds"))
    history = run_search(strategy, table, Budget(trials=15), progress=False).history
    assert len(history) == 15 and all(record.result.ok for record in history)
    assert 0.0 < best_record(history).result.test_acc <= table.optimum()
