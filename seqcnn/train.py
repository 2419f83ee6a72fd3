"""Training: a :class:`TrainConfig` and a :class:`Trainer` that knows nothing about the model.

A training set is anything with tensors ``x`` (inputs, ``(N, 4, L)`` sequences or
``(N, C, H, W)`` images) and ``y`` (labels: ``(N, T)`` float for binary, multilabel and
regression tasks, ``(N,)`` int64 class indices for multiclass). If it also has a
``set_epoch(epoch)`` method, the trainer calls it at the start of every epoch, so a dataset can
draw fresh negatives or shifts (as ``DistributedSampler.set_epoch`` does for sampling).

Under ``torchrun`` (``WORLD_SIZE > 1``) the trainer joins the process group, wraps the model in
``DistributedDataParallel`` and gives each rank its own share of every epoch; only rank 0
writes files.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from seqcnn import checkpoint
from seqcnn.datasets import TensorData
from seqcnn.exceptions import ConfigError, InputError
from seqcnn.loader import prefetch
from seqcnn.metrics import DEFAULT_MONITOR, TASKS, compute_metrics
from seqcnn.predict import predict
from seqcnn.sequence import CompactOneHot, one_hot_bytes, to_batch
from seqcnn.utils import atomic_write

#: Batches made ahead, in a background thread, when host batches feed a GPU.
PREFETCH = 3


@dataclass
class TrainConfig:
    """Training options. Every field is a command-line option of ``seqcnn train``."""

    epochs: int = 20  # upper bound; early stopping usually ends training sooner
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 0.0  # L2 penalty (decoupled for adamw)
    optimizer: str = "adam"  # adam | adamw | sgd (with momentum)
    momentum: float = 0.9  # sgd only
    lr_schedule: str = "plateau"  # none | plateau (halve after 2 flat epochs) | cosine
    patience: int = 4  # epochs without improvement of `monitor` before stopping
    min_delta: float = 1e-3  # smaller gains of `monitor` do not count as improvement
    monitor: str = "auto"  # auto (auroc | pearson | accuracy by task) or loss
    class_weight: str = "none"  # none | balanced (weights inversely proportional to class size)
    grad_clip: float = 0.0  # max gradient norm; 0 disables
    device: str = "auto"  # auto (CUDA when present, else CPU) | cpu | cuda | cuda:N
    amp: bool = True  # mixed precision, on CUDA only
    compile: bool = False  # torch.compile the model for training (slow to start; for GPUs)
    seed: int = 0  # CPU runs with the same seed give bit-identical weights
    threads: int = 0  # torch CPU threads; 0 leaves torch's choice
    verbose: bool = True  # progress bar and one line per epoch

    def __post_init__(self) -> None:
        choices = {
            "optimizer": ("adam", "adamw", "sgd"),
            "lr_schedule": ("none", "plateau", "cosine"),
            "class_weight": ("none", "balanced"),
        }
        for name, valid in choices.items():
            if getattr(self, name) not in valid:
                raise ConfigError(
                    f"{name} {getattr(self, name)!r} is not valid; choose one of: "
                    + ", ".join(valid)
                )
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ConfigError(f"lr must be positive, got {self.lr}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` picks CUDA when present, else CPU; an unavailable CUDA request is an error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ConfigError(
            f"device {device!r} is not valid; use auto, cpu, cuda or cuda:N"
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"device {device!r} requested but CUDA is not available; use --device cpu"
        )
    return dev


def is_main_process() -> bool:
    """True unless this is a non-zero rank of a ``torchrun`` job (only rank 0 writes files)."""
    return int(os.environ.get("RANK", "0")) == 0


def _distributed() -> tuple[int, int]:
    """(rank, world size), joining the process group that torchrun describes if needed."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
    return dist.get_rank(), dist.get_world_size()


