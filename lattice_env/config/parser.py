"""The YAML parser behind `document.load_yaml`: PyYAML's safe C loader, walked node by node so that every
key and value keeps its line and column, duplicate keys and unsafe tags are refused, and every problem
is a located Diagnostic (never a YAML or Python error). Imported only when a document is not in the
parse cache (parse_cache.py): importing yaml costs about as much as importing click."""
from __future__ import annotations

import datetime
import gc
import math
from typing import Any

import yaml

from ..errors import ConfigError
from .diagnostics import Diagnostic
from .document import Document, KeyPath, Mark, dotted
from .limits import MAX_DEPTH, MAX_NODES

try:  # the C loader is several times faster and keeps the same marks
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[attr-defined]
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader

_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_COLLECTION_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("seq", "map", "omap", "pairs", "set")}
_NODE_EVENTS = (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent)


def parse(text: str, file: str, line_offset: int = 0) -> Document:
    """One YAML document as a Document; raises ConfigError listing what is wrong with it."""
    # Composing and walking build many small objects at once; the cyclic collector, run again and again
    # on the growing heap, would triple the cost of a large document (it has no cycles to find).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _parse(text, file, line_offset)
    finally:
        if collecting:
            gc.enable()


def _parse(text: str, file: str, line_offset: int) -> Document:
    loader = _Loader(text)
    try:
        if len(text) > MAX_NODES // 2:
            _count_nodes(loader, file, line_offset)
            loader.dispose()
            loader = _Loader(text)
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise ConfigError([_syntax_error(text, file, line_offset, exc)]) from None
    except yaml.reader.ReaderError as exc:  # control characters and the like
        raise ConfigError([_reader_error(text, file, line_offset, exc)]) from None
    except yaml.YAMLError as exc:  # pragma: no cover - every loader error above is marked
        raise ConfigError([Diagnostic(file, 0, 0, "", f"invalid YAML: {_one_line(exc)}")]) from None
    finally:
        loader.dispose()
    doc = Document(file=file, data=None)
    if node is None:
        return doc
    walker = _Walker(loader, doc, line_offset)
    doc.data = walker.value(node, ())
    if walker.errors:
        raise ConfigError(walker.errors)
    return doc


def _count_nodes(loader: yaml.SafeLoader, file: str, line_offset: int) -> None:
    """Refuse a document of more than MAX_NODES nodes from the parser's events, before any node is
    built: each event is dropped once counted, while a composed graph keeps every node with its marks
    (a 31 MB file of one-line agents composed to 2 GB). Text shorter than MAX_NODES // 2 characters is
    not counted: YAML spends at least a character on each node, so it holds fewer."""
    count = 0
    while loader.check_event():
        event = loader.get_event()
        if isinstance(event, _NODE_EVENTS):
            count += 1
            if count > MAX_NODES:
                mark = event.start_mark
                raise ConfigError([Diagnostic(file, mark.line + 1 + line_offset, mark.column + 1, "",
                                              f"document has more than {MAX_NODES} nodes (keys, values "
                                              f"and list items); refusing to load it")])


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _syntax_error(text: str, file: str, line_offset: int, exc: yaml.MarkedYAMLError) -> Diagnostic:
    """One located line for a YAML syntax error. The C parser's messages are terse (no context, no
    alias name); the pure-Python parser, run only on this error path, says what it was parsing."""
    detailed: yaml.MarkedYAMLError = exc
    if "tab" not in (exc.problem or ""):  # libyaml's own tab message is the clearer one
        try:
            yaml.SafeLoader(text).get_single_node()
        except yaml.MarkedYAMLError as py_exc:
            if py_exc.problem_mark is not None:
                detailed = py_exc
        except (yaml.YAMLError, RecursionError):
            pass
    mark = detailed.problem_mark or detailed.context_mark
    line, col = (mark.line + 1 + line_offset, mark.column + 1) if mark else (0, 0)
    message = f"invalid YAML: {detailed.problem or detailed.context or 'cannot parse'}"
    context, cmark = detailed.context, detailed.context_mark
    if detailed.problem and context and detailed.problem.startswith("but "):  # one sentence in two
        message = f"invalid YAML: {context}, {detailed.problem}"
    elif detailed.problem and context:
        if cmark is not None and (cmark.line, cmark.column) != (getattr(mark, "line", -1),
                                                                  getattr(mark, "column", -1)):
            context += f" started at line {cmark.line + 1 + line_offset}, column {cmark.column + 1}"
        message += f" ({context})"
    return Diagnostic(file, line, col, "", message)


