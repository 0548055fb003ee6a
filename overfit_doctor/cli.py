"""The `overfit-doctor` command. Commands stay thin: parse options -> api -> render -> exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from overfit_doctor import __version__
from overfit_doctor.errors import ExitCode, InputError, OverfitDoctorError, UsageError
from overfit_doctor.report import OutputFormat

app = typer.Typer(
    name="overfit-doctor",
    help="Tells you why your neural network does not generalize, and what to do about it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class FailOn(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    NEVER = "never"


class InspectFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class Budget(StrEnum):
    QUICK = "quick"
    STANDARD = "standard"
    THOROUGH = "thorough"


class Device(StrEnum):
    AUTO = "auto"
    CPU = "cpu"
    CUDA = "cuda"


class Framework(StrEnum):
    PYTORCH = "pytorch"
    LIGHTNING = "lightning"
    KERAS = "keras"
    HUGGINGFACE = "huggingface"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"overfit-doctor {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print version.")
    ] = False,
) -> None:
    """Diagnose training runs from their logs; explain every finding code."""


@contextmanager
def boundary() -> Iterator[None]:
    """User errors: one line on stderr, exit 2. Bugs: one line, exit 3 (traceback with
    OVERFIT_DOCTOR_DEBUG=1)."""
    try:
        yield
    except (typer.Exit, typer.Abort):
        raise
    except OverfitDoctorError as exc:
        typer.echo(f"overfit-doctor: error: {exc}", err=True)
        raise typer.Exit(int(exc.exit_code)) from None
    except KeyboardInterrupt:
        typer.echo("overfit-doctor: interrupted", err=True)
        raise typer.Exit(130) from None
    except Exception as exc:
        if os.environ.get("OVERFIT_DOCTOR_DEBUG"):
            raise
        typer.echo(
            f"overfit-doctor: internal error: {type(exc).__name__}: {exc} "
            "(set OVERFIT_DOCTOR_DEBUG=1 for the traceback, and please report it)",
            err=True,
        )
        raise typer.Exit(int(ExitCode.INTERNAL)) from None


_SAVE_HELP = (
    "Also write the report in another format: FORMAT=PATH (repeatable; e.g. "
    "--save html=report.html --save json=report.json)."
)


def _codes(values: list[str] | None) -> list[str]:
    return [c.strip().upper() for v in values or [] for c in v.split(",") if c.strip()]


@app.command()
def diagnose(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Log files or run directories.", show_default=False),
    ] = None,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Report format.")
    ] = OutputFormat.TEXT,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report to this file.")
    ] = None,
    fail_on: Annotated[
        FailOn, typer.Option(help="Exit 1 when a finding reaches this severity.")
    ] = FailOn.ERROR,
    select: Annotated[
        list[str] | None, typer.Option(help="Only these codes or prefixes (OD1, OD101,...).")
    ] = None,
    ignore: Annotated[list[str] | None, typer.Option(help="Drop these codes or prefixes.")] = None,
    key_map: Annotated[
        list[str] | None,
        typer.Option("--map", help="Map a logged key: KEY=SPLIT:METRIC (e.g. acc_v=val:accuracy)."),
    ] = None,
    log_format: Annotated[
        str | None, typer.Option(help="Force a log format (see `overfit-doctor formats`).")
    ] = None,
    framework: Annotated[
        Framework | None, typer.Option(help="Framework for the how-to snippets.")
    ] = None,
    spec: Annotated[
        str | None,
        typer.Option(
            help="A PyTorch model + data spec to run the active checks on: FILE.py[:NAME]."
        ),
    ] = None,
    budget: Annotated[
        Budget, typer.Option(help="How long the active checks may run.")
    ] = Budget.STANDARD,
    seed: Annotated[int, typer.Option(help="Seed of the active experiments.")] = 0,
    device: Annotated[Device, typer.Option(help="Device of the active experiments.")] = Device.AUTO,
    save: Annotated[list[str] | None, typer.Option(help=_SAVE_HELP)] = None,
) -> None:
    """Diagnose training runs from their logs and/or a model with its data (--spec), and print
    a prioritized remediation report."""
    with boundary():
        if not paths and not spec:
            raise UsageError("give at least one log file or run directory, or --spec FILE.py")
        from overfit_doctor.api import diagnose as run_diagnosis

        inputs = [*(paths or []), *([Path(spec.split(":")[0])] if spec else [])]
        saves = _parse_saves(save)
        _check_targets(output, saves, inputs)  # before any work: nothing is written on a typo

        with _progress(enabled=spec is not None) as progress:
            try:
                result = run_diagnosis(
                    paths or None,
                    spec=spec,
                    log_format=log_format,
                    key_map=key_map or [],
                    select=_codes(select),
                    ignore=_codes(ignore),
                    budget=budget.value,
                    seed=seed,
                    device=device.value,
                    progress=progress,
                )
            except ValueError as exc:  # bad --map text
                raise UsageError(str(exc)) from None
        _write_reports(result, fmt, output, saves, inputs, framework, fail_on)
        raise typer.Exit(int(_exit_code(result, fail_on)))


@app.command("render")
def render_report(
    report: Annotated[
        Path,
        typer.Argument(
            help="A JSON report (diagnose --format json, or --save json=PATH).", show_default=False
        ),
    ],
    fmt: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Report format.")
    ] = OutputFormat.TEXT,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report to this file.")
    ] = None,
    fail_on: Annotated[
        FailOn, typer.Option(help="Severity at which JUnit findings are failures.")
    ] = FailOn.ERROR,
    framework: Annotated[
        Framework | None, typer.Option(help="Framework for the how-to snippets.")
    ] = None,
    save: Annotated[list[str] | None, typer.Option(help=_SAVE_HELP)] = None,
) -> None:
    """Re-render a saved JSON report in another format, without re-running anything.
    Exits 0 once written (the gate is `diagnose`'s exit code)."""
    with boundary():
        saves = _parse_saves(save)
        _check_targets(output, saves, [report])
        result = _load_report(report)
        _write_reports(result, fmt, output, saves, [report], framework, fail_on)


def _parse_saves(values: list[str] | None) -> list[tuple[OutputFormat, Path]]:
    """`--save FORMAT=PATH` values; a bad one is a usage error."""
    saves = []
    for value in values or []:
        name, sep, path = value.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise UsageError(f"--save {value!r}: expected FORMAT=PATH, e.g. html=report.html")
        try:
            fmt = OutputFormat(name.strip().lower())
        except ValueError:
            known = ", ".join(f.value for f in OutputFormat)
            raise UsageError(
                f"--save {value!r}: unknown format {name.strip()!r} ({known})"
            ) from None
        saves.append((fmt, Path(path)))
    return saves


def _check_targets(
    output: Path | None, saves: list[tuple[OutputFormat, Path]], inputs: list[Path]
) -> None:
    """Every file to write: not an input, not a directory, in a folder that exists, not named
    twice. Checked before anything runs or is written."""
    seen: dict[Path, str] = {}
    targets = [("--output", output)] if output is not None else []
    targets += [(f"--save {fmt.value}=", path) for fmt, path in saves]
    for label, path in targets:
        shown = f"{label}{path}" if label.endswith("=") else f"{label} {path}"
        target = path.resolve()
        if any(Path(p).exists() and Path(p).resolve() == target for p in inputs):
            raise UsageError(f"{shown} would overwrite an input file")
        if target.is_dir():
            raise UsageError(f"{shown} is a directory")
        if not target.parent.is_dir():
            raise UsageError(f"{shown}: folder {target.parent} does not exist")
        if target in seen:
            raise UsageError(f"{shown}: the same file as {seen[target]}")
        seen[target] = shown


def _write_reports(
    result,
    fmt: OutputFormat,
    output: Path | None,
    saves: list[tuple[OutputFormat, Path]],
    inputs: list[Path],
    framework: Framework | None,
    fail_on: FailOn,
) -> None:
    """Render the main report and every --save one, then write them (atomically each): a
    renderer that fails leaves no file half-written."""
    from overfit_doctor.report import render_to_string

    fw = framework.value if framework else None
    color = output is None and fmt is OutputFormat.TEXT and _stdout_is_color_terminal()
    text = render_to_string(
        result, fmt, output=output, width=_width(), color=color, framework=fw, fail_on=fail_on.value
    )
    extra = [
        (
            render_to_string(
                result, f, output=path, width=100, framework=fw, fail_on=fail_on.value
            ),
            path,
        )
        for f, path in saves
    ]
    _emit(text, output, inputs=inputs)
    for saved, path in extra:
        _emit(saved, path, inputs=inputs)


def _load_report(path: Path):
    """A Diagnosis from a saved JSON report; anything else is an input error (one line)."""
    import json

    from overfit_doctor.diagnosis import SCHEMA_VERSION, Diagnosis

    hint = "expected a JSON report from `overfit-doctor diagnose --format json`"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text; {hint}") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); {hint}"
        ) from None
    tool = data.get("tool") if isinstance(data, dict) else None
    if not isinstance(tool, dict) or tool.get("name") != "overfit-doctor" or "verdict" not in data:
        raise InputError(f"{path}: not an overfit-doctor report; {hint}")
    version = data.get("schema_version")
    if str(version) != SCHEMA_VERSION:
        raise InputError(
            f"{path}: schema_version {version!r} is not supported (this "
            f"overfit-doctor reads {SCHEMA_VERSION!r})"
        )
    try:
        return Diagnosis.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        what = f"missing field {exc}" if isinstance(exc, KeyError) else f"{exc}"
        raise InputError(f"{path}: not a valid overfit-doctor report ({what})") from None