class Trainer:
    """Fits a model, with early stopping, checkpoints and resume.

    Parameters
    ----------
    model : torch.nn.Module
        Maps inputs ``(N, ...)`` to logits ``(N, T)`` (or ``(N, K)`` for multiclass).
    config : TrainConfig, optional
    task : {"binary", "multilabel", "regression", "multiclass"}
    target_names : list of str, optional
        Names of the outputs, for metrics and plots.

    Attributes
    ----------
    history_ : pandas.DataFrame
        One row per epoch: losses, validation metrics, learning rate, seconds.
    best_epoch_, best_score_ :
        The epoch whose weights were kept and its monitored value.
    device_ : torch.device

    Examples
    --------
    >>> from seqcnn.datasets import Tensors
    >>> from seqcnn.models import create_model
    >>> data = Tensors(torch.randn(64, 4, 30), (torch.rand(64, 1) > 0.5).float())
    >>> trainer = Trainer(create_model("deepbind"), TrainConfig(epochs=2, verbose=False))
    >>> trainer.fit(data, data).history_.shape[0]
    2
    """

    def __init__(
        self,
        model: nn.Module,
        config: TrainConfig | None = None,
        task: str = "binary",
        target_names: list[str] | None = None,
    ) -> None:
        self.model = model
        self.config = config or TrainConfig()
        self.task = task
        self.target_names = target_names
        if task not in TASKS:
            raise ConfigError(f"task {task!r} is not valid; choose one of: {', '.join(TASKS)}")

    # ------------------------------------------------------------------ set-up
    def _monitor(self) -> tuple[str, bool]:
        if self.config.monitor in ("loss", "valid_loss"):
            return "loss", False
        if self.config.monitor == "auto":
            return DEFAULT_MONITOR[self.task]
        return self.config.monitor.removeprefix("valid_"), self.config.monitor != "mse"

    def _loss_fn(self, y: torch.Tensor) -> nn.Module:
        balanced = self.config.class_weight == "balanced"
        if self.task == "multiclass":
            weight = None
            if balanced:
                counts = torch.bincount(y.long(), minlength=self._n_outputs).float()
                weight = len(y) / (len(counts) * counts.clamp(min=1))
            return nn.CrossEntropyLoss(weight=weight)
        if self.task == "regression":
            return nn.MSELoss()
        pos_weight = None
        if balanced:
            pos = y.nansum(0)
            pos_weight = ((len(y) - pos) / pos.clamp(min=1)).float()
        return nn.BCEWithLogitsLoss(pos_weight=pos_weight)

    def _optimizer(self, params) -> torch.optim.Optimizer:
        c = self.config
        if c.optimizer == "sgd":
            return torch.optim.SGD(
                params, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay
            )
        cls = torch.optim.AdamW if c.optimizer == "adamw" else torch.optim.Adam
        return cls(params, lr=c.lr, weight_decay=c.weight_decay)

    def _scheduler(self, optimizer, larger_is_better: bool):
        if self.config.lr_schedule == "plateau":
            mode = "max" if larger_is_better else "min"
            return torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, mode, factor=0.5, patience=1
            )
        if self.config.lr_schedule == "cosine":
            return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=self.config.epochs)
        return None

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        train: TensorData,
        valid: TensorData | None = None,
        run_dir: str | Path | None = None,
        resume: bool = False,
    ) -> Trainer:
        """Train on ``train``, keep the weights that score best on ``valid``.

        Without ``valid`` the training loss is monitored. With ``run_dir`` the best weights
        (``model.safetensors``), ``history.csv`` and a resumable ``checkpoint/`` are written
        after every epoch; ``resume=True`` continues from that checkpoint.
        """
        c = self.config
        if c.threads:
            torch.set_num_threads(c.threads)
        self._check_data(train, "training")
        if valid is not None:
            self._check_data(valid, "validation")
        rank, world = self._rank, self._world = _distributed()
        self.device_ = resolve_device(c.device)
        if world > 1 and self.device_.type == "cuda":
            self.device_ = torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank)))
            torch.cuda.set_device(self.device_)
        use_amp = self._amp = c.amp and self.device_.type == "cuda"
        bf16 = use_amp and torch.cuda.is_bf16_supported()
        self._amp_dtype = torch.bfloat16 if bf16 else torch.float16
        scaler = torch.amp.GradScaler("cuda", enabled=use_amp and not bf16)

        torch.manual_seed(c.seed)
        generator = torch.Generator().manual_seed(c.seed)
        self._n_outputs = int(train.y.max().item()) + 1 if self.task == "multiclass" else None
        model = self.model.to(self.device_)
        net: nn.Module = model
        if c.compile:  # the compiled module trains; `model` (same parameters) is what is saved
            net = torch.compile(model)
        if world > 1:
            net = nn.parallel.DistributedDataParallel(
                net, device_ids=[self.device_.index] if self.device_.type == "cuda" else None
            )
        monitor, larger_is_better = self._monitor()
        optimizer = self._optimizer(model.parameters())
        scheduler = self._scheduler(optimizer, larger_is_better)

        run_dir = Path(run_dir) if run_dir is not None else None
        writer = rank == 0 and run_dir is not None
        if writer:
            run_dir.mkdir(parents=True, exist_ok=True)
        history: list[dict[str, Any]] = []
        self.best_score_, self.best_epoch_, bad_epochs, start = -math.inf, 0, 0, 1
        if resume and run_dir is None:
            raise ConfigError("resume needs the run directory of the interrupted run")
        if resume and not checkpoint.has_training_state(run_dir):
            warnings.warn(
                f"{run_dir}: no checkpoint yet (interrupted in its first epoch); training from "
                "epoch 1",
                stacklevel=2,
            )
            resume = False
        if resume:
            info = checkpoint.load_training_state(run_dir, model, optimizer, scheduler, generator)
            start = info["epoch"] + 1
            self.best_score_, self.best_epoch_ = info["best_score"], info["best_epoch"]
            bad_epochs = info["bad_epochs"]
            history = pd.read_csv(run_dir / checkpoint.HISTORY).to_dict("records")[: info["epoch"]]
        best_state = None

        for epoch in range(start, c.epochs + 1):
            if bad_epochs >= c.patience:
                break
            t0 = time.perf_counter()
            if hasattr(train, "set_epoch"):
                train.set_epoch(epoch)
            loss_fn = self._loss_fn(train.y).to(self.device_)
            train_loss = self._train_epoch(net, train, loss_fn, optimizer, scaler, generator, epoch)
            row: dict[str, Any] = {"epoch": epoch, "train_loss": train_loss}
            if valid is not None:
                scores = self._score(model, valid)
                row["valid_loss"] = self._loss_value(loss_fn, scores, valid.y)
                row.update({f"valid_{k}": v for k, v in self._metrics(valid.y, scores).items()})
                current = row["valid_loss"] if monitor == "loss" else row.get(f"valid_{monitor}")
                if current is None:
                    raise ConfigError(
                        f"monitor {c.monitor!r} is not a metric of a {self.task} task; choose one "
                        f"of: loss, {', '.join(k for k in row if k.startswith('valid_'))}"
                    )
            else:
                current = train_loss
                larger_is_better = False
            score = current if larger_is_better else -current
            row["lr"] = optimizer.param_groups[0]["lr"]
            improved = score > self.best_score_ + c.min_delta
            if improved:
                self.best_score_, self.best_epoch_, bad_epochs = score, epoch, 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                if writer:
                    checkpoint.save_weights(model, run_dir / checkpoint.WEIGHTS)
            else:
                bad_epochs += 1
            row["best"] = improved
            row["seconds"] = round(time.perf_counter() - t0, 3)
            history.append(row)
            if scheduler is not None:
                if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                    scheduler.step(current)
                else:
                    scheduler.step()
            if writer:
                self._write_history(history, run_dir / checkpoint.HISTORY)
                info = {
                    "epoch": epoch,
                    "best_score": self.best_score_,
                    "best_epoch": self.best_epoch_,
                    "bad_epochs": bad_epochs,
                }
                checkpoint.save_training_state(
                    run_dir, model, optimizer, scheduler, info, generator
                )
            if c.verbose and rank == 0:
                self._log(row, monitor)

        if best_state is not None:
            model.load_state_dict(best_state)
        elif resume and run_dir is not None and (run_dir / checkpoint.WEIGHTS).is_file():
            checkpoint.load_weights(model, run_dir / checkpoint.WEIGHTS)
        self.history_ = pd.DataFrame(history)
        model.eval()
        return self

    def _check_data(self, data: TensorData, what: str) -> None:
        if len(data.x) != len(data.y):
            raise InputError(f"{what} data has {len(data.x)} inputs but {len(data.y)} labels")
        if len(data.x) == 0:
            raise InputError(f"{what} data is empty")

    def _on_device(self, data) -> tuple[Any, torch.Tensor]:
        """``(x, y)`` of the epoch: on a GPU, a compact training set that fits in a quarter
        of its free memory is copied there once per epoch (one byte per base) and batches
        are gathered on the device; otherwise batches travel from pinned host memory."""
        if self.device_.type != "cuda" or not isinstance(data.x, CompactOneHot):
            return data.x, data.y
        free, _ = torch.cuda.mem_get_info(self.device_)
        if data.x.nbytes + data.y.numel() * 4 > free // 4:
            return data.x, data.y
        return data.x.to(self.device_), data.y.to(self.device_)

    def _train_epoch(self, net, data, loss_fn, optimizer, scaler, generator, epoch) -> float:
        from tqdm.auto import tqdm

        c = self.config
        net.train()
        order = torch.randperm(len(data.x), generator=generator)
        xs, ys = self._on_device(data)
        rank, world = self._rank, self._world
        if world > 1:  # every rank gets an equal share (DDP needs the same number of steps)
            order = order[: len(order) - len(order) % world][rank::world]
        batches = order.split(c.batch_size)
        # the loss is summed on the device (float64, as Python floats would): no sync per step
        total = torch.zeros((), dtype=torch.float64, device=self.device_)
        count = 0
        show = c.verbose and rank == 0 and sys.stderr.isatty()
        bar = tqdm(
            total=len(batches),
            desc=f"epoch {epoch}/{c.epochs}",
            leave=False,
            disable=not show,
            unit="batch",
        )
        for step, (idx, x, y) in enumerate(self._batches(xs, ys, data, batches)):
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(self.device_.type, dtype=self._amp_dtype, enabled=self._amp):
                out = net(x)
            loss = self._loss_value(loss_fn, out.float(), y, as_tensor=True)
            scaler.scale(loss).backward()
            if c.grad_clip:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(net.parameters(), c.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            total += loss.detach().double() * len(idx)
            count += len(idx)
            bar.update()
            if show and step % 20 == 0:
                bar.set_postfix(loss=f"{float(total) / count:.4f}", refresh=False)
        bar.close()
        return float(total) / max(count, 1)

    def _prefetching(self) -> bool:
        """Whether batches travel from host memory to a GPU (then they are made ahead)."""
        return self.device_.type == "cuda"

    def _batches(self, xs, ys, data, batches) -> Iterator[tuple[torch.Tensor, ...]]:
        """``(index, x, y)`` per batch, on the device. A training set already on the device is
        gathered there; host batches to a GPU are gathered into pinned memory by a background
        thread (:func:`seqcnn.loader.prefetch`) while the device works on earlier steps."""
        dev = self.device_
        if xs is not data.x:  # the whole set is on the device: gather there
            for idx in batches:
                on_dev = idx.to(dev, non_blocking=True)
                yield idx, to_batch(xs, on_dev, dev), ys[on_dev]
            return
        if not self._prefetching():
            for idx in batches:
                yield idx, to_batch(xs, idx, dev), ys[idx].to(dev, non_blocking=True)
            return
        compact = isinstance(xs, CompactOneHot)
        pin = dev.type == "cuda"

        def host(idx):  # in the background thread: gather (and pin) on the CPU
            part = xs.data[idx] if compact else xs[idx]
            label = ys[idx]
            return idx, *(t.pin_memory() if pin else t for t in (part, label))

        for idx, part, label in prefetch((host(idx) for idx in batches), depth=PREFETCH):
            x = (
                one_hot_bytes(part, device=dev, ambiguous=xs.ambiguous)
                if compact
                else part.to(dev, non_blocking=True)
            )
            yield idx, x, label.to(dev, non_blocking=True)

    def _loss_value(self, loss_fn, out, y, as_tensor: bool = False):
        y = y.to(out.device)
        if self.task == "multiclass":
            loss = loss_fn(out, y.long())
        else:
            mask = ~torch.isnan(y)  # missing labels in multi-task data do not count
            loss = loss_fn(out[mask], y[mask]) if not mask.all() else loss_fn(out, y)
        return loss if as_tensor else float(loss)

    def _score(self, model, data) -> torch.Tensor:
        with torch.autocast(self.device_.type, dtype=self._amp_dtype, enabled=self._amp):
            out = predict(
                model, data.x, batch_size=max(self.config.batch_size, 256), device=self.device_
            )
        return out.float()

    def _metrics(self, y: torch.Tensor, scores: torch.Tensor) -> dict[str, float]:
        return compute_metrics(y.numpy(), scores.numpy(), self.task, self.target_names)

    # ------------------------------------------------------------------ use
    def evaluate(self, data: TensorData) -> dict[str, float]:
        """Loss and metrics of the model on labelled ``data`` (before ``fit`` too)."""
        return self.evaluate_scores(data)[0]

    def evaluate_scores(self, data: TensorData) -> tuple[dict[str, float], torch.Tensor]:
        """:meth:`evaluate`'s metrics and the scores ``(N, T)`` they were computed from."""
        device = getattr(self, "device_", None) or resolve_device(self.config.device)
        scores = predict(self.model, data.x, batch_size=256, device=device).float()
        out = {"loss": self._loss_value(self._loss_fn(data.y), scores, data.y), "n": len(data.y)}
        out.update(self._metrics(data.y, scores))
        return out, scores

    @staticmethod
    def _write_history(history: list[dict[str, Any]], path: Path) -> None:
        with atomic_write(path, newline="") as fh:
            pd.DataFrame(history).to_csv(fh, index=False, float_format="%.6g")

    def _log(self, row: dict[str, Any], monitor: str) -> None:
        from tqdm.auto import tqdm

        parts = [f"epoch {row['epoch']:>3}", f"train loss {row['train_loss']:.4f}"]
        if "valid_loss" in row:
            parts.append(f"valid loss {row['valid_loss']:.4f}")
        key = f"valid_{monitor}"
        if monitor != "loss" and key in row and np.isfinite(row[key]):
            parts.append(f"valid {monitor} {row[key]:.4f}")
        parts.append(f"{row['seconds']:.1f}s" + (" *" if row["best"] else ""))
        tqdm.write("  ".join(parts), file=sys.stderr)
