"""`lattice route`, `lattice routing` (and `routing reset`): which model a prompt goes to, and each agent's
routing state. They read the active profile's environment unless -C/-f names a project
(routing/source.py)."""
from __future__ import annotations

from typing import Any, Callable

import click

from .app import App, json_option, pass_app
from .app import cli as root
from .output import emit, show, warn


@root.command("route")
@click.argument("text", nargs=-1, required=True)
@click.option("--commit", is_flag=True, help="Count the call and advance the agent's position "
                                             "(default: a dry run that changes nothing).")
@click.option("--session", metavar="ID", help="Session whose skipped providers are left out.")
@click.option("--json", "as_json", is_flag=True, help="Print the decision as JSON.")
@pass_app
def route_cmd(app: App, text: tuple[str, ...], commit: bool, session: str | None, as_json: bool) -> None:
    """Show which agent and model a prompt such as `/architect design X` goes to, and why other
    candidates were skipped."""
    from ..routing.decide import route_text

    source, origin = app.routing_source()
    decision = route_text(source, " ".join(text), commit=commit, session=session)
    warn(decision.warnings)

    def lines() -> list[str]:
        where = "" if decision.strategy in ("weighted", "fallback") else \
            f", position {decision.position}/{decision.length}"
        note = "" if decision.via == "scheduled" else f" ({decision.via}; scheduled {decision.scheduled})"
        return [f"{text[0]} → {decision.agent} ({decision.strategy}{where})",
                f"  model: {decision.model}{note}",
                *(f"  skipped {model}: {reason}" for model, reason in decision.skipped),
                "  committed: the agent's position advanced" if commit
                else "  dry run: state unchanged (--commit counts the call)"]

    show({**decision.as_json(), "config": origin}, as_json, lines)


def routing_report(ctx: click.Context, make_rows: Callable[..., list[dict[str, Any]]], key: str,
                   profile: str | None, as_json: bool,
                   lines: Callable[[list[dict[str, Any]]], list[str]]) -> None:
    """A routing report (routing/report.py's `make_rows`) from the routing source: its warnings on
    stderr, then `{"config": …, key: rows}` as JSON or `lines(rows)`."""
    app = ctx.find_object(App)
    assert app is not None
    source, origin = app.routing_source(profile)
    warnings: list[str] = []
    rows = make_rows(source, warnings=warnings)
    warn(warnings)
    show({"config": origin, key: rows}, as_json, lambda: lines(rows))


@root.group("routing", invoke_without_command=True)
@json_option
@click.pass_context
def routing_group(ctx: click.Context, as_json: bool) -> None:
    """Show each agent's routing state: strategy, position, next model, calls today."""
    if ctx.invoked_subcommand is not None:
        return
    from ..routing.report import routing_rows

    routing_report(ctx, routing_rows, "agents", None, as_json, _routing_lines)


def _routing_lines(rows: list[dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    for i, row in enumerate(rows):
        lines.append(("\n" if i else "") + f"{row['agent']} ({row.get('summary', 'invalid routing')})")
        if "position" in row:
            lines.append(f"  Position: {row['position']}/{row['length']}")
        if row.get("distribution") is not None:
            dist = ", ".join(f"{m.partition('/')[2]}={n}" for m, n in row["distribution"].items())
            lines.append(f"  Distribution: {dist or 'no calls yet'}")
        if row.get("next_model"):
            lines.append(f"  Next model: {row['next_model']}")
        elif row.get("unavailable") or row.get("error"):
            lines.append(f"  Next model: none ({row.get('unavailable') or row.get('error')})")
        lines.append(f"  Calls today: {row.get('calls_today', 0)}")
    return lines


@routing_group.command("reset")
@click.argument("agent", required=False)
@pass_app
def routing_reset(app: App, agent: str | None) -> None:
    """Put AGENT (default: every agent) back at position 0; today's counts stay."""
    from ..routing.decide import reset
    from ..routing.table import table_for

    known = None
    if agent is not None:
        known = table_for(app.routing_source()[0]).agent_names()
    names = reset(agent, known)
    emit(f"reset {', '.join(names)}" if names else "nothing to reset")
