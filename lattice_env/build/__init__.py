"""Turning a workflow into store paths: lattice.lock (lockfile.py, resolve.py), npm and node (npm.py,
node.py), the three derivations (plan.py), their builders (closure.py, workflow_env.py) and `lattice
build` itself (builder.py); `lattice plugins` (plugin_ops.py, pins.py)."""
