"""What text and image runs share: the run directory (:mod:`textcls.runs.rundir`: the ``RunDir`` base with its
format marker, JSON files, default run names) and the PNGs a run keeps (:mod:`textcls.runs.plots`)."""
