"""The `lattice` command: a thin click layer. Each callback parses, calls the library, prints.

Errors are handled once, in `main`: LatticeError → its message and exit code; click usage errors → 2;
anything else is a bug → one line pointing at the crash log (traceback with `--debug`)."""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import ConfigError, LatticeError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@dataclass
class App:
    directory: Path | None
    file: Path | None
    debug: bool

    def load(self) -> Any:
        from .workflow import load_workflow

        return load_workflow(file=self.file, directory=self.directory)


pass_app = click.make_pass_decorator(App)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))


def print_warnings(warnings: Any) -> None:
    for w in warnings:
        click.echo(str(w), err=True)


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="lattice")
@click.option("-C", "directory", type=click.Path(path_type=Path), metavar="DIR",
              help="Run as if started in DIR (lattice.yaml is looked up from there).")
@click.option("-f", "--file", type=click.Path(path_type=Path), metavar="FILE",
              help="Use FILE as the project's lattice.yaml.")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
@click.pass_context
def cli(ctx: click.Context, directory: Path | None, file: Path | None, debug: bool) -> None:
    """Lattice: one lattice.yaml for your whole opencode setup."""
    ctx.obj = App(directory=directory, file=file, debug=debug)


@cli.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
@click.option("--name", help="Workflow name (default: the directory's name).")
@pass_app
def init(app: App, directory: Path | None, force: bool, name: str | None) -> None:
    """Create a commented lattice.yaml and starter agents in DIRECTORY (default: here)."""
    from .initialize import init_project

    target = directory or app.directory or Path.cwd()
    written = init_project(target, force=force, name=name)
    for path in written:
        click.echo(f"  wrote {path}")
    click.echo(f"Initialised {target}. Next: `lattice validate`, then `lattice generate`.")


