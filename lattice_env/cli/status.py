"""`lattice status`, `status agents`, `status providers`: where the profile stands, the workflow's agents,
and each provider's keys, usage and budget. The plain form of `status` also runs without click
(fast.py), through the same body."""
from __future__ import annotations

from typing import Any

import click

from . import fast
from .app import App, json_option, pass_app
from .app import cli as root
from .output import show


@root.group(invoke_without_command=True)
@click.option("--profile", "profile", metavar="NAME", help="Profile to show (default: the active one).")
@json_option
@click.pass_context
def status(ctx: click.Context, profile: str | None, as_json: bool) -> None:
    """Show the profile's generation, its drift from lattice.yaml, and the workflow's agents.

    Outside a project only the profile part is shown."""
    if ctx.invoked_subcommand is not None:
        return
    app = ctx.find_object(App)
    assert app is not None
    fast.status(profile, as_json, file=app.file, directory=app.directory)


@status.command("agents")
@json_option
@pass_app
def status_agents(app: App, as_json: bool) -> None:
    """List agents with their triggers, routing and prompt file."""
    from ..status import agent_rows

    rows = agent_rows(app.load().workflow)
    show(rows, as_json, lambda: fast.agent_lines(rows))


@status.command("providers")
@json_option
@click.pass_context
def status_providers(ctx: click.Context, as_json: bool) -> None:
    """Per provider: key variable set or not (never its value), today's and this month's calls, tokens
    and estimated spend against local_budget (per budget_period), failures and the cool-downs they caused."""
    from ..routing.report import provider_rows
    from .routing import routing_report

    profile = ctx.parent.params.get("profile") if ctx.parent else None
    routing_report(ctx, provider_rows, "providers", profile, as_json, _provider_lines)


def _provider_lines(rows: list[dict[str, Any]]) -> list[str]:
    lines = []
    for row in rows:
        if row["env"]:
            access = f"key {row['env']}: {'set' if row['env_set'] else 'NOT SET'}"
        elif row["auth"]:
            access = f"auth {row['auth']}"
        else:
            access = "local server" if row["local"] else "no key variable"
        lines.append(f"{row['provider']}  {access}" + ("" if row["declared"] else "  (not in the config)"))
        # local_budget is shown on the line of the period it caps (budget_period: month by default)
        budget, period = row["local_budget"], row["budget_period"]
        cap = " (no local_budget)" if budget is None else f" of ${budget:g} local_budget a {period}" + \
            (" — OVER BUDGET, skipped" if row["over_budget"] else "")
        lines.append(f"  today: {row['calls_today']} calls, {row['estimated_tokens']:,} tokens "
                     f"({row['input_tokens']:,} in, {row['output_tokens']:,} out), "
                     f"spend ${row['estimated_spend']:.2f}{cap if period == 'day' else ''}")
        lines.append(f"  this month: {row['calls_month']} calls, {row['estimated_tokens_month']:,} tokens, "
                     f"spend ${row['estimated_spend_month']:.2f}{cap if period == 'month' else ''}")
        if row["unpriced_models"]:
            lines.append(f"  no price known for {', '.join(row['unpriced_models'])}: tokens counted, no spend")
        if row["rate_limited_today"] or row["failed_today"]:
            lines.append(f"  failed calls today: {row['rate_limited_today']} rate-limited (429), "
                         f"{row['failed_today']} other failures (each served by the next model)")
        for c in row["cooldowns"]:
            what = c["model"] if c["model"] == c["failed_model"] else f"all of {c['model']} (a call to {c['failed_model']})"
            lines.append(f"  cooling down: {what} ({c['seconds_left']:.0f}s left after {c['reason']})")
    return lines
