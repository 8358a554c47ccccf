"""`lattice init`, `validate`, `generate`, `config`: writing and checking a project's configuration."""
from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import ConfigError
from .app import App, cli, json_option, offline_option, pass_app, trust_option
from .output import diagnostic_json, plural, show, warn


@cli.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--from", "source", metavar="SOURCE",
              help="Take a shared workflow or opencode setup: owner/repo, github:…, gitlab:…, a git URL or a "
                   "directory, with @REF and //SUBDIR.")
@click.option("--ref", metavar="REF", help="With --from: the branch, tag or commit to take.")
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
@click.option("--name", help="Workflow name (default: the directory's name).")
@click.option("--no-build", is_flag=True, help="With --from: stop after writing the files.")
@trust_option
@click.option("--strict", is_flag=True, help="With --from: fail when a setting could not be carried over.")
@offline_option
@json_option
@pass_app
def init(app: App, directory: Path | None, source: str | None, ref: str | None, force: bool, name: str | None,
         no_build: bool, trust: bool, strict: bool, offline: bool, as_json: bool) -> None:
    """Create a commented lattice.yaml and starter agents in DIRECTORY (default: here), or, with --from,
    take a shared workflow into DIRECTORY (default: the repository's name)."""
    if source is not None:
        if name is not None:
            raise click.UsageError("--name is for the default workflow; a shared one keeps its name")
        from .share import init_from

        init_from(source, directory, ref, force, no_build, trust, strict, offline, as_json)
        return
    if ref is not None or no_build or strict:
        raise click.UsageError("--ref, --no-build and --strict go with --from")
    from ..share.init import init_project

    target = directory or app.directory or Path.cwd()
    written = init_project(target, force=force, name=name)
    show({"directory": str(target), "files": [str(p) for p in written]}, as_json,
         [*(f"  wrote {path}" for path in written),
          f"Initialised {target}. Next: `lattice validate`, then `lattice generate`."])


@cli.command()
@click.option("--strict", is_flag=True, help="Treat warnings (unset env vars, unreachable servers) as errors.")
@click.option("--offline", is_flag=True, help="Do not probe local model servers.")
@json_option
@pass_app
def validate(app: App, strict: bool, offline: bool, as_json: bool) -> None:
    """Check lattice.yaml, lattice.local.yaml and every agent file; report every problem."""
    from ..providers.probe import runtime_warnings

    try:
        loaded = app.load()
    except ConfigError as exc:
        if as_json:
            show({"valid": False, "diagnostics": [diagnostic_json(d) for d in exc.diagnostics]}, True)
            raise SystemExit(1) from None
        raise
    warnings = list(loaded.warnings) + runtime_warnings(loaded, probe=not offline)
    wf = loaded.workflow
    valid = not (strict and warnings)
    if not as_json:
        warn(warnings)
    state = "valid" if valid else "invalid (--strict: warnings count as errors)"
    counts = ", ".join(plural(n, word) for n, word in (
        (len(wf.agents), "agent"), (len(wf.providers), "provider"), (len(wf.plugins), "plugin"),
        (len(warnings), "warning")))
    show({"valid": valid, "diagnostics": [diagnostic_json(d) for d in warnings], "workflow": wf.name,
          "agents": len(wf.agents), "providers": len(wf.providers), "plugins": len(wf.plugins),
          "files": [str(f) for f in wf.files]}, as_json, [f"{wf.name}: {state} ({counts})"])
    if not valid:
        raise SystemExit(1)


@cli.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Write into DIR instead of the project (where opencode looks).")
@click.option("--force", is_flag=True, help="Overwrite files Lattice did not generate.")
@click.option("-v", "--verbose", is_flag=True, help="List unchanged files too.")
@click.option("--json", "as_json", is_flag=True, help="Print the written files as JSON.")
@trust_option
@pass_app
def generate(app: App, out: Path | None, force: bool, verbose: bool, as_json: bool, trust: bool) -> None:
    """Render opencode.json, oh-my-opencode.json, agent and command files.

    Into the project, what the workflow runs must be trusted first: a plain `opencode` there starts the
    MCP commands and plugins it finds. `--out DIR` writes wherever you say, trusted or not."""
    from ..opencode.generate import write_generated

    loaded = app.load()
    warn(loaded.warnings)
    if out is None:
        from ..trust.check import gate

        gate(loaded, "`lattice generate`", trust)
    result = write_generated(loaded.workflow, out=out, force=force)
    warn(result.warnings)
    counts = {s: sum(1 for _, status in result.files if status == s) for s in ("created", "updated", "removed",
                                                                             "unchanged")}
    show({"out": str(result.out), "files": [{"path": p, "status": s} for p, s in result.files]}, as_json,
         [*(f"  {status:9} {path}" for path, status in result.files if verbose or status != "unchanged"),
          f"Generated {result.out}: wrote {counts['created'] + counts['updated']}, removed {counts['removed']}, "
          f"{counts['unchanged']} unchanged"])


@cli.command("config")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON instead of YAML.")
@click.option("--sources", is_flag=True, help="Show the file and line every value came from.")
@pass_app
def config_cmd(app: App, as_json: bool, sources: bool) -> None:
    """Print the resolved configuration (global + project + local)."""
    from ..config.document import dotted
    from ..config.sources import load_config

    config = load_config(file=app.file, directory=app.directory)
    if sources:
        rows = [(dotted(p), v, str(o)) for p, v, o in config.leaves()]
        show([{"key": k, "value": v, "source": s} for k, v, s in rows], as_json,
             [f"{key} = {json.dumps(value, ensure_ascii=False)}  # {source}" for key, value, source in rows])
        return
    def as_yaml() -> list[str]:
        import yaml

        return yaml.safe_dump(config.data, sort_keys=False, allow_unicode=True).splitlines()

    show(config.data, as_json, as_yaml)
