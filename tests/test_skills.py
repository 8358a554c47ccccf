"""lattice.yaml's `skills:` (config/skills.py) without opencode: what a skill's files change (the store
name), what an untrusted repository cannot do with them (one located line each, nothing read beyond),
and how `init --from` carries an opencode setup's skills into the key."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from conftest import TINY, fake_lock, write_project

from lattice_env.build.plan import plan
from lattice_env.config.load import load_workflow

SKILL = "---\nname: {name}\ndescription: {description}\n---\n{body}\n"


def _skill(folder: Path, name: str, description: str = "Does a thing.", body: str = "Do the thing.") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "SKILL.md").write_text(SKILL.format(name=name, description=description, body=body))
    return folder


def _project(root: Path, extra: str = "skills: [skills]\n") -> Path:
    project = write_project(root, TINY + extra, {"architect": "You design.\n"})
    _skill(project / "skills" / "hello", "hello")
    return project


def _env_name(project: Path) -> str:
    return plan(load_workflow(directory=project), fake_lock()).names()["env"]


def test_every_skill_file_is_part_of_the_store_name(tmp_path):
    project = _project(tmp_path / "p")
    script = project / "skills" / "hello" / "run.sh"
    script.write_text("echo hi\n")
    names = [_env_name(project)]
    (project / "skills" / "hello" / "SKILL.md").write_text(SKILL.format(name="hello", description="Does a thing.",
                                                                        body="Do it differently."))
    names.append(_env_name(project))
    script.chmod(0o755)
    names.append(_env_name(project))
    (project / "skills" / "hello" / "notes.md").write_text("more\n")
    names.append(_env_name(project))
    assert len(set(names)) == len(names), names
    assert _env_name(project) == names[-1]  # and nothing else moves it
    wf = load_workflow(directory=project).workflow
    assert [f.path for f in wf.skills] == ["0/hello/SKILL.md", "0/hello/notes.md", "0/hello/run.sh"]


@pytest.mark.parametrize(("entry", "message"), [
    ("../outside", "skills[0]: '../outside' leaves the project directory"),
    ("/etc", "skills[0]: '/etc' must be relative to the project directory, not absolute"),
    ("~/skills", "skills[0]: '~/skills' must be relative to the project directory"),
    ("missing", "skills[0]: 'missing' does not exist"),
    (".", "skills[0]: '.' is the project directory itself"),
    ("agents", "skills[0]: 'agents' holds no skill (no folder in it has a SKILL.md)"),
])
def test_a_skills_entry_that_leads_nowhere_good_is_one_located_error(run, tmp_path, entry, message):
    _project(tmp_path / "p", f"skills: [{entry!r}]\n".replace("'", '"'))
    r = run("validate", cwd=tmp_path / "p")
    assert r.code == 1 and "Traceback" not in r.stderr
    assert f"lattice.yaml:11:10: {message}" in r.stderr, r.stderr


def test_symlinks_fifos_and_huge_files_in_skills_are_refused_unread(run, tmp_path, decoy):
    project = _project(tmp_path / "p")
    hello = project / "skills" / "hello"
    os.symlink(decoy.root / ".ssh" / "id_rsa", hello / "key")
    r = run("validate", cwd=project)
    assert r.code == 1 and "Traceback" not in r.stderr
    assert "skills[0]: skills/hello/key is a symlink (Lattice copies none into the store" in r.stderr
    (hello / "key").unlink()
    os.symlink(decoy.root / ".ssh", hello / "ssh")  # a folder: not entered
    assert "skills/hello/ssh is a symlink" in run("validate", cwd=project).stderr
    (hello / "ssh").unlink()
    os.mkfifo(hello / "pipe")  # would block a plain open
    assert "skills[0]: skills/hello/pipe is not a regular file" in run("validate", cwd=project).stderr
    (hello / "pipe").unlink()
    with open(hello / "big.bin", "wb") as f:
        f.truncate(17 << 20)  # sparse: only its size says how big
    r = run("validate", cwd=project)
    assert "skills[0]: skills/hello/big.bin: 17.0 MiB is more than a skill file may hold (16 MiB)" in r.stderr
    (hello / "big.bin").unlink()
    (project / "elsewhere").symlink_to(project / "skills")
    (project / "lattice.yaml").write_text(TINY + "skills: [elsewhere]\n")
    assert "skills[0]: 'elsewhere' is a symlink; name the directory itself" in run("validate", cwd=project).stderr
    (project / "lattice.yaml").write_text(TINY + "skills: [skills]\n")
    assert run("validate", cwd=project).code == 0
    decoy.assert_untouched()


def test_a_skill_opencode_would_not_load_is_located_in_its_file(run, tmp_path):
    project = _project(tmp_path / "p")
    (project / "skills" / "bare").mkdir()
    (project / "skills" / "bare" / "SKILL.md").write_text("Just text.\n")
    _skill(project / "skills" / "twin", "hello")
    _skill(project / "skills" / "leaky", "leaky", body="token ghp_abcdefghijklmnopqrstuvwxyz0123456789")
    (project / "skills" / ".hidden" / "x").mkdir(parents=True)  # opencode's glob skips it: so do we
    (project / "skills" / ".hidden" / "x" / "SKILL.md").write_text("not a skill to opencode\n")
    r = run("validate", cwd=project)
    assert r.code == 1 and "Traceback" not in r.stderr
    assert "skills/bare/SKILL.md:1:1: a skill starts with a frontmatter (---) naming it" in r.stderr
    assert "skills/twin/SKILL.md: name: skill 'hello' is named by " in r.stderr
    assert "skills/leaky/SKILL.md:5: a GitHub token written in the skill" in r.stderr, r.stderr
    assert ".hidden" not in r.stderr


def test_a_relative_skills_path_in_the_passthrough_is_refused(run, tmp_path):
    write_project(tmp_path / "p", TINY + "opencode:\n  skills:\n    paths: [skills, /opt/skills]\n",
                  {"architect": "You design.\n"})
    r = run("validate", cwd=tmp_path / "p")
    assert r.code == 1
    assert ("lattice.yaml:13:13: opencode.skills.paths[0]: opencode reads a relative skills path from the "
            "directory it runs in, not from the workflow; list 'skills' under lattice.yaml's own `skills:`") in r.stderr
    assert "paths[1]" not in r.stderr


def test_init_from_carries_an_opencode_setups_skills_into_the_skills_key(run, tmp_path):
    setup = tmp_path / "setup"
    _skill(setup / ".opencode" / "skills" / "hello", "hello")
    _skill(setup / ".opencode" / "skill" / "team" / "review", "team-review")
    _skill(setup / "extra" / "deploy", "deploy")
    (setup / ".opencode" / "skills" / "hello" / "run.sh").write_text("echo hi\n")
    os.symlink("/etc", setup / ".opencode" / "skills" / "hello" / "etc")
    (setup / "opencode.json").write_text('{"model": "anthropic/claude-sonnet-4-5", '
                                         '"skills": {"paths": ["extra", "/opt/shared-skills"]}}')
    r = run("init", "--from", str(setup), "w", "--no-build")
    assert r.code == 0, r.stderr
    w = tmp_path / "w"
    data = yaml.safe_load((w / "lattice.yaml").read_text())
    assert data["skills"] == ["skills", "extra"]
    assert data["opencode"] == {"skills": {"paths": ["/opt/shared-skills"]}}  # a machine path stays, warned
    assert "skills.paths[1]: /opt/shared-skills is a path of this machine" in r.stderr
    assert ".opencode/skills/hello/etc: a symlink; lattice follows none out of the setup" in r.stderr
    assert (w / "skills" / "team" / "review" / "SKILL.md").is_file() and (w / "extra" / "deploy" / "SKILL.md").is_file()
    assert not (w / "skills" / "hello" / "etc").exists()
    wf = load_workflow(directory=w).workflow
    assert {f.path for f in wf.skills} == {"0/hello/SKILL.md", "0/hello/run.sh", "0/team/review/SKILL.md",
                                          "1/deploy/SKILL.md"}
