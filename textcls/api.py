"""The Python API at the top of the package: ``textcls.load(RUN)`` and ``textcls.train(FILE, ...)``.

Both return a :class:`Classifier`, which wraps the run's :class:`~textcls.jobs.predict.Predictor`::

    clf = textcls.train("news.csv", model="bag", output="runs/news", epochs=5)
    clf.predict(["stocks fell sharply"])           # ['business']
    clf.predict(["stocks fell"], k=2)               # [[('business', 0.91), ('world', 0.05)]]
    clf.predict_proba(["stocks fell"])              # numpy array [1, len(clf.labels)]
    clf.evaluate("test.csv")["accuracy"]

This module (and torch) is imported only when ``textcls.load`` / ``textcls.train`` / ``textcls.Classifier`` is
first used: ``import textcls`` stays cheap.
"""

from __future__ import annotations

from pathlib import Path

from textcls.errors import TextclsError


class Classifier:
    """A trained text classifier loaded from its run directory.

    Args:
        run_dir: the run directory written by ``textcls train`` / :func:`train`.
        device: where to run the model (``cpu``, ``cuda``, ``auto``...).

    Attributes:
        labels: the label names, in the order of :meth:`predict_proba`'s columns.
        kind: ``binary``, ``multiclass`` or ``multilabel``.
        run_dir: the run directory.
        metrics: the metrics saved with the run at the end of training (``metrics.json``; ``{}`` without one).
    """

    def __init__(self, run_dir, device: str = "cpu"):
        from textcls.jobs.predict import Predictor

        self.run_dir = Path(run_dir)
        self.device = device
        self._predictor = Predictor(run_dir, device=device)
        self.labels: list[str] = self._predictor.labels
        self.kind: str = self._predictor.task.kind
        metrics = self.run_dir / "metrics.json"
        self.metrics: dict = self._predictor.run.read_json("metrics.json") if metrics.exists() else {}

    def __repr__(self) -> str:
        return f"Classifier({str(self.run_dir)!r}, {self.kind}, labels={self.labels!r})"

    def predict(self, texts, k: int = 1, threshold=None):
        """Predicted labels.

        Args:
            texts: a list of texts (or one text: then its result alone is returned).
            k: labels per text: with the default ``1`` (and no ``threshold``) the result is one label per text
                (a multi-label run: the list of labels over their thresholds); with ``k > 1`` or ``-1`` (every
                label) or a ``threshold``, a list per text of ``(label, probability)``, most likely first.
            threshold: drop labels with a lower probability (a number in [0, 1]; multi-label runs also take
                ``"global"`` / ``"per_class"``, their thresholds tuned on the validation split, which are the
                default there).

        Returns:
            one result per text, in order.
        """
        single = isinstance(texts, str)
        texts = [texts] if single else list(texts)
        labels_only = k == 1 and threshold is None
        every = labels_only and self.kind == "multilabel"  # all the labels over their thresholds
        pairs = self._predictor.predict(texts, top_k=-1 if every else k, threshold=threshold)
        if labels_only:
            if self.kind == "multilabel":
                result = [[label for label, _ in row] for row in pairs]
            else:
                result = [row[0][0] for row in pairs]
        else:
            result = pairs
        return result[0] if single else result

    def predict_proba(self, texts):
        """Probabilities as a numpy array ``[len(texts), len(labels)]``, columns in :attr:`labels` order
        (single-label rows sum to 1; multi-label: each label's own probability).

        Args:
            texts: a list of texts (or one text: a 1-D array).
        """
        single = isinstance(texts, str)
        probabilities = self._predictor.probabilities([texts] if single else list(texts)).numpy()
        return probabilities[0] if single else probabilities

    def evaluate(self, data, top_k: int | None = None, threshold=None) -> dict:
        """Metrics on labelled data (nothing is written).

        Args:
            data: a labelled file (the training file's layout, or a fastText ``__label__`` file), or a list of
                ``(text, label)`` pairs (multi-label: ``(text, [labels])``).
            top_k: also report ``top_k_accuracy``.
            threshold: multi-label decision thresholds (as in :meth:`predict`).

        Returns:
            the report of ``textcls evaluate --json``: ``accuracy``, ``macro_f1``, the macro and weighted
            precision/recall/F1, ``per_class``, ``confusion`` (rows: true, columns: predicted, in ``labels``
            order), ``loss``, ``examples``...
        """
        from textcls.jobs.predict import evaluate_file

        if isinstance(data, (str, Path)):
            return evaluate_file(self.run_dir, str(data), self.device, top_k=top_k, threshold=threshold)
        import tempfile

        from textcls.fasttext_lines import FASTTEXT_PREFIX

        pairs = list(data)
        if not pairs:
            raise TextclsError("nothing to evaluate: give a file or a non-empty list of (text, label) pairs")
        with tempfile.TemporaryDirectory(prefix="textcls-evaluate-") as folder:
            path = Path(folder) / "data.fasttext"
            lines = []
            for text, labels in pairs:
                labels = labels if isinstance(labels, (list, tuple)) else [labels]
                for label in labels:
                    if any(c.isspace() for c in str(label)):
                        raise TextclsError(f"label {label!r} has a space; give a file to evaluate it")
                words = " ".join(str(text).split())
                lines.append(" ".join(FASTTEXT_PREFIX + str(label) for label in labels) + " " + words)
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            return evaluate_file(self.run_dir, str(path), self.device, top_k=top_k, threshold=threshold)


