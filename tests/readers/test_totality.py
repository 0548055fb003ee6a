"""Any bytes given to `load_history` either parse or raise InputError, never another exception."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from overfit_doctor.errors import InputError
from overfit_doctor.history.load import load_history
from overfit_doctor.history.model import History

FIXTURES = Path(__file__).parent.parent / "fixtures" / "logs"
NAMES = ("x.csv", "trainer_state.json", "metrics.json", "log.txt", "results.csv", "metrics.csv")
SEEDS = sorted(
    p.read_bytes()[:4096]
    for p in FIXTURES.rglob("*")
    if p.is_file() and p.suffix in (".csv", ".json", ".jsonl", ".log", ".txt", "")
)
SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def mutated_logs(draw) -> bytes:
    """A real log's head, cut somewhere, with random bytes spliced in."""
    data = draw(st.sampled_from(SEEDS))
    cut = draw(st.integers(0, len(data)))
    at = draw(st.integers(0, cut))
    return data[:at] + draw(st.binary(max_size=64)) + data[at:cut]


def _load(directory: Path, name: str, data: bytes) -> None:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    try:
        history = load_history([directory / Path(name).parts[0]])
    except InputError as exc:
        assert str(exc).strip() and "\n" not in str(exc).strip()
    else:
        assert isinstance(history, History)


@SETTINGS
@given(name=st.sampled_from(NAMES), data=st.binary(max_size=2048))
def test_arbitrary_bytes(name, data):
    with tempfile.TemporaryDirectory() as tmp:
        _load(Path(tmp), name, data)


@SETTINGS
@given(name=st.sampled_from(NAMES), data=mutated_logs())
def test_mutated_real_logs(name, data):
    with tempfile.TemporaryDirectory() as tmp:
        _load(Path(tmp), name, data)


@settings(max_examples=30, deadline=None)
@given(data=st.one_of(st.binary(max_size=512), mutated_logs()))
def test_folder_formats(data):
    """Garbage in an MLflow metric file or a TensorBoard event file."""
    with tempfile.TemporaryDirectory() as tmp:
        _load(Path(tmp), "run/metrics/loss", data)
        _load(Path(tmp), "tb/events.out.tfevents.1700000000.host.1.0", data)
