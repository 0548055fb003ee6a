"""One module per log format. Each module defines:

- ``FORMAT``: the format id (``"keras_csv"``) shown by ``inspect`` and accepted by ``--log-format``;
- ``DESCRIPTION``: one line for ``overfit-doctor formats``;
- ``sniff(path: Path, head: str) -> float``: confidence 0..1 that ``path`` (a file, or a directory
  for formats that are folders) is in this format; ``head`` is the start of a file as text
  (empty for directories). Must be cheap and never raise;
- ``read(path: Path) -> list[RawRun]``: parse it; raise ``InputError`` with a one-line reason
  when the file is in this format but unusable.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# Order matters only to break ties between equal sniff scores: specific formats first.
READER_MODULES = (
    "hf_trainer_state",
    "lightning_csv",
    "yolo_csv",
    "ray_tune",
    "mlflow",
    "tensorboard",
    "detectron2",
    "wandb",
    "json_history",
    "csv_table",
    "plain_text",
)


def all_readers() -> list[ModuleType]:
    """The reader modules, imported on demand."""
    return [importlib.import_module(f"{__name__}.{name}") for name in READER_MODULES]


def reader_for(fmt: str) -> ModuleType:
    for module in all_readers():
        if fmt == module.FORMAT or fmt in getattr(module, "ALIASES", ()):
            return module
    known = ", ".join(m.FORMAT for m in all_readers())
    from overfit_doctor.errors import UsageError

    raise UsageError(f"unknown log format {fmt!r}; known formats: {known}")
