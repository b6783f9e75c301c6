"""The one-shot run loop: epochs of a method on a supernet, recorded like any search.

Each epoch is one row of ``history.jsonl`` (its ``trial`` is the epoch): the derived
point, the supernet's validation accuracy as ``val_acc``, and in ``result.settings`` the
training accuracy, the architecture entropy, the skip connections of the derived normal
cell and the schedules. ``best.json`` always holds the latest epoch's derived point, in
the shape the ask/tell search writes, so ``transfer RUN_DIR`` and ``rebuild`` take it;
at the end ``best_weights.pt`` holds its weights inherited from the supernet, for
``rebuild RUN_DIR/best_network.json --weights RUN_DIR/best_weights.pt``.
``budget.trials`` caps the epochs (``search.params.epochs`` is the schedules' length);
``budget.seconds`` counts from when the search was built (data loaded, supernet
built): a step starts only if it is expected to end, with the validation after it (the
mean step and the last validation so far), within the budget; an epoch cut short by it
is recorded as it stands, and an epoch after which no step of another would fit is
closed as the last one (SPOS evolves after it) (not counted: the interpreter's start before the build, the
report after the last epoch and, on Ray, the Train job's start). A method's optional ``end_epoch(epoch, splits, generator, final=,
deadline=)`` runs after the steps, told whether the epoch is the search's last and the
wall-clock ``time.time()`` at which the budget runs out (None: unbounded). After every
epoch the checkpoint (``checkpoint.py``) holds the supernet, optimizers, architecture
and records, so a killed search loses at most the epoch it was in; ``resume=``
continues from it. Every random draw of an epoch comes from a generator seeded by the
search seed and the epoch, so a resumed search ends where an uninterrupted one does.
Data-parallel (``distribute``; on Ray Train, ``ray_train.py``): every rank runs the
epochs' steps on its slice of each batch with gradients averaged, rank 0 alone closes
each epoch and writes, then hands its state to the others.
"""
from __future__ import annotations

import io
import logging
import sys
import time
from dataclasses import dataclass
from typing import Any

import torch
from tqdm import tqdm

from nasbench.data.splits import DatasetSplits
from nasbench.run.best import write_best
from nasbench.run.search_loop import SearchOutcome
from nasbench.oneshot.checkpoint import CHECKPOINT, load_checkpoint, save_checkpoint
from nasbench.oneshot.collective import Collective, SingleProcess, shard
from nasbench.oneshot.data import epoch_batches
from nasbench.oneshot.methods import OneShotError, OneShotMethod
from nasbench.run.plots import plot_oneshot
from nasbench.run.report import write_report
from nasbench.core.result import EvalResult
from nasbench.core.files import atomic_write_bytes, atomic_write_text
from nasbench.run.store import HistoryRecord, RunStore, RunStoreError, Store
from nasbench.core.candidate import Candidate, derive_seed
from nasbench.core.budget import Budget
from nasbench.train.runtime import resolve_device, to_cpu
from search_spaces.supernet import Paths, Supernet

LOG = logging.getLogger("nasbench.search")
BEST_WEIGHTS = "best_weights.pt"  # the derived cell's weights inherited from the supernet


@torch.no_grad()
def accuracy(supernet: Supernet, paths: Paths, images: torch.Tensor, labels: torch.Tensor,
             batch_size: int = 256) -> float:
    """The supernet's accuracy with ``paths`` (eval mode: BN running statistics)."""
    was_training = supernet.training
    supernet.eval()
    correct = 0
    for start in range(0, len(labels), batch_size):
        logits = supernet(images[start:start + batch_size], paths)
        correct += int((logits.argmax(-1) == labels[start:start + batch_size]).sum())
    supernet.train(was_training)
    return correct / max(len(labels), 1)


def scored_by(record: HistoryRecord) -> str:
    """What an epoch's val_acc measured: the derived cell on the supernet's shared weights,
    or (DARTS) the supernet with every op mixed, the cell alone beside it (discretizing the
    mixture loses accuracy until the cell is retrained: Zela et al., "Understanding and
    Robustifying Differentiable Architecture Search", ICLR 2020)."""
    settings = record.result.settings
    if settings.get("val_acc_of") != "supernet":
        return "its val_acc measured on the supernet's shared weights"
    return (f"its val_acc that of the supernet with every op mixed (the answer alone, on its inherited weights: "
            f"{settings['derived_val_acc']:.4f})")


