"""`lattice update`, `lattice publish`: a shared workflow after `init --from` (share/)."""
