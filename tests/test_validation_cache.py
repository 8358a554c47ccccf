"""The shape-validation cache (validation_cache.py): an unchanged lattice.yaml is not re-validated by
cerberus in the next process, and the cache can never hide an error."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lattice_env.paths import data_root

PROBE = ("import sys; from lattice_env.cli.main import main; rc = main(['validate']); "
         "print('cerberus' in sys.modules, file=sys.stderr); sys.exit(rc)")


def validate_in_new_process(project: Path) -> tuple[int, bool, str]:
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=project, capture_output=True, text=True,
                          env={**os.environ, "LATTICE_HOME": str(Path(data_root()))}, timeout=120)
    *lines, used = done.stderr.splitlines()
    return done.returncode, used == "True", "\n".join(lines)


def test_a_valid_document_is_validated_once(design_project):
    assert validate_in_new_process(design_project)[:2] == (0, True)
    entries = os.listdir(Path(data_root()) / "cache" / "valid")
    assert len(entries) >= 2  # lattice.yaml and the agents' frontmatter
    assert validate_in_new_process(design_project)[:2] == (0, False)  # remembered: cerberus not even imported
    assert sorted(os.listdir(Path(data_root()) / "cache" / "valid")) == sorted(entries)


def test_the_cache_never_hides_an_error(design_project):
    assert validate_in_new_process(design_project)[0] == 0
    config = design_project / "lattice.yaml"
    good = config.read_text()
    assert "    gate_enforcement: true\n" in good
    config.write_text(good.replace("    gate_enforcement: true\n", "    gate_enforcment: true\n"))
    code, used, errors = validate_in_new_process(design_project)
    assert (code, used) == (1, True)
    assert "vcs.config.gate_enforcment" in errors and "gate_enforcement" in errors.split("did you mean")[-1]
    config.write_text(good)  # back to the remembered text: no cerberus again
    assert validate_in_new_process(design_project)[:2] == (0, False)


def test_an_unwritable_cache_only_costs_time(design_project):
    cache = Path(data_root()) / "cache"
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text("not a directory")  # every remember() fails
    assert validate_in_new_process(design_project)[:2] == (0, True)
    assert validate_in_new_process(design_project)[:2] == (0, True)