@cli.command()
@click.option("--strict", is_flag=True, help="Treat warnings (unset env vars, unreachable servers) as errors.")
@click.option("--offline", is_flag=True, help="Do not probe local model servers.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def validate(app: App, strict: bool, offline: bool, as_json: bool) -> None:
    """Check lattice.yaml, lattice.local.yaml and every agent file; report every problem."""
    from .providers import runtime_warnings

    try:
        loaded = app.load()
    except ConfigError as exc:
        if as_json:
            emit_json({"valid": False, "diagnostics": [_diag_json(d) for d in exc.diagnostics]})
            raise SystemExit(1) from None
        raise
    warnings = list(loaded.warnings) + runtime_warnings(loaded, probe=not offline)
    wf = loaded.workflow
    valid = not (strict and warnings)
    if as_json:
        emit_json({"valid": valid, "diagnostics": [_diag_json(d) for d in warnings],
                   "workflow": wf.name, "agents": len(wf.agents), "providers": len(wf.providers),
                   "plugins": len(wf.plugins), "files": [str(f) for f in wf.files]})
    else:
        print_warnings(warnings)
        state = "valid" if valid else "invalid (--strict: warnings count as errors)"
        counts = ", ".join(_plural(n, word) for n, word in (
            (len(wf.agents), "agent"), (len(wf.providers), "provider"), (len(wf.plugins), "plugin"),
            (len(warnings), "warning")))
        click.echo(f"{wf.name}: {state} ({counts})")
    if not valid:
        raise SystemExit(1)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _diag_json(d: Any) -> dict[str, Any]:
    return {"file": d.file, "line": d.line, "col": d.col, "key": d.key, "message": d.message,
            "severity": d.severity, "text": str(d)}


@cli.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Write into DIR instead of the project (where opencode looks).")
@click.option("--force", is_flag=True, help="Overwrite files Lattice did not generate.")
@click.option("--json", "as_json", is_flag=True, help="Print the written files as JSON.")
@pass_app
def generate(app: App, out: Path | None, force: bool, as_json: bool) -> None:
    """Render opencode.json, oh-my-opencode.json, agent and command files."""
    from .generate import write_generated

    loaded = app.load()
    print_warnings(loaded.warnings)
    result = write_generated(loaded.workflow, out=out, force=force)
    if as_json:
        emit_json({"out": str(result.out), "files": [{"path": p, "status": s} for p, s in result.files]})
        return
    for path, status in result.files:
        click.echo(f"  {status:9} {path}")
    click.echo(f"Generated {len(result.files)} files in {result.out}")


@cli.command("config")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON instead of YAML.")
@click.option("--sources", is_flag=True, help="Show the file and line every value came from.")
@pass_app
def config_cmd(app: App, as_json: bool, sources: bool) -> None:
    """Print the resolved configuration (global + project + local)."""
    from .config import load_config
    from .yamlio import dotted

    config = load_config(file=app.file, directory=app.directory)
    if sources:
        rows = [(dotted(p), v, str(o)) for p, v, o in config.leaves()]
        if as_json:
            emit_json([{"key": k, "value": v, "source": s} for k, v, s in rows])
            return
        for key, value, source in rows:
            click.echo(f"{key} = {json.dumps(value, ensure_ascii=False)}  # {source}")
        return
    if as_json:
        emit_json(config.data)
        return
    import yaml

    click.echo(yaml.safe_dump(config.data, sort_keys=False, allow_unicode=True), nl=False)


@cli.group(invoke_without_command=True)
@click.option("--profile", "profile", metavar="NAME", help="Profile to show (default: the active one).")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def status(ctx: click.Context, profile: str | None, as_json: bool) -> None:
    """Show the profile's generation, its drift from lattice.yaml, and the workflow's agents.

    Outside a project only the profile part is shown."""
    if ctx.invoked_subcommand is not None:
        return
    from .paths import find_project_file
    from .status import agent_rows, format_provider, profile_status, provider_keys

    app = ctx.find_object(App)
    assert app is not None
    in_project = app.file is not None or find_project_file(app.directory or Path.cwd()) is not None
    loaded = app.load() if in_project else None
    info = profile_status(profile, loaded)
    rows = agent_rows(loaded.workflow) if loaded is not None else None
    config = loaded.config.data if loaded is not None else _generation_config(info)
    providers = provider_keys(config, dict(os.environ)) if config is not None else []
    if as_json:
        emit_json({"profile": info, "agents": rows, "providers": providers})
        return
    _print_profile_status(info)
    if providers:
        click.echo("providers: " + ", ".join(format_provider(p) for p in providers))
    if rows is not None:
        click.echo()
        _print_agents(rows)


def _generation_config(info: dict[str, Any]) -> dict[str, Any] | None:
    """Outside a project, the configuration the active generation was built from."""
    if not info.get("store_path"):
        return None
    from .launch import environment_config

    try:
        return environment_config(Path(info["store_path"]))
    except LatticeError:
        return None


def _print_profile_status(info: dict[str, Any]) -> None:
    active = " (active)" if info["active"] else ""
    if info["generation"] is None:
        click.echo(f"profile {info['profile']}{active}: no generations yet; `lattice switch` creates one")
    else:
        what = f"{info['workflow'] or '?'} {info['version'] or ''}".rstrip()
        click.echo(f"profile {info['profile']}{active}: generation {info['generation']}, {what}")
        click.echo(f"  {info['store_path']}")
    if info["drift"] is not None and info["generation"] is not None:
        click.echo(f"  {info['drift']['message']}")


@status.command("agents")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_app
def status_agents(app: App, as_json: bool) -> None:
    """List agents with their triggers, routing and prompt file."""
    from .status import agent_rows

    loaded = app.load()
    rows = agent_rows(loaded.workflow)
    if as_json:
        emit_json(rows)
        return
    _print_agents(rows)


def _print_agents(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        click.echo(f"{row['name']}  {' '.join(row['triggers'])}")
        click.echo(f"  routing: {row['routing']['summary']} → {', '.join(row['routing']['candidates'])}"
                   + ("  (defaults)" if row["routing"]["inherited"] else ""))
        click.echo(f"  prompt:  {row['prompt_file']}")
        if row["description"]:
            click.echo(f"  {row['description']}")


@cli.group("store")
def store_group() -> None:
    """Inspect and maintain the store of built environments."""


@store_group.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def store_ls(as_json: bool) -> None:
    """List store paths with their size and references."""
    from .store import ls

    rows = ls()
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        click.echo(f"{row['path']}  {_size(row['size'])}  {len(row['references'])} references")


@store_group.command("verify")
@click.argument("paths", nargs=-1)
def store_verify(paths: tuple[str, ...]) -> None:
    """Recompute each store PATH (default: all) against its manifest; exit 1 on any difference."""
    from .store import verify

    problems = verify(paths or None)
    for problem in problems:
        click.echo(str(problem))
    if problems:
        raise SystemExit(1)


@store_group.command("gc")
@click.option("--dry-run", is_flag=True, help="Only print what would be removed.")
def store_gc(dry_run: bool) -> None:
    """Remove store paths no profile generation or running build references."""
    from .storegc import gc

    result = gc(dry_run=dry_run)
    for name in result.removed + result.stale:
        click.echo(f"  {'would remove' if dry_run else 'removed'} {name}")
    click.echo(f"{len(result.removed)} store paths, {len(result.stale)} leftovers: "
               f"{_size(result.bytes_freed)} {'would be freed' if dry_run else 'freed'}")


@store_group.command("optimise")
def store_optimise() -> None:
    """Hard-link identical files across store paths."""
    from .storeopt import optimise

    click.echo(f"{_size(optimise())} saved")


@store_group.command("why")
@click.argument("path")
def store_why(path: str) -> None:
    """Show which roots keep store PATH alive (exit 1 when none does)."""
    from .storegc import describe

    click.echo(describe(path))


def _size(n: int) -> str:
    """Exact bytes, plus a human-readable figure when it helps."""
    value, unit = float(n), "B"
    for bigger in ("KiB", "MiB", "GiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{n} bytes" if n < 1024 else f"{n} bytes ({value:.1f} {unit})"


def _lock_report(result: Any, as_json: bool) -> None:
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if as_json:
        emit_json({"lock": str(result.path), "changed": result.changed, "resolved": result.resolved,
                   "packages": result.package_count, "roots": result.lock["roots"],
                   "sources": result.lock["sources"]})
        return
    state = "wrote" if result.changed else "up to date:"
    click.echo(f"{state} {result.path.name} ({result.package_count} packages, "
               f"{len(result.lock['roots'])} roots, {len(result.lock['sources'])} local/git plugins)")


@cli.command()
@click.option("--refresh", is_flag=True, help="Resolve everything again (transitive versions may move).")
@click.option("--offline", is_flag=True, help="Use only npm's cache; fail if something is missing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def lock(app: App, refresh: bool, offline: bool, as_json: bool) -> None:
    """Write lattice.lock: exact versions and hashes of opencode and every plugin's npm closure."""
    from .lock import lock_workflow

    loaded = app.load()
    print_warnings(loaded.warnings)
    _lock_report(lock_workflow(loaded, refresh=refresh, offline=offline), as_json)


@cli.command()
@click.option("--offline", is_flag=True, help="Install from npm's cache only.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def build(app: App, offline: bool, as_json: bool) -> None:
    """Build the workflow's environment into the store; print its store path last."""
    from .build import build as build_env

    loaded = app.load()
    print_warnings(loaded.warnings)
    result = build_env(loaded, offline=offline)
    if as_json:
        emit_json({"path": str(result.path), "built": result.built, "relocked": result.relocked})
        return
    if result.relocked:
        click.echo("lattice: lattice.lock updated", err=True)
    click.echo(str(result.path))


def _print_rows(rows: list[Any], as_json: bool) -> None:
    if as_json:
        emit_json([row.as_json() for row in rows])
        return
    click.echo(f"{'plugin':36} {'pinned':14} {'locked':14} {'built':14} latest")
    for row in rows:
        pinned = row.pinned or "-"
        mark = "  (update available)" if row.outdated else ""
        click.echo(f"{row.name:36} {pinned:14} {row.locked or '-':14} {row.built or '-':14} "
                   f"{row.latest or '-'}{mark}")


@cli.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option("--offline", is_flag=True, help="Do not look up the latest versions.")
@click.pass_context
def plugins(ctx: click.Context, as_json: bool, offline: bool) -> None:
    """List plugins: pinned, locked, built and latest versions."""
    if ctx.invoked_subcommand is None:
        from .pluginops import plugin_rows

        _print_rows(plugin_rows(ctx.find_object(App).load(), offline=offline), as_json)


@plugins.command("update")
@click.argument("name", required=False)
@click.option("--apply", "apply_", is_flag=True, help="Rewrite the pins in lattice.yaml and re-lock.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_app
def plugins_update(app: App, name: str | None, apply_: bool, as_json: bool) -> None:
    """Show newer versions of npm plugins (all, or NAME); --apply pins them and re-locks."""
    from .pluginops import apply_updates, plugin_rows

    loaded = app.load()
    rows = [r for r in plugin_rows(loaded, only=name) if r.outdated]
    result = apply_updates(loaded, rows, app.load) if apply_ else None
    if as_json:
        emit_json({"updates": [r.as_json() for r in rows], "applied": result is not None})
        return
    if not rows:
        click.echo("All npm plugins are at their latest version.")
        return
    for row in rows:
        click.echo(f"{row.name}: {row.pinned} -> {row.latest}")
    if result is None:
        click.echo("Run `lattice plugins update --apply` to pin these and re-lock.")
    else:
        _lock_report(result, as_json=False)


@plugins.command("add")
@click.argument("spec")
@click.option("--json", "as_json", is_flag=True, help="Print the lock result as JSON.")
@pass_app
def plugins_add(app: App, spec: str, as_json: bool) -> None:
    """Add a plugin (NAME@VERSION, github:OWNER/REPO@REF or file:PATH) to lattice.yaml and re-lock."""
    from .pluginops import add_plugin

    result = add_plugin(app.load(), spec, app.load)
    if not as_json:
        click.echo(f"added {spec}")
    _lock_report(result, as_json)


# --- profiles and generations (profiles.py) -------------------------------------------------------
# Hot commands: `switch --generation`, `rollback` and `generations` never load lattice.yaml, and import
# nothing but profiles.py (stdlib) — jinja2, cerberus and yaml stay out of the process.

profile_option = click.option("--profile", "profile", metavar="NAME",
                              help="Profile to act on (default: the active one, see `lattice use`).")


@cli.command()
@profile_option
@click.option("--generation", type=int, metavar="N", help="Move to existing generation N (nothing is built).")
@click.option("--offline", is_flag=True, help="Install from npm's cache only.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def switch(app: App, profile: str | None, generation: int | None, offline: bool, as_json: bool) -> None:
    """Make the built workflow the profile's new generation.

    With --generation N, move to an existing generation instead: the link only, nothing is built."""
    from . import profile_commands, profiles

    if generation is not None:
        profile_commands.switch_generation(profile, generation, as_json)
        return
    name = profiles.active_profile() if profile is None else profiles.check_name(profile)
    result = _build_and_switch(app, name, offline)
    profile_commands.report_switch(name, result.generation, result.created, result.store_path, as_json)


def _build_and_switch(app: App, name: str, offline: bool) -> Any:
    from .build import build as build_env
    from .profiles import switch_to
    from .gcroots import temp_root

    loaded = app.load()
    print_warnings(loaded.warnings)
    built = build_env(loaded, offline=offline)
    with temp_root(built.path):
        if not built.path.is_dir():  # a gc ran between the build and our root: build again, rooted now
            built = build_env(loaded, offline=offline)
        return switch_to(built.path, name)


@cli.command()
@profile_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def rollback(profile: str | None, as_json: bool) -> None:
    """Move the profile back to its previous generation.

    Only the link moves: nothing is built and lattice.yaml is not read."""
    from . import profile_commands

    profile_commands.rollback(profile, as_json)


@cli.command()
@profile_option
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def generations(profile: str | None, as_json: bool) -> None:
    """List the profile's generations.

    Number, date, workflow name and version, store path; * marks the current one."""
    from . import profile_commands

    profile_commands.generations(profile, as_json)


@cli.command("delete-generations")
@click.argument("specs", nargs=-1, required=True, metavar="SPEC…")
@profile_option
@click.option("--dry-run", is_flag=True, help="Only print what would be deleted.")
def delete_generations(specs: tuple[str, ...], profile: str | None, dry_run: bool) -> None:
    """Delete old generations of the profile.

    SPEC is a generation number, +K (keep the K newest), Nd (older than N days) or old (all but the
    current one). The current generation is never deleted; `lattice store gc` then frees the paths."""
    from . import profiles

    rows = profiles.delete_generations(list(specs), profile, dry_run=dry_run)
    for row in rows:
        click.echo(f"{'would delete' if dry_run else 'deleted'} generation {row.number} ({row.store_path})")
    if not rows:
        click.echo("no generation matches; nothing deleted")


@cli.command("profiles")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def profiles_cmd(as_json: bool) -> None:
    """List profiles and their current generations (* marks the active one)."""
    from . import profiles

    rows = profiles.profiles()
    if as_json:
        emit_json([row.as_json() for row in rows])
        return
    for row in rows:
        where = f"generation {row.generation}  {row.store_path}" if row.generation else "no generations yet"
        click.echo(f"{'*' if row.active else ' '} {row.name}  {where}")


@cli.command()
@click.argument("name")
def use(name: str) -> None:
    """Make profile NAME the active one.

    Commands act on the active profile unless given --profile."""
    from . import profiles

    profiles.use(name)
    click.echo(f"active profile: {name} (generation {profiles.current_generation(name)})")


# --- Entering an environment: `lattice print-env` and `lattice shell` (activation.py, shell.py) ---------

@cli.command("print-env")
@click.option("--profile", metavar="NAME", help="Use profile NAME (default: the active profile).")
@click.option("--shell", "shell_name", type=click.Choice(["bash", "zsh", "fish"]), default="bash",
              show_default=True, help="Syntax to print (bash's is also right for sh and direnv).")
def print_env(profile: str | None, shell_name: str) -> None:
    """Print the exports that make a profile's environment active.

    \b
    bash/zsh:  eval "$(lattice print-env)"
    fish:      lattice print-env --shell fish | source
    direnv:    eval "$(lattice print-env)"  in .envrc"""
    from .activation import print_env as render_exports

    text = render_exports(profile, shell_name)
    click.echo(text.encode("utf-8", "surrogateescape"), nl=False)


@cli.command("shell")
@click.option("--profile", metavar="NAME", help="Use profile NAME (default: the active profile).")
@click.option("-c", "command", metavar="CMD", help="Run CMD in the environment and exit with its status.")
def shell_cmd(profile: str | None, command: str | None) -> None:
    """Start your shell ($SHELL) with a profile's environment active; `exit` leaves it."""
    from .shell import enter

    enter(profile, command)


# --- `lattice doctor` (doctor.py) ------------------------------------------------------------------

@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def doctor(as_json: bool) -> None:
    """Check node and npm, profiles, the store, each environment's opencode, providers and leftovers;
    print the command that fixes each problem. Exits 1 when there is any."""
    from .doctor import diagnose, failed

    findings = diagnose()
    if as_json:
        emit_json({"ok": not failed(findings), "findings": [f.as_json() for f in findings]})
    else:
        for f in findings:
            click.echo(f"{'ok  ' if f.ok else 'FAIL'}  {f.check}: {f.detail}")
            if f.fix:
                click.echo(f"      fix: {f.fix}")
    if failed(findings):
        raise SystemExit(1)


# --- Routing: `lattice route`, `lattice routing`, `lattice status providers` (routing/) ---------------
# Hot path: `route` imports routing/ (stdlib only) and, when a profile is active, reads the config from
# its environment's manifest; YAML, cerberus and jinja2 load only when lattice.yaml must be read instead.

def _routing_source(app: App, profile: str | None = None) -> tuple[Any, str]:
    """The configuration to route from: the active (or named) profile's environment when it has a
    generation and no -C/-f was given, else lattice.yaml. Returns it and where it came from."""
    if profile is not None or (app.file is None and app.directory is None):
        from .activation import profile_env, profile_name
        from .launch import environment_config

        try:
            env_path = profile_env(profile)
        except LatticeError:
            if profile is not None:
                raise
        else:
            return environment_config(env_path), f"profile {profile_name(profile)} ({env_path.name})"
    loaded = app.load()
    return loaded.config.data, str(loaded.config.project_file)


@cli.command("route")
@click.argument("text", nargs=-1, required=True)
@click.option("--commit", is_flag=True, help="Count the call and advance the agent's position "
                                             "(default: a dry run that changes nothing).")
@click.option("--session", metavar="ID", help="Session whose skipped providers are left out.")
@click.option("--json", "as_json", is_flag=True, help="Print the decision as JSON.")
@pass_app
def route_cmd(app: App, text: tuple[str, ...], commit: bool, session: str | None, as_json: bool) -> None:
    """Show which agent and model a prompt such as `/architect design X` goes to, and why other
    candidates were skipped."""
    from .routing.decide import route_text

    source, origin = _routing_source(app)
    decision = route_text(source, " ".join(text), commit=commit, session=session)
    print_warnings(decision.warnings)
    if as_json:
        emit_json({**decision.as_json(), "config": origin})
        return
    where = "" if decision.strategy in ("weighted", "fallback") else \
        f", position {decision.position}/{decision.length}"
    click.echo(f"{text[0]} → {decision.agent} ({decision.strategy}{where})")
    note = "" if decision.via == "scheduled" else f" ({decision.via}; scheduled {decision.scheduled})"
    click.echo(f"  model: {decision.model}{note}")
    for model, reason in decision.skipped:
        click.echo(f"  skipped {model}: {reason}")
    click.echo("  committed: the agent's position advanced" if commit
               else "  dry run: state unchanged (--commit counts the call)")


def _routing_report(ctx: click.Context, make_rows: Any, key: str, profile: str | None,
                    as_json: bool) -> list[dict[str, Any]] | None:
    """Rows of a routing report from the routing source (routing/report.py's `make_rows`), its warnings
    printed; with --json the report is printed here and None returned."""
    app = ctx.find_object(App)
    assert app is not None
    source, origin = _routing_source(app, profile)
    warnings: list[str] = []
    rows = make_rows(source, warnings=warnings)
    print_warnings(warnings)
    if as_json:
        emit_json({"config": origin, key: rows})
        return None
    return rows


@cli.group("routing", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def routing_group(ctx: click.Context, as_json: bool) -> None:
    """Show each agent's routing state: strategy, position, next model, calls today."""
    if ctx.invoked_subcommand is not None:
        return
    from .routing.report import routing_rows

    rows = _routing_report(ctx, routing_rows, "agents", None, as_json)
    if rows is None:
        return
    for i, row in enumerate(rows):
        click.echo(("\n" if i else "") + f"{row['agent']} ({row.get('summary', 'invalid routing')})")
        if "position" in row:
            click.echo(f"  Position: {row['position']}/{row['length']}")
        if row.get("distribution") is not None:
            dist = ", ".join(f"{m.partition('/')[2]}={n}" for m, n in row["distribution"].items())
            click.echo(f"  Distribution: {dist or 'no calls yet'}")
        if row.get("next_model"):
            click.echo(f"  Next model: {row['next_model']}")
        elif row.get("unavailable") or row.get("error"):
            click.echo(f"  Next model: none ({row.get('unavailable') or row.get('error')})")
        click.echo(f"  Calls today: {row.get('calls_today', 0)}")


@routing_group.command("reset")
@click.argument("agent", required=False)
@pass_app
def routing_reset(app: App, agent: str | None) -> None:
    """Put AGENT (default: every agent) back at position 0; today's counts stay."""
    from .routing.decide import reset
    from .routing.table import table_for

    known = None
    if agent is not None:
        known = table_for(_routing_source(app)[0]).agent_names()
    names = reset(agent, known)
    click.echo(f"reset {', '.join(names)}" if names else "nothing to reset")


@status.command("providers")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def status_providers(ctx: click.Context, as_json: bool) -> None:
    """Per provider: key variable set or not (never its value), today's and this month's calls, tokens
    and estimated spend against local_budget (per budget_period), cool-downs after 429s."""
    from .routing.report import provider_rows

    profile = ctx.parent.params.get("profile") if ctx.parent else None
    rows = _routing_report(ctx, provider_rows, "providers", profile, as_json)
    if rows is None:
        return
    for row in rows:
        if row["env"]:
            access = f"key {row['env']}: {'set' if row['env_set'] else 'NOT SET'}"
        elif row["auth"]:
            access = f"auth {row['auth']}"
        else:
            access = "local server" if row["local"] else "no key variable"
        click.echo(f"{row['provider']}  {access}" + ("" if row["declared"] else "  (not in the config)"))
        # local_budget is shown on the line of the period it caps (budget_period: month by default)
        budget, period = row["local_budget"], row["budget_period"]
        cap = " (no local_budget)" if budget is None else f" of ${budget:g} local_budget a {period}" + \
            (" — OVER BUDGET, skipped" if row["over_budget"] else "")
        click.echo(f"  today: {row['calls_today']} calls, {row['estimated_tokens']:,} tokens "
                   f"({row['input_tokens']:,} in, {row['output_tokens']:,} out), "
                   f"spend ${row['estimated_spend']:.2f}{cap if period == 'day' else ''}")
        click.echo(f"  this month: {row['calls_month']} calls, {row['estimated_tokens_month']:,} tokens, "
                   f"spend ${row['estimated_spend_month']:.2f}{cap if period == 'month' else ''}")
        if row["unpriced_models"]:
            click.echo(f"  no price known for {', '.join(row['unpriced_models'])}: tokens counted, no spend")
        for c in row["cooldowns"]:
            click.echo(f"  cooling down: {c['model']} ({c['seconds_left']:.0f}s left after a 429)")


# --- Launching opencode: `lattice run` (launch.py) ---------------------------------------------------

@cli.command("run", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--profile", metavar="NAME", help="Run this profile's environment (default: the active one).")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def run_cmd(profile: str | None, args: tuple[str, ...]) -> None:
    """Launch the environment's opencode: `run` (TUI), `run /trigger MESSAGE…` (that agent and the
    routed model), `run -- ARGS…` (arguments passed to opencode untouched). Exits with opencode's status."""
    from .launch import run as launch

    launch(profile, list(args), passthrough=_RAW_ARGS.get("passthrough", False))


# Whether `lattice run` was given `--` (click consumes it): set by `main` from the raw arguments.
_RAW_ARGS: dict[str, bool] = {}


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and turn every outcome into an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "run" in args and "--" in args:
        _RAW_ARGS["passthrough"] = args.index("--") > args.index("run")
    try:
        cli.main(args=args, prog_name="lattice", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:  # usage errors: exit 2 with click's message
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except ConfigError as exc:
        for d in exc.diagnostics:
            click.echo(str(d), err=True)
        click.echo(_plural(sum(1 for d in exc.diagnostics if d.severity == "error"), "error"), err=True)
        return exc.exit_code
    except LatticeError as exc:
        click.echo(f"lattice: error: {exc}", err=True)
        return exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 141
    except Exception as exc:  # a bug: keep the traceback, in the log or with --debug
        from .crashlog import report_bug

        return report_bug(exc, args, debug="--debug" in args)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
