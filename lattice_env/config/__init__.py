"""Reading a workflow: YAML with positions (document.py), sources and merging (sources.py), validation
(schema.py, checks.py, validation_cache.py), agent files (agent_files.py), the typed Workflow (model.py)
and the one entry point `load_workflow` (load.py)."""
