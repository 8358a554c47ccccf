"""The content-addressed store (store/FORMAT.md): names (names.py), adding a path (add.py), manifests
(manifest.py), tree hashing (tree.py), verification (verify.py), gc roots (roots.py), collection (gc.py)
and deduplication (optimise.py)."""
