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
from .import_secrets import SecretsImport
from .opencode_setup import inside, read_bytes

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
        self.files[f"plugins/{name}/package.json"] = (json.dumps(manifest, indent=2) + "\n").encode()
        return f"file:./plugins/{name}"

    def copy(self, rel: str, dest: str) -> bool:
        """Copy the setup's file `rel` to `dest` in the workflow (inside the setup, limited in size)."""
        try:
            data = read_bytes(self.setup.root, rel, MAX_AGENT_FILE_BYTES)
        except LatticeError as exc:
            self.skip(rel, str(exc))
            return False
        self.copied += len(data)
        if self.copied > MAX_COPIED:
            raise LatticeError(f"the setup's files to copy are over {MAX_COPIED >> 20} MiB together")
        self.files[dest] = data
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

    def copy_skills(self, passthrough: dict[str, Any]) -> None:
        """Skill folders of the setup's config directories → `skills/<name>/`, found by `skills.paths`."""
        if not self.setup.skills:
            return
        for folder in self.setup.skills:
            name = os.path.basename(folder)
            for directory, dirs, names in os.walk(self.setup.root / folder):
                dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(directory, d))]
                for file in names:
                    src = os.path.relpath(os.path.join(directory, file), self.setup.root)
                    self.copy(src, f"skills/{name}/{os.path.relpath(os.path.join(directory, file), self.setup.root / folder)}")
        skills = passthrough.setdefault("skills", {})
        if isinstance(skills, dict):
            skills["paths"] = [*(skills.get("paths") or []), "skills"]
