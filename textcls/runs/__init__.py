"""What text and image runs share: the run directory (:mod:`textcls.runs.rundir`: the ``RunDir`` base with its
format marker, JSON files, default run names) and the PNGs a run keeps (:mod:`textcls.runs.plots`)."""


def add_overwrite_option(parser) -> None:
    """``--overwrite`` for a training command: replace a non-empty ``--output`` (refused otherwise, and always
    while it is being trained). Here, not in :mod:`textcls.runs.rundir`, so that building the command line does not
    import torch.

    Args:
        parser: the command's ``argparse`` parser.
    """
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty --output directory")
