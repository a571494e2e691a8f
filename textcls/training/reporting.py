"""What a user sees and keeps while training: a progress bar, one line per epoch, TensorBoard scalars."""

from __future__ import annotations

import logging
import sys

log = logging.getLogger("textcls")


class _NoBar:
    def update(self, n=1, **postfix):
        pass

    def close(self):
        pass


class _Bar:
    def __init__(self, total: int, description: str):
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc=description, leave=False, dynamic_ncols=True, file=sys.stderr)

    def update(self, n=1, **postfix):
        self.bar.update(n)
        if postfix and self.bar.n % 10 == 0:
            self.bar.set_postfix({k: f"{v:.4f}" for k, v in postfix.items()}, refresh=False)

    def close(self):
        self.bar.close()


class Reporter:
    """Progress bars (tqdm), epoch lines (stdout) and TensorBoard scalars (``run_dir/tensorboard``).

    Args:
        run_dir: where TensorBoard events go (``None``: no TensorBoard).
        progress: show bars (``None``: only when stderr is a terminal).
    """

    def __init__(self, run_dir=None, progress: bool | None = None):
        self.progress_enabled = sys.stderr.isatty() if progress is None else bool(progress)
        self.writer = None
        self.log_dir = None if run_dir is None else run_dir / "tensorboard"
        if run_dir is not None:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir=str(self.log_dir))

    def progress(self, total: int, description: str):
        return _Bar(total, description) if self.progress_enabled else _NoBar()

    def epoch(self, result, epochs: int) -> None:
        train, valid = result.train, result.valid or {}
        parts = [
            f"epoch {result.epoch:>2}/{epochs}",
            f"train loss {train['loss']:.4f} acc {train.get('accuracy', 0):.2%}",
        ]
        if valid:
            f1 = valid.get("macro_f1")
            parts.append(
                f"valid loss {valid['loss']:.4f} acc {valid.get('accuracy', 0):.2%}"
                + (f" macro-F1 {f1:.3f}" if f1 is not None else "")
            )
        parts.append(f"lr {result.lr:.2g}")
        parts.append(f"{result.seconds:.1f}s")
        parts.append(f"{result.examples_per_s:,.0f} ex/s")
        if result.tokens_per_s:
            parts.append(f"{result.tokens_per_s:,.0f} tok/s")
        print("  ".join(parts) + ("  *" if result.best else ""), flush=True)
        if self.writer is not None:
            step = result.epoch
            for split, metrics in (("train", train), ("valid", valid)):
                for name in ("loss", "accuracy", "macro_f1", "micro_f1"):
                    if name in metrics:
                        self.writer.add_scalar(f"{name}/{split}", metrics[name], step)
            self.writer.add_scalar("lr", result.lr, step)
            self.writer.add_scalar("throughput/examples_per_s", result.examples_per_s, step)
            if result.tokens_per_s:
                self.writer.add_scalar("throughput/tokens_per_s", result.tokens_per_s, step)
            self.writer.flush()

    def step(self, step: int, loss: float, lr: float) -> None:
        """TensorBoard's per-step scalars ``step/loss`` (the batch's training loss) and ``step/lr`` after
        optimizer step ``step`` (nothing without TensorBoard)."""
        if self.writer is not None:
            self.writer.add_scalar("step/loss", loss, step)
            self.writer.add_scalar("step/lr", lr, step)

    def hparams(self, hparams: dict, metrics: dict) -> None:
        """The run's hyper-parameters with its final metrics in TensorBoard's HParams tab
        (``tensorboard/hparams``; nothing without TensorBoard).

        Args:
            hparams: flat ``{name: value}``; values that are not numbers, strings or booleans are written as text.
            metrics: flat ``{name: number}`` (e.g. ``hparam/valid_accuracy``).
        """
        if self.log_dir is None:
            return
        from torch.utils.tensorboard import SummaryWriter

        clean = {key: value if isinstance(value, (bool, int, float, str)) else str(value)
                 for key, value in hparams.items()}  # fmt: skip
        with SummaryWriter(log_dir=str(self.log_dir)) as writer:
            writer.add_hparams(clean, {key: float(value) for key, value in metrics.items()}, run_name="hparams")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
