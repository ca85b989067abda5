"""Reports from computed facts: a job's or a sweep's report files, an insight in prose, and a
comparison of two jobs or two groups that exits 1 on a regression."""

from __future__ import annotations

from pathlib import Path

import click

from jobprobe.commands import context, options
from jobprobe.commands.errors import guarded
from jobprobe.commands.rendering import emit_json, fmt_sig, table
from jobprobe.queries import comparison as query_comparison

TWO_SIDES = "give two job ids (compare A B) or --baseline-label and --candidate-label"


@click.command()
@click.argument("ref")
@click.option(
    "--out", type=click.Path(file_okay=False), help="Directory (default: DATA_DIR/reports)."
)
@options.json_option
@guarded
def report(ref: str, out: str | None, as_json: bool) -> None:
    """Write a job's or a sweep's report: Markdown, JSON and PNG plots; prints the paths."""
    from jobprobe.tasks import reporting

    inv = context.current()
    root = Path(out) if out else inv.settings.resolved_reports_dir
    written = reporting.write_report(inv.store, ref, root)
    if as_json:
        emit_json(written)
        return
    click.echo(f"{written['kind']} {written['id']}: {written['summary'].splitlines()[0]}")
    for name, path in written["files"].items():
        click.echo(f"  {name:<10} {path}")


@click.command()
@click.argument("ref")
@click.option("--provider", type=click.Choice(["none", "openai", "bedrock"]),
              help="Default: JOBPROBE_LLM_PROVIDER (none).")  # fmt: skip
@options.json_option
@guarded
def insight(ref: str, provider: str | None, as_json: bool) -> None:
    """Explain a job, a sweep or compare:A:B in prose, every number checked against the facts."""
    from jobprobe.llm.registry import provider_from_settings
    from jobprobe.tasks import reporting

    inv = context.current()
    body = reporting.insight_now(inv.store, ref, provider_from_settings(inv.settings, provider))
    if as_json:
        emit_json(body)
        return
    unsupported = body["unsupported_numbers"]
    click.echo(body["text"])
    click.echo("")
    click.echo(
        f"verified: {'yes' if body['verified'] else 'no'}"
        + (f" (unsupported: {', '.join(unsupported)})" if unsupported else "")
        + f"  [{body['provider']}/{body['model']}]"
    )


@click.command()
@click.argument("jobs", nargs=-1)
@click.option("--baseline-label", multiple=True, metavar="KEY=VALUE", help="Baseline group.")
@click.option("--candidate-label", multiple=True, metavar="KEY=VALUE", help="Candidate group.")
@click.option("--tool", help="Only jobs of this tool (with label groups).")
@click.option(
    "--threshold", "thresholds", multiple=True, metavar="NAME=VALUE",
    help="duration, memory, cost, latency, throughput (%), success (points) or alpha.",
)  # fmt: skip
@options.json_option
@guarded
def compare(
    jobs: tuple[str, ...], baseline_label: tuple[str, ...], candidate_label: tuple[str, ...],
    tool: str | None, thresholds: tuple[str, ...], as_json: bool,
) -> None:  # fmt: skip
    """Compare job A with job B (or two label groups); exit code 1 on a confirmed regression.

    A one-sided test with 3+ runs a side confirms a change; one run against one reports a
    change past its threshold as unconfirmed (exit code 0) and says how to confirm it."""
    store = context.current().store
    limits = query_comparison.thresholds(options.parse_pairs(thresholds, "--threshold"))
    facts = query_comparison.compare(
        store, jobs, options.parse_pairs(baseline_label, "--label"),
        options.parse_pairs(candidate_label, "--label"), tool=tool, thresholds=limits,
        usage=TWO_SIDES,
    )  # fmt: skip
    if as_json:
        emit_json(facts)
    else:
        if facts["regressed"]:
            head = "REGRESSED: " + ", ".join(facts["regressions"])
        elif facts.get("unconfirmed"):
            head = "UNCONFIRMED: " + ", ".join(facts["unconfirmed"])
        else:
            head = "no regression"
        runs = f"{facts['baseline_runs']} baseline vs {facts['candidate_runs']} candidate runs"
        click.echo(f"{head}  ({runs})")
        if not facts["regressed"] and facts.get("unconfirmed"):
            click.echo(
                "worse past the threshold but not confirmed: too few runs a side to tell a change"
                " from noise; run each side 3+ times (sweep --repeat 3, or submit again with the"
                " same --label) and compare the label groups"
            )
        click.echo(table(
            ["METRIC", "BASELINE", "CANDIDATE", "CHANGE", "P", "STATUS", "NOTE"],
            [(r["name"], fmt_sig(r["baseline"]), fmt_sig(r["candidate"]),
              "-" if r["relative_change"] is None else f"{100 * r['relative_change']:+.1f}%",
              fmt_sig(r["p_value"], 2), r["status"], r["reason"] or "")
             for r in facts["rows"]],
        ))  # fmt: skip
    raise SystemExit(1 if facts["regressed"] else 0)
