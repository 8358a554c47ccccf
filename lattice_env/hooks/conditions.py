"""The `when:` condition language of hooks: a small grammar parsed by hand, never `eval`.

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | atom
    atom    := "(" expr ")" | "always" | "never" | "files_changed"
             | FIELD ("==" | "!=") STRING
             | "error_count" ("==" | "!=" | ">" | ">=" | "<" | "<=") INT
    FIELD   := "agent" | "provider" | "model"

`parse` returns a tree of tuples that `evaluate` walks against a context mapping. `or` and `and` are
n-ary nodes, so a long chain is wide rather than deep; nesting (parentheses, `not`) is refused deeper
than MAX_DEPTH levels, a located validation error, so neither the parser nor `evaluate` can run out of
stack on a lattice.yaml nobody on this machine wrote.
"""
from __future__ import annotations

import re

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md): the bridge
if TYPE_CHECKING:  # evaluates budget hooks' conditions on every call
    from typing import Any, Mapping

    Node = tuple[Any, ...]

_TOKEN = re.compile(r"""\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<int>\d+)|"""
                    r"""(?P<op>==|!=|>=|<=|>|<|\(|\))|(?P<word>[A-Za-z_][A-Za-z0-9_]*))""")
FLAGS = {"always", "never", "files_changed"}
TEXT_FIELDS = {"agent", "provider", "model"}
NUMBER_FIELDS = {"error_count"}
MAX_DEPTH = 64  # far beyond any condition a person writes; far below Python's recursion limit


class ConditionError(ValueError):
    """A condition that does not parse; the message says where and what was expected."""


def _tokens(text: str) -> tuple[list[tuple[str, str, int]], ConditionError | None]:
    """The tokens up to the first character that cannot start one, and the error for that character
    (raised only when the parser gets there, so the first problem in reading order is reported)."""
    out: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            at = len(text) - len(text[pos:].lstrip())
            char = text[at]
            hint = " (compare with ==)" if char == "=" else ""
            if char in "\"'":
                hint = " (a quote that is never closed)"
            return out, ConditionError(f"unexpected character {char!r} at column {at + 1}{hint}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind), m.start(kind) + 1))
        pos = m.end()
    return out, None


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks, self.lex_error = _tokens(text)
        self.i = 0
        self.depth = 0

    def nest(self, col: int) -> None:
        """One level deeper (a '(' or a `not` at column `col`)."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ConditionError(f"nested deeper than {MAX_DEPTH} levels at column {col}")

    def peek(self) -> tuple[str, str, int] | None:
        if self.i < len(self.toks):
            return self.toks[self.i]
        if self.lex_error is not None:
            raise self.lex_error
        return None

    def take(self) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            raise ConditionError("condition ends too early")
        self.i += 1
        return tok

    def expect(self, kind: str, what: str) -> str:
        tok = self.take()
        if tok[0] != kind:
            raise ConditionError(f"expected {what} at column {tok[2]}, found {tok[1]!r}")
        return tok[1]

    def parse(self) -> Node:
        node = self.or_()
        tok = self.peek()
        if tok is not None:
            raise ConditionError(f"unexpected {tok[1]!r} at column {tok[2]}")
        return node

    def or_(self) -> Node:
        nodes = [self.and_()]
        while (tok := self.peek()) and tok[:2] == ("word", "or"):
            self.take()
            nodes.append(self.and_())
        return nodes[0] if len(nodes) == 1 else ("or", *nodes)

    def and_(self) -> Node:
        nodes = [self.not_()]
        while (tok := self.peek()) and tok[:2] == ("word", "and"):
            self.take()
            nodes.append(self.not_())
        return nodes[0] if len(nodes) == 1 else ("and", *nodes)

    def not_(self) -> Node:
        tok = self.peek()
        if tok and tok[:2] == ("word", "not"):
            self.take()
            self.nest(tok[2])
            node = ("not", self.not_())
            self.depth -= 1
            return node
        return self.atom()

    def atom(self) -> Node:
        kind, text, col = self.take()
        if (kind, text) == ("op", "("):
            self.nest(col)
            node = self.or_()
            if self.peek() is None:
                raise ConditionError(f"the '(' at column {col} is never closed")
            if self.expect("op", "')'") != ")":
                raise ConditionError(f"expected ')' after column {col}")
            self.depth -= 1
            return node
        if kind != "word":
            raise ConditionError(f"expected a condition at column {col}, found {text!r}")
        if text in FLAGS:
            return ("flag", text)
        if text in TEXT_FIELDS:
            op = self.expect("op", "'==' or '!='")
            if op not in ("==", "!="):
                raise ConditionError(f"{text} can only be compared with == or !=")
            literal = self.expect("str", f"a quoted name after {text} {op}")
            return ("cmp", text, op, _unquote(literal))
        if text in NUMBER_FIELDS:
            op = self.expect("op", "a comparison (==, !=, >, >=, <, <=)")
            if op in ("(", ")"):
                raise ConditionError(f"expected a comparison after {text}")
            return ("cmp", text, op, int(self.expect("int", "a whole number")))
        known = ", ".join(sorted(FLAGS | TEXT_FIELDS | NUMBER_FIELDS))
        raise ConditionError(f"unknown name {text!r} at column {col} (expected one of {known})")


def _unquote(literal: str) -> str:
    return re.sub(r"\\(.)", r"\1", literal[1:-1])


def parse(text: str) -> Node:
    """Parse a condition; raises ConditionError with a one-line explanation."""
    if not text.strip():
        raise ConditionError("empty condition")
    return _Parser(text).parse()


_COMPARE = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
}


def evaluate(node: Node, context: Mapping[str, Any]) -> bool:
    """Evaluate a parsed condition. `context` holds agent, provider, model, error_count, files_changed."""
    kind = node[0]
    if kind == "or":
        return any(evaluate(child, context) for child in node[1:])
    if kind == "and":
        return all(evaluate(child, context) for child in node[1:])
    if kind == "not":
        return not evaluate(node[1], context)
    if kind == "flag":
        return {"always": True, "never": False}.get(node[1], bool(context.get(node[1])))
    _, field, op, literal = node
    default = 0 if field in NUMBER_FIELDS else None
    return bool(_COMPARE[op](context.get(field, default), literal))