@contextmanager
def _progress(enabled: bool) -> Iterator:
    """Which experiment is running, on stderr: a live spinner on a terminal, plain lines
    otherwise (CI logs). Yields the callback `diagnose` calls, or None."""
    if not enabled:
        yield None
        return
    if not sys.stderr.isatty():
        yield lambda what: typer.echo(f"overfit-doctor: running {what}...", err=True)
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("loading the spec", total=None)
        yield lambda what: bar.update(task, description=f"running {what}")


def _exit_code(result, fail_on: FailOn) -> ExitCode:
    from overfit_doctor.catalogue.model import Severity

    if fail_on is FailOn.NEVER:
        return ExitCode.OK
    threshold = Severity.parse(fail_on.value)
    worst = result.worst()
    return ExitCode.FINDINGS if worst is not None and worst >= threshold else ExitCode.OK


def _stdout_is_color_terminal() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _width() -> int:
    try:
        return min(max(os.get_terminal_size().columns, 60), 120)
    except OSError:
        return 100


def _emit(text: str, output: Path | None, inputs: list[Path] | None = None) -> None:
    """Write to stdout, or atomically to `output` (never over one of the inputs)."""
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    target = output.resolve()
    if any(Path(p).exists() and Path(p).resolve() == target for p in inputs or []):
        raise UsageError(f"--output {output} would overwrite an input file")
    if target.is_dir():
        raise UsageError(f"--output {output} is a directory")
    if not target.parent.exists():
        raise UsageError(f"--output {output}: folder {target.parent} does not exist")
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)


