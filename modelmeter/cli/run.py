"""`modelmeter run -- CMD ...`: run a Python program instrumented, with no change to its code.

Like `opentelemetry-instrument`: a folder holding a `sitecustomize.py` that calls
`modelmeter.instrument()` is put first on PYTHONPATH, so every Python process the command starts
(and their Python children) is instrumented at interpreter start. Options travel as MODELMETER_*
environment variables. The command's exit code is returned unchanged.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import typer

from modelmeter.cli import exits

BOOTSTRAP_DIR = Path(__file__).resolve().parent.parent / "instrument" / "bootstrap"


def child_environment(
    base: dict[str, str],
    *,
    workflow: str | None = None,
    team: str | None = None,
    tier: str | None = None,
    run: str | None = None,
    spool: str | None = None,
    endpoints: str | None = None,
    capture_content: bool = False,
) -> dict[str, str]:
    """The environment the command runs with: bootstrap first on PYTHONPATH, options as variables."""
    env = dict(base)
    paths = [str(BOOTSTRAP_DIR)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    for name, value in (
        ("MODELMETER_WORKFLOW", workflow),
        ("MODELMETER_TEAM", team),
        ("MODELMETER_TIER", tier),
        ("MODELMETER_RUN", run),
        ("MODELMETER_SPOOL", spool),
        ("MODELMETER_ENDPOINTS", endpoints),
    ):
        if value is not None:
            env[name] = value
    if capture_content:
        env["MODELMETER_CAPTURE_CONTENT"] = "1"
    return env


def register(app: typer.Typer) -> None:
    @app.command(
        "run",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        epilog="Example: modelmeter run --workflow nightly-summary -- python app.py --limit 10\n\n"
        "Exit code: the program's own; 126 it cannot be executed; 127 not found; 64 no command given.",
    )
    def _run(
        ctx: typer.Context,
        workflow: str | None = typer.Option(
            None, "--workflow", "-w", help="Tag every call with this workflow."
        ),
        team: str | None = typer.Option(None, "--team", help="Tag every call with this team."),
        tier: str | None = typer.Option(None, "--tier", help="Tag every call with this model tier."),
        run: str | None = typer.Option(None, "--run", help="Tag every call with this run id."),
        spool: str | None = typer.Option(
            None, "--spool", help="Spool directory (default: $MODELMETER_HOME/spool)."
        ),
        endpoints: str | None = typer.Option(
            None, "--endpoints", help="URL=KIND,... for self-hosted gateways, Azure domains, local mocks."
        ),
        capture_content: bool = typer.Option(
            False, "--capture-content", help="Also record prompts and completions."
        ),
    ) -> None:
        """Run a Python program with every AI call it makes measured (no code change)."""
        command = list(ctx.args)
        if command and command[0] == "--":
            command = command[1:]
        if not command:
            raise exits.usage("run", "give the command after --, e.g. modelmeter run -- python app.py")
        env = child_environment(
            dict(os.environ),
            workflow=workflow,
            team=team,
            tier=tier,
            run=run,
            spool=spool,
            endpoints=endpoints,
            capture_content=capture_content,
        )
        try:
            completed = subprocess.run(command, env=env, check=False)
        except FileNotFoundError:
            raise exits.fail("run", f"command not found: {command[0]}", 127) from None
        except PermissionError:
            hint = f"python {command[0]}" if command[0].endswith(".py") else f"chmod +x {command[0]}"
            raise exits.fail(
                "run", f"cannot execute {command[0]}: permission denied (try {hint})", 126
            ) from None
        except OSError as exc:  # e.g. a script without a #! line: Exec format error
            raise exits.fail("run", f"cannot execute {command[0]}: {exc.strerror or exc}", 126) from None
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        code = completed.returncode
        raise typer.Exit(code if code >= 0 else 128 - code)


__all__ = ["BOOTSTRAP_DIR", "child_environment", "register"]
