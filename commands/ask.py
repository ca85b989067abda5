"""Questions in plain language, answered from the store's own figures (``llm.chat``)."""

from __future__ import annotations

import click

from jobprobe.commands import context, options, rendering
from jobprobe.commands.errors import USAGE_ERROR, fail, guarded


@click.command()
@click.argument("question")
@click.option("--session", "session_id", metavar="ID",
              help="Go on with this conversation (its id is printed after each answer).")  # fmt: skip
@click.option("--provider", type=click.Choice(["none", "openai", "bedrock"]),
              help="Who answers (default JOBPROBE_LLM_PROVIDER, else none: offline).")  # fmt: skip
@options.json_option
@guarded
def ask(question: str, session_id: str | None, provider: str | None, as_json: bool) -> None:
    """Ask about the jobs in plain language ("what's the GPU trend over the past week?");
    every number in the answer is checked against the figures the tools returned."""
    from jobprobe.llm import chat

    inv = context.current()
    settings = inv.settings
    try:
        model = chat.model_from_settings(settings, provider)
        answer = chat.ask(
            question, store=inv.store, model=model, config=chat.config_from_settings(settings),
            session_id=session_id, settings=settings,
        )  # fmt: skip
    except (chat.errors.BadQuestion, chat.errors.UnknownSession) as exc:
        fail(str(exc), USAGE_ERROR)
    if as_json:
        rendering.emit_json(answer.to_dict())
        return
    rendering.echo_lines(answer.answer.splitlines())
    if answer.unverified_numbers:
        click.echo(
            "unverified: " + ", ".join(answer.unverified_numbers)
            + " (not in the figures the tools returned; treat with care)"
        )  # fmt: skip
    click.echo(f"session: {answer.session_id}")
