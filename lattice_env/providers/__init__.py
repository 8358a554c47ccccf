"""Model providers: which protocol each speaks and where (kinds.py), and run-time checks of keys and
local servers (probe.py)."""
