from __future__ import annotations

from conftest import DESIGN


def test_design_example_validates(run):
    r = run("validate", "--offline", cwd=DESIGN)
    assert r.code == 0, r.stderr
    assert "dpshade-workflow: valid (10 agents, 4 providers, 4 plugins" in r.stdout
