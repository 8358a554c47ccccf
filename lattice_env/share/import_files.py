"""The files an imported opencode setup brings along (importer.py): plugins — pinned npm specs kept,
local plugin files and folders turned into `file:` plugins under `plugins/` —, the files `instructions`
names, skill folders, and the MCP servers' own scripts; each read inside the setup, limited in size."""
from __future__ import annotations

import glob
import json
import os
import re
from typing import Any

from ..config.limits import MAX_AGENT_FILE_BYTES
from ..errors import LatticeError
from .files import File
from .import_secrets import SecretsImport
from .opencode_setup import inside, read_setup_file, skill_folders

MAX_COPIED = 16 << 20  # bytes of instruction, skill and plugin files copied along


class FileCopies(SecretsImport):
    """What the import does with files (plugin options may hold secrets: SecretsImport)."""

    def plugins(self) -> tuple[list[str], dict[str, Any]]:
        from ..config.plugin_specs import PluginSpecError, parse_plugin

        specs: list[str] = []
        options: dict[str, Any] = {}
        entries = self.cfg.get("plugin") if isinstance(self.cfg.get("plugin"), list) else []
        for i, entry in enumerate(entries):
            key = f"plugin[{i}]"
            spec, opts = (entry[0], entry[1]) if isinstance(entry, list) and len(entry) == 2 else (entry, None)
            if not isinstance(spec, str):
                self.skip(key, "not a plugin spec")
                continue
            local = spec.startswith(("file:", ".", "/", "~"))
            if local:
                made = self.local_plugin(spec, key)
                if made is None:
                    continue
                spec, short = made
            else:
                try:
                    plugin = parse_plugin(spec)
                except PluginSpecError as exc:
                    self.skip(key, f"{exc} (lattice builds only pinned plugins: `lattice plugins add "
                                   f"{spec.split('@')[0] or spec}@VERSION`)")
                    continue
                short = plugin.short_name
            specs.append(spec)
            if isinstance(opts, dict) and opts:
                try:
                    options[short] = self.secrets_in(opts, f"{key}.options", short.upper().replace("-", "_"))
                except LookupError as exc:
                    self.skip(f"{key}.options", str(exc))
        for name, rel in self.setup.plugin_files.items():
            made = self.wrap_plugin_file(rel, name, rel)
            if made is not None:
                specs.append(made)
        return specs, options

    def local_plugin(self, spec: str, key: str) -> tuple[str, str] | None:
        """A plugin path of the setup copied into `plugins/<name>/` as a `file:` plugin."""
        path = spec.removeprefix("file://").removeprefix("file:")
        if path.startswith("/") or path.startswith("~"):
            root = os.path.realpath(self.setup.root)
            real = os.path.realpath(os.path.expanduser(path))
            if not (real == root or real.startswith(root + os.sep)):
                self.skip(key, f"{spec} is outside the setup; copy it beside the workflow and add it as "
                               f"file:../NAME")
                return None
            rel = os.path.relpath(real, root)
        else:
            base = self.setup.config_dirs[-1] if self.setup.config_dirs else "."
            rel = os.path.normpath(os.path.join(base, path))
        if not inside(self.setup.root, rel):
            self.skip(key, f"{spec} leads out of the setup")
            return None
        full = self.setup.root / rel
        name = re.sub(r"[^A-Za-z0-9._-]", "-", os.path.basename(rel).rsplit(".", 1)[0]) or "plugin"
        if full.is_dir():
            if not (full / "package.json").is_file():
                self.skip(key, f"{spec} is a folder without package.json")
                return None
            for directory, dirs, names in os.walk(full):
                dirs[:] = [d for d in dirs if d != "node_modules" and not os.path.islink(os.path.join(directory, d))]
                for file in names:
                    src = os.path.relpath(os.path.join(directory, file), self.setup.root)
                    self.copy(src, f"plugins/{name}/{os.path.relpath(os.path.join(directory, file), full)}")
            return f"file:./plugins/{name}", name
        if full.is_file():
            made = self.wrap_plugin_file(rel, name, key)
            return (made, name) if made else None
        self.skip(key, f"{spec}: no such file or folder in the setup")
        return None

    def wrap_plugin_file(self, rel: str, name: str, key: str) -> str | None:
        """A single plugin file as the npm package lattice builds `file:` plugins from."""
        name = re.sub(r"[^a-z0-9._-]", "-", name.lower()).strip("-.") or "plugin"
        file = os.path.basename(rel)
        manifest = {"name": name, "version": "0.0.0", "main": file, "private": True,
                    "description": f"{rel} of the imported opencode setup"}
        if not self.copy(rel, f"plugins/{name}/{file}"):
            self.skip(key, "could not be copied")
            return None
        self.files[f"plugins/{name}/package.json"] = File((json.dumps(manifest, indent=2) + "\n").encode())
        return f"file:./plugins/{name}"

    def copy(self, rel: str, dest: str) -> bool:
        """Copy the setup's file `rel` to `dest` in the workflow, its executable bit with it (a skill's
        script, an MCP server's own script); inside the setup, limited in size."""
        try:
            file = read_setup_file(self.setup.root, rel, MAX_AGENT_FILE_BYTES)
        except LatticeError as exc:
            self.skip(rel, str(exc))
            return False
        self.copied += len(file.data)
        if self.copied > MAX_COPIED:
            raise LatticeError(f"the setup's files to copy are over {MAX_COPIED >> 20} MiB together")
        self.files[dest] = file
        return True

    def copy_instructions(self, passthrough: dict[str, Any]) -> None:
        """Files the `instructions` name, relative to the project, copied to the same places."""
        for pattern in passthrough.get("instructions") or ():
            if not isinstance(pattern, str) or pattern.startswith(("http://", "https://")):
                continue
            if pattern.startswith(("/", "~")):
                self.warnings.append(f"instructions: {pattern} is a path of this machine; it stays as it is")
                continue
            for found in sorted(glob.glob(pattern, root_dir=self.setup.root, recursive=True)):
                if inside(self.setup.root, found) and os.path.isfile(self.setup.root / found):
                    self.copy(found, found)

    def copy_skills(self, passthrough: dict[str, Any]) -> list[str]:
        """The setup's skills as directories of the workflow for lattice.yaml's `skills:` (returned):
        skill folders of its config dirs → `skills/<path>/`, and those of a relative `skills.paths` entry
        (relative to the project, where opencode runs) → the same place; such entries leave the
        pass-through, since opencode would resolve them against whatever directory it runs in."""
        dirs: list[str] = []
        for inner, folder in self.setup.skills:
            self.copy_skill(folder, f"skills/{inner}")
            dirs.append("skills")
        section = passthrough.get("skills")
        entries = section.get("paths") if isinstance(section, dict) else None
        if not isinstance(entries, list):
            return list(dict.fromkeys(dirs))
        kept = []
        for i, entry in enumerate(entries):
            key = f"skills.paths[{i}]"
            if not isinstance(entry, str) or entry.startswith(("/", "~/")):
                if isinstance(entry, str):
                    self.warnings.append(f"{key}: {entry} is a path of this machine; it stays as it is")
                kept.append(entry)
                continue
            rel = os.path.normpath(entry)
            if self.setup.layout != "project":
                self.skip(key, f"{entry} is relative to wherever opencode runs; copy the skills into the "
                               f"workflow and list the directory under `skills:`")
            elif not inside(self.setup.root, rel) or not os.path.isdir(self.setup.root / rel):
                self.skip(key, f"{entry} is not a directory inside the setup")
            elif not any(rel == f"{d}/{n}" for d in self.setup.config_dirs for n in ("skill", "skills")):
                found = skill_folders(self.setup.root, rel)  # a config dir's own skills are carried above
                for inner, folder in found:
                    self.copy_skill(folder, f"{rel}/{inner}" if inner else rel)
                if found:
                    dirs.append(rel.replace(os.sep, "/"))
                else:
                    self.skip(key, f"{entry} holds no skill (no folder with a SKILL.md)")
        if kept:
            section["paths"] = kept
        else:
            del section["paths"]
            if not section:
                del passthrough["skills"]
        return list(dict.fromkeys(dirs))

    def copy_skill(self, folder: str, dest: str) -> None:
        """Every file of the skill folder `folder` (symlinks not followed) → `dest` in the workflow."""
        root = self.setup.root / folder
        for directory, dirs, names in os.walk(root):
            for d in [d for d in dirs if os.path.islink(os.path.join(directory, d))]:
                self.skip(os.path.relpath(os.path.join(directory, d), self.setup.root),
                          "a symlink; lattice follows none out of the setup")
            dirs[:] = sorted(d for d in dirs if not os.path.islink(os.path.join(directory, d)))
            for file in sorted(names):
                src = os.path.relpath(os.path.join(directory, file), self.setup.root)
                target = f"{dest}/{os.path.relpath(os.path.join(directory, file), root)}".replace(os.sep, "/")
                held = self.files.get(target)
                if self.copy(src, target) and held is not None and held != self.files[target]:
                    self.files[target] = held  # two skill folders of the setup land on one path: keep the first
                    self.skip(src, f"another skill file of the setup goes to {target} too")
