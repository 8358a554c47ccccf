"""`lattice init --from` (its flow: clone, build, providers, generate), `lattice update`, `lattice publish`:
a shared workflow (share/). The `init` command itself is in project.py and hands `--from` to `init_from`."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from ..errors import LatticeError
from .app import App, json_option, pass_app
from .app import cli as root
from .output import emit, plural, show, warn


class Steps:
    """The clone flow's progress: the design's transcript on a terminal, nothing when piped or --json."""

    def __init__(self, as_json: bool) -> None:
        self.enabled = not as_json and sys.stdout.isatty()

    def __call__(self, line: str) -> None:
        if self.enabled:
            emit(line)


def _own_opencode_config(spec: str) -> bool:
    """Whether `spec` is the user's own global opencode configuration (adopting it needs no trust)."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    path = os.path.expanduser(spec.split("//")[0])
    return os.path.isdir(path) and os.path.realpath(path) == os.path.realpath(os.path.join(base, "opencode"))


def init_from(spec: str, directory: Path | None, ref: str | None, force: bool, no_build: bool, trust: bool,
              strict: bool, offline: bool, as_json: bool) -> None:
    from .. import paths
    from ..share.clone import clone, summary

    say = Steps(as_json)
    cloned = clone(spec, directory, ref=ref, force=force, say=say)
    taken = cloned.taken
    if taken.kind == "lattice":
        say(f"  ✓ Downloaded {paths.PROJECT_FILE}")
        say(f"  ✓ Downloaded {plural(taken.agents, 'agent file')}")
    else:
        say(f"  ✓ Converted an opencode setup: {paths.PROJECT_FILE}, {plural(taken.agents, 'agent file')}")
    warn(f"lattice: warning: {w}" for w in taken.warnings)
    result: dict[str, Any] = {**summary(cloned), "trusted": None, "built": None, "providers": [], "generated": []}
    shown = paths.display(cloned.directory)
    next_step = "" if cloned.directory == Path.cwd().absolute() else f"cd {shown} && "
    if no_build:
        try:
            result["trusted"] = _trusted(cloned.directory, trust or _own_opencode_config(spec)) is True
        except LatticeError as exc:  # written as it came; the user fixes it before building
            result["trusted"] = False
            warn([f"lattice: warning: {shown} does not load yet: {str(exc).splitlines()[0]}; "
                  f"see `lattice validate`"])
        _finish(result, as_json, strict, [f"Wrote {shown}. Next: `{next_step}lattice build`."])
        return
    result["trusted"] = _trusted(cloned.directory, trust or _own_opencode_config(spec))
    if isinstance(result["trusted"], str):
        refusal = result["trusted"]
        result["trusted"] = False
        _finish(result, as_json, strict, [f"Wrote {shown}; not built: {refusal}"])
        return
    from ..build.builder import Progress, build
    from ..config.load import load_workflow
    from ..opencode.generate import write_generated
    from ..providers.kinds import is_local
    from ..providers.probe import runtime_warnings

    loaded = load_workflow(directory=cloned.directory)
    warn(loaded.warnings)
    wf = loaded.workflow
    say("")
    say("Installing plugins...")
    built = build(loaded, offline=offline, progress=Progress(say.enabled), action="`lattice init --from`")
    for plugin in wf.plugins:
        say(f"  ✓ {plugin.raw}")
    result["built"] = str(built.path)
    say("")
    say("Checking providers...")
    problems = {d.key: d.message for d in runtime_warnings(loaded)}
    for provider in wf.providers.values():
        row = {"provider": provider.name, "env": provider.env, "set": bool(provider.env and os.environ.get(provider.env)),
               "problem": problems.get(f"providers.{provider.name}")}
        result["providers"].append(row)
        if provider.env:
            say(f"  {'✓' if row['set'] else '✗'} {provider.env} {'found' if row['set'] else 'not set'}")
        if row["problem"]:
            say(f"  ✗ {provider.name}: {row['problem']}")
        elif is_local(provider):
            say(f"  ✓ {provider.name} running locally")
    say("")
    say("Generating configs...")
    generated = write_generated(wf)
    warn(generated.warnings)
    result["generated"] = [p for p, status in generated.files if status != "removed"]
    inner = {kind: sum(1 for p in result["generated"] if p.startswith(f".opencode/{kind}/")) for kind in ("agent", "command")}
    for path in result["generated"]:
        if not path.startswith((".opencode/agent/", ".opencode/command/")):
            say(f"  ✓ {path}")
    if any(inner.values()):
        say(f"  ✓ {plural(inner['agent'], 'agent file')} and {plural(inner['command'], 'command file')} in .opencode/")
    say("")
    _finish(result, as_json, strict, [f"Ready! Run `{next_step}lattice status` to see your setup."])