def _reader_error(text: str, file: str, line_offset: int, exc: yaml.reader.ReaderError) -> Diagnostic:
    """Control characters and the like: located from the character position (libyaml counts bytes,
    so the character is looked up again the way PyYAML's reader does)."""
    found = yaml.reader.Reader.NON_PRINTABLE.search(text)
    pos = found.start() if found else max(0, min(exc.position, len(text)))
    line = text.count("\n", 0, pos) + 1 + line_offset
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    char = ord(found.group()) if found else exc.character
    what = f"character #x{char:04x}" if isinstance(char, int) else f"character {char!r}"
    return Diagnostic(file, line, col, "", f"invalid YAML: {what} is not allowed "
                                           f"(control characters must be escaped in a double-quoted string)")


class _Walker:
    def __init__(self, loader: yaml.SafeLoader, doc: Document, line_offset: int) -> None:
        self.loader = loader
        self.doc = doc
        self.offset = line_offset
        self.errors: list[Diagnostic] = []
        self.count = 0
        self.active: set[int] = set()  # nodes on the current path: a recursive alias would loop

    def mark_of(self, node: yaml.Node) -> Mark:
        return Mark(node.start_mark.line + 1 + self.offset, node.start_mark.column + 1)

    def error(self, path: KeyPath, message: str, node: yaml.Node | None = None) -> None:
        """A problem with the value at `path`, located by Document.where (at its key, if it has
        one); `node` instead for a problem with a key node itself."""
        m = self.mark_of(node) if node is not None else self.doc.where(path)
        self.errors.append(Diagnostic(self.doc.file, m.line, m.col, dotted(path), message))

    def value(self, node: yaml.Node, path: KeyPath) -> Any:
        self.count += 1
        self.doc.marks[path] = self.mark_of(node)
        if self.count > MAX_NODES:
            if self.count == MAX_NODES + 1:
                self.error(path, f"document expands to more than {MAX_NODES} nodes (alias bomb?)")
            return None
        if len(path) > MAX_DEPTH:
            m = self.doc.where(path)
            self.errors.append(Diagnostic(self.doc.file, m.line, m.col, dotted(path[:3]) + "...",
                                          f"nested more than {MAX_DEPTH} levels deep"))
            return None
        if id(node) in self.active:
            self.error(path, "recursive alias")
            return None
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if node.tag not in _COLLECTION_TAGS:  # `!!python/object/apply:...` on a list or map
            self.error(path, f"cannot load value: could not determine a constructor for the "
                             f"tag '{node.tag}'")
            return None
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.value(item, (*path, i)) for i, item in enumerate(node.value)]
            return self.mapping(node, path)
        finally:
            self.active.discard(id(node))

    def scalar(self, node: yaml.ScalarNode, path: KeyPath) -> Any:
        if node.tag == _TIMESTAMP and not node.style and self._implicit(node):
            # Configuration never wants a date object (nor an error for `2024-13-45`): keep the text,
            # and remember it looked like a date so validation can explain a type mismatch.
            self.doc.raw[path] = (node.value, "date")
            return node.value
        try:
            value = self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            self.error(path, f"cannot load value: {_one_line(getattr(exc, 'problem', None) or exc)}")
            return None
        except Exception:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            self.error(path, f"cannot load value: {node.value!r} is not a valid {tag}")
            return None
        if isinstance(value, bytes):
            self.error(path, "binary data (!!binary) is not supported; write text")
            return None
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            self.error(path, f"'{node.value}' is not a usable number (NaN and infinity are not allowed)")
            return None
        if not node.style and not isinstance(value, str) and value is not None and self._implicit(node):
            # an implicit type (no explicit `!!tag`): the YAML 1.1 trap that validation explains
            self.doc.raw[path] = (node.value, _type_name(value))
        if isinstance(value, (datetime.date, datetime.datetime)):  # an explicit !!timestamp
            return node.value
        return value

    def _implicit(self, node: yaml.ScalarNode) -> bool:
        """True when the node's type comes from how its text looks, not from an explicit `!!tag`."""
        return bool(self.loader.resolve(yaml.ScalarNode, node.value, (True, False)) == node.tag)

    def mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[str, Any]:
        own_keys = {id(k) for k, _ in node.value}
        try:
            self.loader.flatten_mapping(node)  # `<<: *base` merge keys
        except yaml.YAMLError as exc:
            self.error(path, f"invalid merge key: {_one_line(getattr(exc, 'problem', None) or exc)}")
            return {}
        result: dict[str, Any] = {}
        first_seen: dict[str, Mark] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.error(path, "mapping keys must be plain text, not a list or mapping", key_node)
                continue
            key = key_node.value
            key_mark = self.mark_of(key_node)
            if id(key_node) in own_keys:  # keys merged in by `<<` may be overridden silently
                if key in first_seen:
                    self.error((*path, key), f"duplicate key (first defined at line {first_seen[key].line})",
                               key_node)
                    continue
                first_seen[key] = key_mark
            child = (*path, key)
            self.doc.key_marks[child] = key_mark
            result[key] = self.value(value_node, child)
        return result


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return "date"
    return type(value).__name__
