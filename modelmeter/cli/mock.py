"""`modelmeter mock`: run the local mock AI providers in the foreground until Ctrl-C."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import typer

from modelmeter.cli import exits
from modelmeter.mock.knobs import KNOB_HELP


def _knob_epilog() -> str:
    lines = [
        "[bold]Knobs[/bold] apply server-wide with the options above, or per request with an "
        "[cyan]x-mock-<knob>[/cyan] header (the header wins). The model name is never a knob: "
        "it stays a model name.",
    ]
    for name, (meaning, example) in KNOB_HELP.items():
        header = f"x-mock-{name.replace('_', '-')}: {example}"
        lines.append(f"[bold]{name}[/bold]: {meaning}. Header: [cyan]{header}[/cyan]")
    lines.append(
        "Example: [cyan]modelmeter mock --port 9000 --latency-ms 50[/cyan], then "
        "[cyan]OpenAI(base_url='http://127.0.0.1:9000/v1', api_key='sk-FAKE')[/cyan]."
    )
    return "\n\n".join(lines)


# how each vendor's SDK is pointed at its mock; {url} is the vendor's base URL
_SNIPPETS = {
    "openai": 'openai.OpenAI(base_url="{url}", api_key="sk-FAKE")',
    "anthropic": 'anthropic.Anthropic(base_url="{url}", api_key="sk-ant-FAKE")',
    "gemini": 'genai.Client(api_key="FAKE", http_options=genai.types.HttpOptions(base_url="{url}"))',
    "mistral": 'mistralai.client.Mistral(api_key="FAKE", server_url="{url}")',
    "groq": 'groq.Groq(base_url="{url}", api_key="gsk_FAKE")',
    "cohere": 'cohere.ClientV2(api_key="FAKE", base_url="{url}")',
    "vercel": 'openai.OpenAI(base_url="{url}", api_key="vck_FAKE")  # Anthropic SDK: base_url without /v1',
    "openrouter": 'openai.OpenAI(base_url="{url}", api_key="sk-or-FAKE")',
}


def register(app: typer.Typer) -> None:
    @app.command("mock", epilog=_knob_epilog())
    def _mock(
        host: str = typer.Option(
            "127.0.0.1", help="Address to listen on; anything but loopback must be explicit."
        ),
        port: int = typer.Option(
            0, min=0, max=65535, help="First port; vendors take consecutive ports. 0 = ephemeral ports."
        ),
        vendor: list[str] = typer.Option(
            None,
            "--vendor",
            help="Serve only this vendor (repeatable): openai, anthropic, gemini, mistral, groq, cohere, "
            "vercel, openrouter. Default: all.",
        ),
        latency_ms: float = typer.Option(None, help=KNOB_HELP["latency_ms"][0]),
        ttft_ms: float = typer.Option(None, help=KNOB_HELP["ttft_ms"][0]),
        chunk_delay_ms: float = typer.Option(None, help=KNOB_HELP["chunk_delay_ms"][0]),
        chunks: int = typer.Option(None, help=KNOB_HELP["chunks"][0]),
        fault: str = typer.Option(None, help=KNOB_HELP["fault"][0]),
        retry_after: float = typer.Option(None, help=KNOB_HELP["retry_after"][0]),
        fail_times: int = typer.Option(None, help=KNOB_HELP["fail_times"][0]),
        gzip: bool = typer.Option(None, "--gzip/--no-gzip", help=KNOB_HELP["gzip"][0]),
        fail_models: str = typer.Option(None, help="Gateways: comma-separated model ids that fail upstream."),
    ) -> None:
        """Run local mock AI providers (OpenAI, Anthropic, Gemini, Mistral, Groq, Cohere, Vercel, OpenRouter).

        Each vendor gets its own port and speaks its real wire format, so the real SDKs work against it.
        Runs until Ctrl-C. Exit code: 0 stopped; 1 cannot listen (a port is taken); 64 a bad option.
        """
        from rich.console import Console
        from rich.table import Table

        from modelmeter.mock import Knobs, MockProviders
        from modelmeter.mock.server import LOOPBACK_HOSTS

        console = Console(stderr=False)
        try:
            knobs = Knobs(
                latency_ms=latency_ms,
                ttft_ms=ttft_ms,
                chunk_delay_ms=chunk_delay_ms,
                chunks=chunks,
                fault=fault,
                retry_after=retry_after,
                fail_times=fail_times,
                gzip=gzip,
                fail_models=tuple(m.strip() for m in fail_models.split(",")) if fail_models else None,
            )
            servers = MockProviders(host, port=port, vendors=vendor or None, knobs=knobs)
        except ValueError as error:
            raise exits.usage("mock", str(error)) from error
        if host not in LOOPBACK_HOSTS:
            typer.echo(f"warning: listening on {host}: the mock is reachable from other machines", err=True)

        stop = threading.Event()

        def _on_signal(_signum: int, _frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)
        try:
            servers.start()  # idempotent: the `with` below reuses the started servers
        except OSError as error:
            raise exits.fail("mock", f"cannot listen on {host}:{port}: {error}", exits.FAILED) from error
        with servers:
            table = Table(title="modelmeter mock providers")
            table.add_column("vendor")
            table.add_column("base URL (pass to the SDK)")
            for name in servers.vendors:
                table.add_row(name, servers.base_url(name))
            console.print(table)
            typer.echo(f"MODELMETER_ENDPOINTS={servers.endpoints}")
            for name in servers.vendors:
                typer.echo(_SNIPPETS[name].format(url=servers.base_url(name)))
            typer.echo("Serving until Ctrl-C.", err=True)
            stop.wait()
        typer.echo("mock stopped", err=True)
