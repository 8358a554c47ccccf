"""Binary caches (issue 14): store paths shared between machines as signed info files and compressed
archives on an object store, a directory or a static web server, and in export streams for machines
without a network. `url.py` names caches, `s3.py`, `files.py` and `http.py` reach them, `keys.py` signs,
`info.py` is a path's signed description, `archive.py` its deterministic archive, `config.py` which
caches this machine trusts, `push.py`, `substitute.py`, `stream.py` (export/import) and `gc.py` use
them. Nothing here is imported by a hot command."""
