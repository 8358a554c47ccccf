"""Every file opencode reads, as data (config.py, mcp.py) and as written files (generate.py)."""
