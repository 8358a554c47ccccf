"""Trust: nothing a workflow's own files make run — hooks, MCP servers with a command, `file:` and
`github:` plugins, commands that run a shell, the `opencode:` pass-through — runs before the user has
trusted exactly that content in that directory (lattice's `direnv allow`). items.py says what can run and
hashes it, state.py keeps the trust files in the data directory (os only: `shell -c` and `run` check an
environment on their hot path), check.py is the one gate build, switch, run and shell go through."""
