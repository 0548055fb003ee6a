"""`Spec`: what the active checks need (a model factory, data, loss, optimizer), and loading one
from a user's Python file (`path/to/spec.py[:name]`). No torch import here."""

from __future__ import annotations

import importlib.util
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from overfit_doctor.errors import InputError


@dataclass
class Spec:
    """A PyTorch model factory plus its data.

    model: zero-argument callable returning a fresh `torch.nn.Module`.
    train / val: `(X, y)` tensors or arrays, a `Dataset`, or a `DataLoader` (val optional).
    loss: a loss module or callable `(output, target) -> scalar`; inferred from targets if None.
    optimizer: callable `(params) -> torch.optim.Optimizer`; `Adam(lr=1e-3)` when None.
    batch_size: batch size of the experiments (a DataLoader's own batch size wins).
    """

    model: Callable[[], Any]
    train: Any
    val: Any = None
    loss: Any = None
    optimizer: Callable[[Any], Any] | None = None
    batch_size: int = 32

    def __post_init__(self) -> None:
        is_instance = not isinstance(self.model, type) and hasattr(self.model, "state_dict")
        if is_instance and hasattr(self.model, "parameters"):
            raise InputError(
                "Spec(model=...) got a model instance; pass a zero-argument factory instead "
                "(e.g. `model=MyNet` or `model=lambda: MyNet(...)`) so every experiment starts "
                "from a fresh model"
            )
        if not callable(self.model):
            raise InputError(
                "Spec(model=...) must be a zero-argument callable returning a fresh nn.Module "
                f"(got {type(self.model).__name__}; pass the class or a factory, not an instance)"
            )
        if self.train is None:
            raise InputError("Spec(train=...) is required")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise InputError(
                f"Spec(batch_size=...) must be a positive int, got {self.batch_size!r}"
            )


def load_spec(target: str | Path) -> Spec:
    """Import `file.py[:name]` as `python file.py` would (its folder first on sys.path) and
    return the Spec it names (`spec` by default); the attribute may be a Spec or a zero-argument
    callable returning one. Every failure is an InputError with a one-line reason."""
    text = str(target)
    path_text, name = text, "spec"
    if ":" in text and not Path(text).exists():
        path_text, _, name = text.rpartition(":")
        name = name or "spec"
    path = Path(path_text)
    if not path.is_file():
        raise InputError(f"--spec {path}: no such file")
    module = _import_file(path)
    if not hasattr(module, name):
        raise InputError(
            f"--spec {path}: no attribute {name!r} (define `{name} = Spec(...)` "
            f"or `def {name}() -> Spec`, or name another with {path}:NAME)"
        )
    obj = getattr(module, name)
    if not isinstance(obj, Spec) and callable(obj):
        try:
            obj = obj()
        except InputError:
            raise
        except Exception as exc:
            raise InputError(f"--spec {path}:{name}() raised {_where(exc, path)}") from None
    if not isinstance(obj, Spec):
        raise InputError(
            f"--spec {path}:{name} is a {type(obj).__name__}, expected "
            f"overfit_doctor.Spec (or a zero-argument callable returning one)"
        )
    return obj


def _import_file(path: Path):
    folder = str(path.resolve().parent)
    module_name = f"_overfit_doctor_spec_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise InputError(f"--spec {path}: not an importable Python file")
    module = importlib.util.module_from_spec(spec)
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except InputError:
        raise
    except BaseException as exc:  # SyntaxError, ImportError, SystemExit from the user's file...
        sys.modules.pop(module_name, None)
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise InputError(f"--spec {path} failed to import: {_where(exc, path)}") from None
    return module


def _where(exc: BaseException, path: Path) -> str:
    """`TypeError: message (spec.py line 12)` from the innermost frame in the user's file."""
    line = None
    if isinstance(exc, SyntaxError) and exc.lineno:
        line = exc.lineno
    else:
        for frame in traceback.extract_tb(exc.__traceback__):
            if Path(frame.filename).resolve() == path.resolve():
                line = frame.lineno
    msg = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {msg[0] if msg else ''}".rstrip(": ")
    return f"{text} ({path.name} line {line})" if line else text