def load(run_dir, device: str = "cpu") -> Classifier:
    """The classifier trained in ``run_dir`` (see :class:`Classifier`).

    Args:
        run_dir: a run directory written by ``textcls train`` or :func:`train`.
        device: where to run the model.
    """
    return Classifier(run_dir, device=device)


_FILES = ("valid", "test")


def train(file=None, model: str | None = None, output=None, config=None, overwrite: bool = False, **settings):
    """Train a text classifier as ``textcls train`` does and return it loaded (:class:`Classifier`; its
    ``metrics`` are the final validation/test scores the command prints).

    Args:
        file: the training file (csv / tsv / json / jsonl / fastText ``__label__`` lines).
        model: the model name (``textcls models``; default: ``config``'s, else ``bilstm``).
        output: the run directory (default ``runs/MODEL-TIMESTAMP``).
        config: a YAML config file (as ``--config``).
        overwrite: replace a non-empty ``output``.
        **settings: any setting of the config by its key, as the flags of ``textcls train`` (``valid=``,
            ``test=`` files; ``data`` keys such as ``tokenizer``, ``batch_size``, ``text_col``, ``multilabel``,
            ``class_weights``; ``training`` keys such as ``epochs``, ``lr``, ``device``, ``seed``);
            ``model_options={...}`` for the model's own options. An unknown key is refused in one line.
    """
    from textcls import config as cfg
    from textcls.config import TextRunConfig
    from textcls.jobs.train import train_text
    from textcls.runs.rundir import default_run_dir

    sections = {name: set(keys) for name, keys in TextRunConfig().to_dict().items() if isinstance(keys, dict)}
    layer: dict = {"data": {}, "training": {}, "files": {}, "model_options": dict(settings.pop("model_options", {}))}
    if file is not None:
        layer["files"]["train"] = str(file)
    if model is not None:
        layer["model"] = model
    for key, value in settings.items():
        if key in _FILES:
            layer["files"][key] = None if value is None else str(value)
        elif key in sections["data"]:
            layer["data"][key] = value
        elif key in sections["training"]:
            layer["training"][key] = value
        else:
            known = sorted(sections["data"] | sections["training"] | set(_FILES))
            raise TextclsError(f"textcls.train got an unknown setting {key!r}; settings are: {', '.join(known)}")
    resolved = cfg.resolve(None, config, [layer])
    if not resolved["files"]["train"]:
        raise TextclsError("textcls.train needs a training file (or files.train in config)")
    run_dir = output or default_run_dir(resolved["model"])
    train_text(resolved, run_dir, overwrite=overwrite)
    return Classifier(run_dir, device=resolved["training"]["device"])
