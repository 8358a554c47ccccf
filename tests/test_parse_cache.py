"""The parse cache (config/parse_cache.py): a document read again comes back exactly as parsing it would
give it — data, marks, key marks and YAML 1.1 trap text — without importing yaml; any other text, or
another parser, is parsed afresh; a bad document is never kept; a broken cache only costs time."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DESIGN
from hypothesis import given
from hypothesis import strategies as st
from test_fuzz import SETTINGS, _dump, text, values, yamlish

from lattice_env.config import parse_cache
from lattice_env.config.agent_files import split_frontmatter
from lattice_env.config.document import load_yaml
from lattice_env.config.parser import parse
from lattice_env.errors import ConfigError
from lattice_env.paths import data_root

EDGES = """\
name: "edge ü ✓ \\U0001F600 \\x01"
on: yes
version: 1.0
date: 2024-01-02
explicit: !!timestamp 2024-01-02T03:04:05Z
numbers: [0, -0.0, 1e300, 123456789012345678901234567890, 0x1f, 0o17, 1_000]
"0": zero
empty: {}
nothing:
list: [[], [{}], "", ~, true]
base: &base {a: 1, b: [1, 2]}
merged:
  <<: *base
  b: override
alias: *base
block: |
  two
  lines
"""


def fields(doc) -> tuple:
    return doc.file, doc.data, doc.marks, doc.key_marks, doc.raw


def texts() -> list[tuple[str, str, int]]:
    """(slot, text, line offset) of documents with every kind of value the parser returns."""
    out = [(str(DESIGN / "lattice.yaml"), (DESIGN / "lattice.yaml").read_text(), 0), ("/x/edges.yaml", EDGES, 0),
           ("/x/offset.md", "temperature: 0.3\nmode: subagent\n", 1), ("/x/empty.yaml", "", 0),
           ("/x/comment.yaml", "# only a comment\n", 0)]
    for agent in sorted((DESIGN / "agents").glob("*.md")):
        front = split_frontmatter(agent.read_text(), agent.name)[0]
        if front is not None:
            out.append((str(agent), front, 1))
    return out


@pytest.mark.parametrize(("slot", "text", "offset"), texts(), ids=lambda v: v if isinstance(v, str) and
                         v.startswith("/") else None)
def test_a_recalled_document_is_the_parsed_one(slot, text, offset):
    first = load_yaml(text, "shown.yaml", offset, slot=slot)
    assert fields(first) == fields(parse(text, "shown.yaml", offset))
    recalled = parse_cache.recall(slot, text, offset, "elsewhere.yaml")
    assert recalled is not None
    assert fields(recalled) == fields(parse(text, "elsewhere.yaml", offset))
    assert [type(v) for v in _leaves(recalled.data)] == [type(v) for v in _leaves(first.data)]
    assert fields(load_yaml(text, "shown.yaml", offset, slot=slot)) == fields(first)


def _leaves(value):
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def test_another_text_or_offset_is_parsed_afresh():
    load_yaml("a: 1\n", "f.yaml", slot="/x/f.yaml")
    assert parse_cache.recall("/x/f.yaml", "a: 2\n", 0, "f.yaml") is None
    assert parse_cache.recall("/x/f.yaml", "a: 1\n", 1, "f.yaml") is None
    assert parse_cache.recall("/x/g.yaml", "a: 1\n", 0, "f.yaml") is None
    doc = load_yaml("a: 2\n", "f.yaml", slot="/x/f.yaml")  # same size, same slot: the new text wins
    assert doc.data == {"a": 2} and parse_cache.recall("/x/f.yaml", "a: 2\n", 0, "f.yaml").data == {"a": 2}


def test_a_bad_document_is_never_kept():
    for _ in range(2):
        with pytest.raises(ConfigError, match="duplicate key"):
            load_yaml("a: 1\na: 2\n", "bad.yaml", slot="/x/bad.yaml")
    assert not (Path(data_root()) / "cache" / "parsed").exists()


def test_a_broken_or_unwritable_cache_only_costs_time():
    slot = "/x/f.yaml"
    load_yaml("a: [1]\n", "f.yaml", slot=slot)
    (kept,) = (Path(data_root()) / "cache" / "parsed").iterdir()
    good = kept.read_text()
    for junk in ("\xff", "[]", good.replace('"marks": [', '"marks": [7, '), good.replace('"data"', '"dada"')):
        kept.write_text(junk)
        assert parse_cache.recall(slot, "a: [1]\n", 0, "f.yaml") is None
        assert load_yaml("a: [1]\n", "f.yaml", slot=slot).data == {"a": [1]}
        assert kept.read_text() == good  # parsed again and kept again
    kept.unlink()
    kept.parent.rmdir()
    kept.parent.write_text("not a directory")
    assert load_yaml("a: [1]\n", "f.yaml", slot=slot).data == {"a": [1]}


def test_another_yaml_package_is_another_parser(tmp_path):
    """The key covers the yaml package found on sys.path: an upgraded (here: another) PyYAML misses."""
    code = "from lattice_env.config import parse_cache; print(parse_cache._identity().hex())"
    real = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    (tmp_path / "yaml").mkdir()
    (tmp_path / "yaml" / "__init__.py").write_text("# another yaml\n")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONPATH": str(tmp_path)}).stdout
    assert real.strip() and other.strip() and real != other


PROBE = ("import sys; from lattice_env.cli.main import main; rc = main(['config', '--json']); "
         "print('yaml' in sys.modules, file=sys.stderr); sys.exit(rc)")


def config_in_new_process(project: Path) -> tuple[str, bool]:
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=project, capture_output=True, text=True,
                          env={**os.environ, "LATTICE_HOME": str(Path(data_root()))}, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout, done.stderr.splitlines()[-1] == "True"


def test_the_next_process_reads_lattice_yaml_without_yaml_and_sees_every_edit(design_project):
    config = design_project / "lattice.yaml"
    first, used = config_in_new_process(design_project)
    assert used
    assert config_in_new_process(design_project) == (first, False)
    before = os.stat(config)
    edited = config.read_text().replace("name: ", "name: X", 1)[:-1]  # the same size: one byte in, one out
    config.write_text(edited)
    os.utime(config, ns=(before.st_atime_ns, before.st_mtime_ns))  # and the old mtime put back
    assert os.stat(config).st_size == before.st_size
    changed, used = config_in_new_process(design_project)
    assert used and changed != first and '"name": "X' in changed


@SETTINGS
@given(st.one_of(values.map(_dump).filter(lambda t: t is not None), yamlish, text))
def test_whatever_parses_is_recalled_exactly(source: str) -> None:
    try:
        parsed = parse(source, "f.yaml")
    except ConfigError:
        return
    parse_cache.remember("/x/fuzz.yaml", source, 0, parsed)
    recalled = parse_cache.recall("/x/fuzz.yaml", source, 0, "f.yaml")
    assert recalled is not None and fields(recalled) == fields(parsed)
    assert [type(v) for v in _leaves(recalled.data)] == [type(v) for v in _leaves(parsed.data)]