@app.command()
def explain(code: Annotated[str, typer.Argument(help="A finding code, e.g. OD101.")]) -> None:
    """Print what a finding code means and how to fix it."""
    with boundary():
        from overfit_doctor import catalogue

        try:
            page = catalogue.explain(code)
        except KeyError:
            raise UsageError(f"unknown code {code!r}; `overfit-doctor checks` lists them") from None
        if sys.stdout.isatty() and "NO_COLOR" not in os.environ:
            from rich.console import Console
            from rich.markdown import Markdown

            Console().print(Markdown(page))
        else:
            sys.stdout.write(page if page.endswith("\n") else page + "\n")


@app.command("checks")
def list_checks() -> None:
    """List every check and the codes it can report."""
    with boundary():
        from overfit_doctor.catalogue.rules import RULES
        from overfit_doctor.checks import all_checks

        owner = {code: c.meta for c in all_checks() for code in c.meta.codes}
        lines = [f"{'code':6} {'severity':8} {'symptom':19} {'check':20} title"]
        for r in RULES:
            meta = owner.get(r.code)
            check = meta.id if meta else "-"
            lines.append(f"{r.code:6} {r.severity.label:8} {r.symptom:19} {check:20} {r.title}")
        sys.stdout.write("\n".join(lines) + "\n")


@app.command()
def inspect(
    paths: Annotated[list[Path], typer.Argument(help="Log files or run directories.")],
    fmt: Annotated[
        InspectFormat, typer.Option("--format", "-f", help="text or json.")
    ] = InspectFormat.TEXT,
    key_map: Annotated[
        list[str] | None, typer.Option("--map", help="Map a logged key: KEY=SPLIT:METRIC.")
    ] = None,
    log_format: Annotated[str | None, typer.Option(help="Force a log format.")] = None,
) -> None:
    """Show how a log was read: runs, curves, splits, unrecognized keys."""
    with boundary():
        from overfit_doctor.history.inspect import describe, describe_text
        from overfit_doctor.history.keys import parse_map_option
        from overfit_doctor.history.load import load_history

        try:
            overrides = dict(parse_map_option(t) for t in key_map or [])
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        history = load_history(paths, log_format=log_format, key_map=overrides)
        if fmt is InspectFormat.JSON:
            import json

            sys.stdout.write(json.dumps(describe(history), indent=2) + "\n")
        else:
            sys.stdout.write(describe_text(history))


@app.command()
def formats() -> None:
    """List the log formats overfit-doctor reads."""
    with boundary():
        from overfit_doctor.history.readers import all_readers

        for reader in all_readers():
            aliases = getattr(reader, "ALIASES", ())
            extra = f" (also: {', '.join(aliases)})" if aliases else ""
            sys.stdout.write(f"{reader.FORMAT:18} {reader.DESCRIPTION}{extra}\n")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
