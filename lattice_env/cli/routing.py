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
    candidates were skipped. Exits 1 when no candidate is available (the report still says why)."""
    from ..routing.decide import route_text
    from ..routing.strategies import NoModelAvailable

    source = app.routing_source()
    context = {"config": source.origin, "source": source.as_json()}
    try:
        decision = route_text(source.config, " ".join(text), commit=commit, session=session)
    except NoModelAvailable as exc:
        _no_model(source, text[0], exc, commit, as_json, context)
        raise SystemExit(1) from None
    warn(decision.warnings)

    def lines() -> list[str]:
        where = "" if decision.strategy in ("weighted", "fallback") else \
            f", position {decision.position}/{decision.length}"
        note = "" if decision.via == "scheduled" else f" ({decision.via}; scheduled {decision.scheduled})"
        return [*source.header(), f"{text[0]} → {decision.agent} ({decision.strategy}{where})",
                f"  model: {decision.model}{note}",
                *(f"  skipped {model}: {reason}" for model, reason in decision.skipped),
                _committed(decision) if commit else "  dry run: state unchanged (--commit counts the call)"]

    show({**decision.as_json(), **context}, as_json, lines)


def _committed(decision: Any) -> str:
    """What a commit changed: `retry` counts the call but keeps the slot; fallback and weighted have
    no position to move."""
    if decision.strategy in ("fallback", "weighted"):
        return "  committed: the call is counted"
    if decision.via == "retry":
        return (f"  committed: the call is counted; position {decision.position}/{decision.length} is kept "
                f"(on_unavailable: retry)")
    return f"  committed: the agent's position advanced to {decision.next_position}/{decision.length}"


def _no_model(source: Any, trigger: str, exc: Any, commit: bool, as_json: bool,
              context: dict[str, Any]) -> None:
    """The report of a call no candidate can serve now: every candidate and why (nothing is written)."""
    from ..routing.table import table_for

    strategy = table_for(source.config).routing(exc.agent).strategy
    skipped = [{"model": m, "reason": r} for m, r in exc.skipped]
    show({"agent": exc.agent, "strategy": strategy, "model": None, "provider": None, "skipped": skipped,
          "committed": False, "error": str(exc), **context}, as_json,
         [*source.header(), f"{trigger} → {exc.agent} ({strategy})", "  model: none available",
          *(f"  skipped {model}: {reason}" for model, reason in exc.skipped),
          "  not committed: no model is available" if commit
          else "  dry run: state unchanged (--commit counts the call)"])
    emit(f"lattice: error: {exc}", err=True)


def routing_report(ctx: click.Context, make_rows: Callable[..., list[dict[str, Any]]], key: str,
                   profile: str | None, as_json: bool,
                   lines: Callable[[list[dict[str, Any]]], list[str]]) -> None:
    """A routing report (routing/report.py's `make_rows`) from the routing source: its warnings on
    stderr, then `{"config": …, "source": …, key: rows}` as JSON or the source's header and
    `lines(rows)`."""
    app = ctx.find_object(App)
    assert app is not None
    source = app.routing_source(profile)
    warnings: list[str] = []
    rows = make_rows(source.config, warnings=warnings)
    warn(warnings)
    show({"config": source.origin, "source": source.as_json(), key: rows}, as_json,
         lambda: [*source.header(), *lines(rows)])


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

    known = table_for(app.routing_source().config).agent_names()  # fails where `lattice routing` fails
    names = reset(agent, known)
    emit(f"reset {', '.join(names)}" if names else "nothing to reset")
