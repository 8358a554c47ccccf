"""What `lattice status` shows, as plain data (the CLI prints it or dumps it as JSON)."""
from __future__ import annotations

from typing import Any

from . import paths
from .model import Workflow


def agent_rows(workflow: Workflow) -> list[dict[str, Any]]:
    return [
        {
            "name": agent.name,
            "description": agent.description,
            "triggers": list(agent.triggers),
            "prompt_file": paths.display(agent.prompt_file),
            "routing": {
                "strategy": agent.routing.strategy,
                "summary": agent.routing.summary(),
                "candidates": list(agent.routing.candidates()),
                "inherited": agent.routing_inherited,
            },
            "frontmatter": dict(agent.frontmatter),
        }
        for agent in workflow.agents.values()
    ]
