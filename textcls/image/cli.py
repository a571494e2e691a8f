"""``textcls image train | evaluate | predict | models``."""

from __future__ import annotations

import sys

from textcls.errors import TextclsError


def cmd_models(args) -> int:
    from textcls.image.models import available_models

    for name, summary in available_models().items():
        print(f"{name:<18} {summary}")
    return 0


def train_config(args) -> dict:
    """Defaults, ``--config``, flags, ``--set``."""
    from textcls import config as cfg
    from textcls.image.job import resolve_config

    data = {"batch_size": args.batch_size, "valid_split": args.valid_split, "root": args.root,
            "num_workers": args.workers, "transform": "augment" if args.augment else args.transform}  # fmt: skip
    if args.download:
        data["download"] = True
    training = {"epochs": args.epochs, "lr": args.lr, "device": args.device, "seed": args.seed,
                "patience": args.patience}  # fmt: skip
    phases = {"freeze_epochs": args.freeze_epochs, "unfreeze_lr": args.unfreeze_lr}
    flags = {
        "model": args.model,
        "data": {k: v for k, v in data.items() if v is not None},
        "training": {k: v for k, v in training.items() if v is not None},
        "phases": {k: v for k, v in phases.items() if v is not None},
        "files": {"data": args.data} if args.data else {},
    }
    return resolve_config(None, args.config, [flags] + [cfg.parse_assignment(t) for t in args.set or []])


def cmd_train(args) -> int:
    from textcls.threads import header_before_output, set_threads

    with header_before_output(set_threads(args.threads)):
        return _train(args)


def _train(args) -> int:
    from textcls.distributed import is_main_process
    from textcls.image.job import train_image
    from textcls.interrupts import interruptible_run
    from textcls.runs.rundir import default_run_dir

    if args.resume:
        config, run_dir, resume = {}, args.resume, True
    else:
        config = train_config(args)
        if not config["files"]["data"]:
            raise TextclsError("image train needs --data NAME_OR_DIR (or files.data in --config, or --resume RUN_DIR)")
        run_dir, resume = args.output or default_run_dir(config["model"]), False
    with interruptible_run(run_dir, "textcls image train"):
        result = train_image(config, run_dir, resume=resume, overwrite=args.overwrite)
    if not is_main_process():  # under torchrun, rank 0 speaks for the run
        return 0
    for split in ("valid", "test"):
        if split in result:
            metrics = result[split]
            print(f"{split:<5}  accuracy {metrics['accuracy']:.2%}  macro-F1 {metrics['macro_f1']:.3f}  "
                  f"loss {metrics['loss']:.4f}")  # fmt: skip
    print(f"run saved in {run_dir}/ (model.pt, config.yaml, metrics.json, curves.png, samples.png, misclassified/)")
    print(f"  textcls image evaluate {run_dir} DATA    textcls image predict {run_dir} IMAGE...")
    return 0


def cmd_evaluate(args) -> int:
    from textcls.image.job import ImagePredictor
    from textcls.threads import set_threads
    from textcls.training.metrics import per_class_lines

    print(set_threads(args.threads), file=sys.stderr)  # standard output is the report
    result = ImagePredictor(args.run_dir, device=args.device).evaluate(args.data, args.root, everything=args.all)
    if result["scope"] == "held-out":
        print(
            f"{args.data} has one split, the run's training data: scoring the {result['images']:,} images held "
            f"out for validation (of {result['of']:,}); --all scores every image, training images included"
        )
    print(f"images    {result['images']:,}")
    print(f"accuracy  {result['accuracy']:.2%}")
    print(f"macro-f1  {result['macro_f1']:.3f}")
    print("\n".join(per_class_lines(result, "class")))
    return 0


def cmd_predict(args) -> int:
    import json

    from textcls.image.job import ImagePredictor
    from textcls.threads import set_threads

    print(set_threads(args.threads), file=sys.stderr)  # standard output is the predictions
    predictor = ImagePredictor(args.run_dir, device=args.device)
    for path, labels in zip(args.images, predictor.predict(args.images, top_k=args.top_k)):
        if args.json:
            print(json.dumps({"image": path, "labels": [{"label": n, "probability": p} for n, p in labels]}))
        else:
            print("  ".join(f"{label} {p:.3f}" for label, p in labels) + f"\t{path}")
    return 0


def add_image_commands(commands) -> None:
    """Add ``image`` with its sub-commands to the main parser's sub-commands."""
    from textcls.runs import add_overwrite_option
    from textcls.threads import add_threads_option

    image = commands.add_parser("image", help="image classifiers (the course's CNNs) on the same trainer")
    sub = image.add_subparsers(dest="image_command", metavar="COMMAND")
    sub.required = True

    models = sub.add_parser("models", help="list the image models")
    models.set_defaults(run=cmd_models)

    train = sub.add_parser("train", help="train an image classifier")
    train.add_argument("--model", help="model name (see 'textcls image models'; default mnist-cnn)")
    train.add_argument("--data", help="mnist, fashion-mnist, cifar10, a directory of IDX files, or an image folder")
    train.add_argument("--root", help="where torchvision datasets live (default ~/.cache/textcls/images)")
    train.add_argument("--download", action="store_true", help="let torchvision download a missing dataset")
    train.add_argument("--config", help="YAML file overriding the defaults (a run's config.yaml works too)")
    train.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE", help="override any config value")
    train.add_argument("--epochs", type=int)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--lr", type=float, help="learning rate")
    train.add_argument("--patience", type=int, help="early stopping patience in epochs (0: off)")
    train.add_argument("--valid-split", type=float, help="validation share of the training images (0.2)")
    transform = train.add_mutually_exclusive_group()
    transform.add_argument("--augment", action="store_true", help="random crops, flips, rotation, colour jitter")
    transform.add_argument("--transform", choices=("basic", "augment", "imagenet"), help="preprocessing preset")
    train.add_argument("--freeze-epochs", type=int, help="train only the head for N epochs (resnet50-transfer)")
    train.add_argument("--unfreeze-lr", type=float, help="learning rate once everything trains")
    train.add_argument("--workers", type=int, help="DataLoader worker processes")
    train.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps")
    train.add_argument("--seed", type=int)
    add_threads_option(train)
    train.add_argument("--output", help="run directory (default runs/MODEL-TIMESTAMP)")
    train.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run")
    add_overwrite_option(train)
    train.set_defaults(run=cmd_train)

    evaluate = sub.add_parser("evaluate", help="metrics of a trained image run on a dataset")
    evaluate.add_argument("run_dir")
    evaluate.add_argument("data", help="dataset name or directory (its test split; with one split: the held-out part)")
    evaluate.add_argument(
        "--all",
        action="store_true",
        help="with a one-split source the run trained on: score all of it, training images included",
    )
    evaluate.add_argument("--root", help="where torchvision datasets live")
    evaluate.add_argument("--device", default="cpu")
    add_threads_option(evaluate)
    evaluate.set_defaults(run=cmd_evaluate)

    predict = sub.add_parser("predict", help="top-k classes with probabilities for image files")
    predict.add_argument("run_dir")
    predict.add_argument("images", nargs="+", help="image files (png, jpg, ...)")
    predict.add_argument("--top-k", type=int, default=3)
    predict.add_argument("--json", action="store_true", help="one JSON object per line")
    predict.add_argument("--device", default="cpu")
    add_threads_option(predict)
    predict.set_defaults(run=cmd_predict)