@dataclass
class EpochSteps:
    """What an epoch's steps leave for its closing phase: the totals over every rank
    (on Ray the last epoch's are handed from the Train workers to the driver)."""

    epoch: int
    started: float
    seconds_before: float
    steps: int
    loss: float
    correct: int
    count: int
    cut_short: bool
    out_of_time: bool = False  # no step of another epoch would fit in budget.seconds


def say_epoch(record: HistoryRecord) -> None:
    """The progress line of a finished epoch."""
    print(f"epoch {record.candidate.trial}: val_acc {record.result.val_acc:.4f} {record.candidate.key}", flush=True)


class OneShotSearch:
    """A one-shot ``method`` over ``splits``; ``run(budget, store)`` is the search.

    ``recipe`` builds the same search again in another process (a Ray Train worker);
    ``executor`` is where ``nasbench.oneshot.run_oneshot`` runs it: None for this process,
    a ``RayExecutor`` for Ray (``nasbench.oneshot.ray_train``: the epochs data-parallel on
    Ray Train workers, and a method's closing phase, SPOS' evolution, on Ray Tune)."""

    def __init__(self, method: OneShotMethod, splits: DatasetSplits, *, seed: int = 0,
                 device: str | torch.device = "cpu", recipe: Any = None, executor: Any = None,
                 built_since: float | None = None):
        self.method = method
        self.supernet = method.supernet
        self.space = self.supernet.space
        self.seed = seed
        self.device = resolve_device(str(device))
        self.splits = splits.to(self.device)
        self.supernet.to(self.device)
        self.recipe = recipe
        self.executor = executor
        self.collective: Collective = SingleProcess()
        self._unbilled_since = time.time() if built_since is None else built_since  # the build, until billed
        self._validation_seconds = 0.0  # the last validation's time: reserved before each step
        self._step_seconds = 0.0  # the last epoch's mean step: an epoch starts if one fits

    @property
    def name(self) -> str:
        return self.method.name

    def network_inputs(self) -> dict[str, int]:
        return dict(self.supernet.inputs)

    def distribute(self, collective: Collective) -> None:
        """Run as one rank of ``collective`` (every gradient averaged over the ranks)."""
        if self.method.batch_size % collective.world_size:
            raise OneShotError(f"search.params.batch_size: {self.method.batch_size} is not divisible by the "
                               f"{collective.world_size} data-parallel workers")
        self.collective = collective
        self.method.collective = collective

    def run(self, budget: Budget, store: Store, progress: bool = False) -> SearchOutcome:
        """Run (or resume) the search in ``store``, in this process, until its epochs or
        budget are spent (``nasbench.oneshot.run_oneshot`` runs it where its executor says)."""
        records, seconds_used = self.restore(store)
        interrupted = False
        try:
            self.run_epochs(records, seconds_used, budget, store, progress)
        except KeyboardInterrupt:
            interrupted = True
        return self.finish(store, records, interrupted)

    def run_epochs(self, records: list[HistoryRecord], seconds_used: float, budget: Budget, store: Store,
                   progress: bool = False, defer_final: bool = False
                   ) -> tuple[EpochSteps, torch.Generator] | None:
        """Epochs after ``records`` (appended to it) until the epochs or the budget are
        spent. With several ranks every rank runs this; rank 0 closes each epoch, saves it
        and hands its state to the others. ``defer_final``: stop after the last epoch's
        steps and return them with the epoch's generator, for the caller to close. The
        budget's seconds include this process's build (charged once, not recorded)."""
        if self._unbilled_since is not None:
            seconds_used += time.time() - self._unbilled_since
            self._unbilled_since = None
        for epoch in range(len(records), self.method.epochs):
            no_step_fits = budget.seconds is not None and (
                seconds_used + self._step_seconds + self._validation_seconds > budget.seconds)
            if self.collective.any(self.collective.rank == 0 and (budget.spent(len(records), seconds_used)
                                                                  or no_step_fits)):
                break  # rank 0's clock decides for every rank
            generator = torch.Generator().manual_seed(derive_seed(self.seed, "oneshot-epoch", epoch))
            steps = self._steps(epoch, budget, seconds_used, generator, progress=progress)
            if defer_final and self._is_final(steps, budget):
                return steps, generator
            if self.collective.rank == 0:
                records.append(self.close_epoch(steps, budget, generator))
            records[:] = self.share(records)
            record = records[-1]
            seconds_used += record.result.cost_seconds
            if self.collective.rank == 0:
                self.save(store, records)
                if progress:
                    say_epoch(record)
            if self._is_final(steps, budget):
                break  # closed as the last (SPOS evolved): no epoch after it
        return None

    def finish(self, store: Store, records: list[HistoryRecord], interrupted: bool) -> SearchOutcome:
        """The outcome; a run directory gets its report, ``best.json`` and weights."""
        best = records[-1] if records else None
        if isinstance(store, RunStore):
            self._report(store, records, best)
        return SearchOutcome(records, best, interrupted=interrupted, answer="the last derived cell")

    def _is_final(self, steps: EpochSteps, budget: Budget) -> bool:
        """Whether the epoch is the search's last: its schedules' or ``budget.trials``', or
        one cut short by ``budget.seconds``."""
        last_trial = budget.trials is not None and steps.epoch + 1 >= budget.trials
        return steps.cut_short or steps.out_of_time or steps.epoch + 1 >= self.method.epochs or last_trial

    def _steps(self, epoch: int, budget: Budget, seconds_before: float, generator: torch.Generator,
               progress: bool = False) -> EpochSteps:
        """The epoch's steps on this rank's slice of each batch; the totals over the ranks.
        ``progress``: a step-level bar with its rate and time left (rank 0), since one epoch
        of a supernet on a CPU takes minutes."""
        method, started, collective = self.method, time.time(), self.collective
        method.begin_epoch(epoch)
        self.supernet.train()
        loss, correct, count, steps, cut_short = 0.0, 0, 0, 0, False
        labels = len(self.splits.train[1])
        bar = tqdm(total=labels // max(1, min(method.batch_size, labels)), unit="step", leave=False,
                   desc=f"epoch {epoch + 1}/{method.epochs}", file=sys.stderr, dynamic_ncols=True,
                   disable=not (progress and collective.rank == 0))
        for train, val in epoch_batches(self.splits, method.batch_size, generator):
            if budget.seconds is not None and steps:
                elapsed = time.time() - started
                expected_end = seconds_before + elapsed * (steps + 1) / steps + self._validation_seconds
                if collective.any(collective.rank == 0 and expected_end > budget.seconds):
                    cut_short = True
                    break
            stats = method.step(shard(train, collective), shard(val, collective), generator)
            loss, correct, count = loss + stats.loss * stats.count, correct + stats.correct, count + stats.count
            steps += 1
            bar.update(1)
        bar.close()
        self._step_seconds = (time.time() - started) / max(steps, 1)
        out_of_time = budget.seconds is not None and collective.any(collective.rank == 0 and (
            seconds_before + time.time() - started + self._step_seconds + self._validation_seconds > budget.seconds))
        loss, correct, count = collective.sum([loss, correct, count])
        return EpochSteps(epoch, started, seconds_before, steps, loss, int(correct), int(count), cut_short,
                          out_of_time)

    def close_epoch(self, steps: EpochSteps, budget: Budget, generator: torch.Generator) -> HistoryRecord:
        """The epoch's closing phase (``end_epoch``), derived point and validation accuracy:
        its record."""
        method, epoch = self.method, steps.epoch
        end_epoch = getattr(method, "end_epoch", None)
        if callable(end_epoch):  # a phase after the steps (ENAS' controller, SPOS' evolution)
            deadline = None if budget.seconds is None else (steps.started + budget.seconds - steps.seconds_before
                                                            - self._validation_seconds)
            end_epoch(epoch, self.splits, generator, final=self._is_final(steps, budget), deadline=deadline)
        point = method.derive()
        val_images, val_labels = self.splits.val
        validation_started = time.time()
        paths = method.eval_paths()
        val_acc = accuracy(self.supernet, paths, val_images, val_labels)
        scored: dict[str, Any] = {"val_acc_of": "derived cell"}
        if paths.weights is not None:  # every op mixed (DARTS): the derived cell alone is scored too
            scored = {"val_acc_of": "supernet", "derived_val_acc": accuracy(
                self.supernet, Paths(active=self.supernet.paths_of(point)), val_images, val_labels)}
        finished = time.time()
        self._validation_seconds = finished - validation_started
        settings = {"method": method.name, "epoch": epoch, "steps": steps.steps, "cut_short": steps.cut_short,
                    "train_acc": steps.correct / max(steps.count, 1), **scored, **method.epoch_metrics()}
        result = EvalResult(status="ok", val_acc=val_acc, train_loss=steps.loss / max(steps.count, 1),
                            train_seconds=finished - steps.started, cost_seconds=finished - steps.started,
                            device=self.device.type, seed=self.seed, epochs_run=epoch + 1, settings=settings)
        candidate = Candidate(trial=epoch, point=point, key=self.space.key(point), seed=self.seed)
        LOG.info("epoch %d val_acc=%.4f train_acc=%.4f %s key=%s", epoch, val_acc, settings["train_acc"],
                 " ".join(f"{k}={v:.4g}" for k, v in settings.items() if isinstance(v, float) and k != "train_acc"),
                 candidate.key)
        return HistoryRecord(candidate, result, steps.started, finished)

    def share(self, records: list[HistoryRecord]) -> list[HistoryRecord]:
        """Rank 0's records and method state on every rank (when rank 0 has restored or
        closed an epoch); one rank: ``records`` as they are."""
        if self.collective.world_size == 1:
            return records
        lines, state = self.collective.broadcast(
            ([r.to_json() for r in records], to_cpu(self.method.state_dict())) if self.collective.rank == 0 else None)
        if self.collective.rank == 0:
            return records
        self.method.load_state_dict(state)
        return [HistoryRecord.from_json(line) for line in lines]

    def about(self) -> dict[str, Any]:
        """What its derived points are evaluated in (``Store.about``, kept in ``best.json``)."""
        return {"space": self.space.name, "skeleton": self.supernet.subnet_skeleton(), "inputs": self.network_inputs(),
                "method": self.method.name}

    def save(self, store: Store, records: list[HistoryRecord]) -> None:
        """Checkpoint first, then the history row: a kill between the two is repaired
        from the checkpoint on resume."""
        if isinstance(store, RunStore):
            save_checkpoint(store.run_dir / CHECKPOINT, self.method.name, len(records),
                            [r.to_json() for r in records], self.method.state_dict())
        store.append(records[-1])
        store.about = self.about()
        write_best(store, records[-1])

    def restore(self, store: Store) -> tuple[list[HistoryRecord], float]:
        if not isinstance(store, RunStore):
            return [], 0.0
        saved = load_checkpoint(store.run_dir / CHECKPOINT, self.method.name)
        if saved is None:
            if store.history():
                raise RunStoreError(f"resume: {store.run_dir} has a history but no {CHECKPOINT}; it is not a "
                                    f"one-shot search this method can continue")
            return [], 0.0
        self.method.load_state_dict(saved["state"])
        self.supernet.to(self.device)
        records = [HistoryRecord.from_json(line) for line in saved["records"]]
        lines = [r.to_json() for r in records]
        if [r.to_json() for r in store.history()] != lines:
            atomic_write_text(store.history_path, "".join(line + "\n" for line in lines))
        return records, sum(r.result.cost_seconds for r in records)

    def _report(self, store: RunStore, records: list[HistoryRecord], best: HistoryRecord | None) -> None:
        store.about = self.about()
        write_report(store, records, self.space, chosen=best,
                     chosen_because=f"{self.method.name} answers with its last epoch's derived cell. Each row below "
                                    f"is an epoch's derived cell, "
                                    f"{'its val_acc measured on the supernet' if best is None else scored_by(best)}; "
                                    f"train the answer alone (transfer RUN_DIR, or evaluate) to know its own "
                                    f"accuracy.")
        if best is not None:
            weights = {key: value.cpu() for key, value in self.supernet.subnet_state_dict(best.candidate.point).items()}
            buffer = io.BytesIO()
            torch.save(weights, buffer)
            atomic_write_bytes(store.run_dir / BEST_WEIGHTS, buffer.getvalue())
        plot_oneshot([r.result.settings | {"val_acc": r.result.val_acc} for r in records], store.run_dir)

