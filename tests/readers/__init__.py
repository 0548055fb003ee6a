"""Helpers shared by the reader tests."""


def curve(history, run, split, metric):
    """Rows of one curve of one run, in logging order (step, then epoch)."""
    f = history.frame
    rows = f[(f["run"] == run) & (f["split"] == split) & (f["metric"] == metric)]
    return rows.sort_values(["step", "epoch"])


def pairs(history, run):
    """The (split, metric) pairs of a run."""
    f = history.run(run)
    return set(zip(f["split"], f["metric"], strict=True))
