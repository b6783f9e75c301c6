"""Per-epoch training curves as TensorBoard event files, one run per candidate.

``tensorboard --logdir RUN_DIR`` then shows every candidate's loss and accuracy epoch by
epoch (through ``torch.utils.tensorboard``; TensorBoard is the optional ``dashboard``
extra, and without it nothing is written). A candidate a scheduler stops and later
continues writes on in the same folder, its epochs numbered on from where it stopped; a
training that starts again at an epoch already written (a resume after a kill) replaces
what was written from there on.
"""
from __future__ import annotations

import importlib.util
import logging
import time
from pathlib import Path
from typing import Any, Mapping

from nasbench.train.trainer import ProgressCallback

LOG = logging.getLogger("nasbench.curves")


def tensorboard_installed() -> bool:
    return importlib.util.find_spec("tensorboard") is not None


class TrainingCurves:
    """Scalars by epoch into ``log_dir`` (created at the first one); ``close`` flushes.
    A writer that fails says so once and writes no more: the curves never stop a training."""

    def __init__(self, log_dir: Path):
        self.log_dir = Path(log_dir)
        self._writer: Any = None
        self._broken = not tensorboard_installed()

    def add(self, epoch: int, scalars: Mapping[str, float | None]) -> None:
        if self._broken:
            return
        try:
            if self._writer is None:
                from torch.utils.tensorboard import SummaryWriter

                _after_earlier_files(self.log_dir)
                # purge_step: TensorBoard drops what an earlier, killed writer left at these epochs
                self._writer = SummaryWriter(log_dir=str(self.log_dir), purge_step=epoch)
            for name, value in scalars.items():
                if value is not None:
                    self._writer.add_scalar(name, float(value), epoch)
            self._writer.flush()  # on disk each epoch: a live TensorBoard shows it, a kill loses none
        except Exception as exc:  # noqa: BLE001 - a curve is a view, never worth a training
            self._broken = True
            LOG.warning("TensorBoard curves stopped for %s: %s", self.log_dir, exc)

    def wrap(self, progress: ProgressCallback | None) -> ProgressCallback:
        """A per-epoch callback that writes ``val_acc`` and ``train_loss``, then asks
        ``progress`` (if any) whether to go on."""
        def record(epoch: int, val_acc: float, train_loss: float) -> bool | None:
            self.add(epoch, {"val_acc": val_acc, "train_loss": train_loss})
            return None if progress is None else progress(epoch, val_acc, train_loss)
        return record

    def close(self) -> None:
        if self._writer is not None:
            try:
                self._writer.close()
            except Exception as exc:  # noqa: BLE001
                LOG.warning("TensorBoard curves for %s not flushed: %s", self.log_dir, exc)
            self._writer = None

    def __enter__(self) -> "TrainingCurves":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _after_earlier_files(log_dir: Path) -> None:
    """Wait, if need be, for a second no event file in ``log_dir`` was begun in.
    TensorBoard reads a folder's files in name order, and a name is the second its writer
    began, then its host, pid and a counter (``...tfevents.1796687704.host.77.10``), which
    orders ``.10`` before ``.9``: a second writer begun in the same second as the first
    (a halving rung that continues a candidate at once) could be read first."""
    now = int(time.time())
    if any(path.name.startswith(f"events.out.tfevents.{now}.") for path in Path(log_dir).glob("events.out.tfevents.*")):
        time.sleep(now + 1 - time.time() + 0.001)


def trial_curves(folder: Path, trial: int) -> TrainingCurves:
    """The curves of search trial ``trial`` under ``folder`` (``RUN_DIR/tensorboard``)."""
    return TrainingCurves(Path(folder) / f"trial_{trial:05d}")