def _trusted(directory: Path, trust: bool) -> bool | str:
    """True when what the workflow runs is trusted (given `trust`, now); else the refusal's text."""
    from ..config.load import load_workflow
    from ..trust.check import check_trusted
    from ..trust.check import trust as trust_now

    loaded = load_workflow(directory=directory)
    if trust:
        trust_now(loaded)
        return True
    try:
        check_trusted(loaded, "`lattice build`")
    except LatticeError as exc:
        return str(exc)
    return True


def _finish(result: dict[str, Any], as_json: bool, strict: bool, lines: list[str]) -> None:
    missing = result["not_carried"]
    failed = strict and bool(missing)
    result["ok"] = not failed
    if not as_json and missing:
        emit(f"Not carried over ({len(missing)}):", err=True)
        for item in missing:
            emit(f"  {item}", err=True)
    show(result, as_json, lines)
    if failed:
        if not as_json:
            emit(f"lattice: error: {plural(len(missing), 'setting')} could not be carried over (--strict)", err=True)
        raise SystemExit(1)


@root.command()
@click.option("--ref", metavar="REF", help="Upstream branch, tag or commit (default: the recorded ref).")
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@json_option
@pass_app
def update(app: App, ref: str | None, dry_run: bool, as_json: bool) -> None:
    """Merge upstream changes into this workflow (three-way, from the commit it came from)."""
    from ..share.update import update_workflow

    directory = _workflow_dir(app)
    result = update_workflow(directory, ref=ref, dry_run=dry_run)
    lines = [f"  {row['status']:10} {row['path']}" + (f" ({row['detail']})" if row.get("detail") else "")
             for row in result["files"] if row["status"] != "unchanged"]
    head = "would update" if dry_run else "updated"
    if result["commit"] == result["base"]:
        lines.append(f"already at {result['commit'][:12]}; nothing to merge")
    else:
        lines.append(f"{head} {directory} from {result['base'][:12]} to {result['commit'][:12]}"
                     + (f"; {plural(len(result['conflicts']), 'conflict')}: "
                        + ", ".join(f"{c['path']}:{c['line']}" for c in result["conflicts"])
                        + (" (marked inline with <<<<<<< >>>>>>>" if any(c["line"] for c in result["conflicts"])
                           else " (each described above") + "; resolve, then `lattice validate`)"
                        if result["conflicts"] else ""))
    show(result, as_json, lines)
    if result["conflicts"]:
        raise SystemExit(1)


@root.command()
@click.option("--to", "remote", metavar="GIT_URL", help="Push to this remote (default: the repository's origin).")
@click.option("-m", "--message", default="lattice publish", show_default=True, help="The commit message.")
@json_option
@pass_app
def publish(app: App, remote: str | None, message: str, as_json: bool) -> None:
    """Check the workflow is shareable, commit it to git and push it."""
    from ..share.publish import publish_workflow

    loaded = app.load()
    warn(loaded.warnings)
    result = publish_workflow(loaded, remote=remote, message=message)
    show(result, as_json, [*(f"  wrote {p}" for p in result["wrote"]),
                           f"published {result['directory']} ({result['commit'][:12]}) to {result['remote']} "
                           f"{result['branch']}. Others get it with `lattice init --from {result['remote']}`."])


def _workflow_dir(app: App) -> Path:
    from .. import paths

    if app.file is not None:
        return app.file.absolute().parent
    start = (app.directory or Path.cwd()).absolute()
    found = paths.find_project_file(start)
    if found is None:
        raise LatticeError(f"no {paths.PROJECT_FILE} in {paths.display(start)} or above")
    return found.parent
