"""A small VKScript interpreter for ``execute``: enough for batches and vk_api's loop templates."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from emulator.vk.errors import VkApiError

#: At most this many API calls per ``execute`` (dev.vk.com/ru/execute).
MAX_API_CALLS = 25
MAX_STEPS = 100_000

Node = tuple[Any, ...]
ApiCaller = Callable[[str, dict[str, Any]], Any]

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+|//[^\n]*)
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<name>[A-Za-z_$][A-Za-z0-9_$]*)
  | (?P<op>@\.|===|!==|==|!=|<=|>=|&&|\|\||\+=|-=|[{}\[\]().,;:?+\-*/%<>=!])
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'", "\\": "\\", "/": "/"}


def _compile_error(detail: str) -> VkApiError:
    return VkApiError(12, f"Unable to compile code: {detail}")


def _runtime_error(detail: str) -> VkApiError:
    return VkApiError(13, f"Runtime error occurred during code invocation: {detail}")


def _unquote(raw: str) -> str:
    body = raw[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt == "u" and i + 5 < len(body):
                out.append(chr(int(body[i + 2 : i + 6], 16)))
                i += 6
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def tokenize(code: str) -> list[tuple[str, Any]]:
    """Split VKScript into (kind, value) tokens."""
    tokens: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(code):
        match = _TOKEN_RE.match(code, pos)
        if match is None:
            raise _compile_error(f"unexpected character {code[pos]!r} at {pos}")
        pos = match.end()
        kind = match.lastgroup
        text = match.group()
        if kind == "ws":
            continue
        if kind == "num":
            tokens.append(("num", float(text) if "." in text else int(text)))
        elif kind == "str":
            tokens.append(("str", _unquote(text)))
        elif kind == "name":
            tokens.append(("name", text))
        else:
            tokens.append(("op", text))
    tokens.append(("eof", None))
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, Any]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self, offset: int = 0) -> tuple[str, Any]:
        return self.tokens[min(self.pos + offset, len(self.tokens) - 1)]

    def next(self) -> tuple[str, Any]:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def accept(self, value: str) -> bool:
        kind, text = self.peek()
        if kind in ("op", "name") and text == value:
            self.pos += 1
            return True
        return False

    def expect(self, value: str) -> None:
        if not self.accept(value):
            raise _compile_error(f"expected {value!r}, got {self.peek()[1]!r}")

    # statements
    def program(self) -> list[Node]:
        body: list[Node] = []
        while self.peek()[0] != "eof":
            body.append(self.statement())
        return body

    def statement(self) -> Node:
        kind, text = self.peek()
        if kind == "op" and text == ";":
            self.next()
            return ("empty",)
        if kind == "op" and text == "{":
            self.next()
            body: list[Node] = []
            while not self.accept("}"):
                if self.peek()[0] == "eof":
                    raise _compile_error("unclosed block")
                body.append(self.statement())
            return ("block", body)
        if kind == "name" and text == "var":
            self.next()
            decls: list[tuple[str, Node | None]] = []
            while True:
                name_kind, name = self.next()
                if name_kind != "name":
                    raise _compile_error("expected a variable name")
                value = self.expression() if self.accept("=") else None
                decls.append((name, value))
                if not self.accept(","):
                    break
            self.accept(";")
            return ("var", decls)
        if kind == "name" and text == "return":
            self.next()
            value = self.expression()
            self.accept(";")
            return ("return", value)
        if kind == "name" and text == "while":
            self.next()
            self.expect("(")
            cond = self.expression()
            self.expect(")")
            return ("while", cond, self.statement())
        if kind == "name" and text == "if":
            self.next()
            self.expect("(")
            cond = self.expression()
            self.expect(")")
            then = self.statement()
            other = self.statement() if self.accept("else") else ("empty",)
            return ("if", cond, then, other)
        target = self.expression()
        for op in ("=", "+=", "-="):
            if self.accept(op):
                if target[0] not in ("name", "member", "index"):
                    raise _compile_error("invalid assignment target")
                value = self.expression()
                self.accept(";")
                return ("assign", target, op, value)
        self.accept(";")
        return ("expr", target)

    # expressions, lowest precedence first
    def expression(self) -> Node:
        condition = self.binary(0)
        if self.accept("?"):  # ``a ? b : c`` binds looser than ``||``, right to left
            then = self.expression()
            self.expect(":")
            return ("cond", condition, then, self.expression())
        return condition

    _LEVELS: tuple[tuple[str, ...], ...] = (
        ("||",),
        ("&&",),
        ("==", "!=", "===", "!=="),
        ("<", ">", "<=", ">="),
        ("+", "-"),
        ("*", "/", "%"),
    )

    def binary(self, level: int) -> Node:
        if level == len(self._LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while True:
            kind, text = self.peek()
            if kind == "op" and text in self._LEVELS[level]:
                self.next()
                left = ("binop", text, left, self.binary(level + 1))
            else:
                return left

    def unary(self) -> Node:
        if self.accept("!"):
            return ("not", self.unary())
        if self.accept("-"):
            return ("neg", self.unary())
        return self.postfix(self.primary())

    def postfix(self, node: Node) -> Node:
        while True:
            if self.accept("."):
                kind, name = self.next()
                if kind != "name":
                    raise _compile_error("expected a field name after '.'")
                node = ("member", node, name)
            elif self.accept("@."):
                kind, name = self.next()
                if kind != "name":
                    raise _compile_error("expected a field name after '@.'")
                node = ("project", node, name)
            elif self.accept("["):
                index = self.expression()
                self.expect("]")
                node = ("index", node, index)
            elif self.accept("("):
                args: list[Node] = []
                if not self.accept(")"):
                    while True:
                        args.append(self.expression())
                        if self.accept(")"):
                            break
                        self.expect(",")
                node = ("call", node, args)
            else:
                return node

    def primary(self) -> Node:
        kind, value = self.next()
        if kind in ("num", "str"):
            return ("lit", value)
        if kind == "name":
            if value == "true":
                return ("lit", True)
            if value == "false":
                return ("lit", False)
            if value in ("null", "undefined"):
                return ("lit", None)
            return ("name", value)
        if kind == "op" and value == "(":
            inner = self.expression()
            self.expect(")")
            return inner
        if kind == "op" and value == "[":
            items: list[Node] = []
            if not self.accept("]"):
                while True:
                    items.append(self.expression())
                    if self.accept("]"):
                        break
                    self.expect(",")
            return ("array", items)
        if kind == "op" and value == "{":
            fields: list[tuple[str, Node]] = []
            if not self.accept("}"):
                while True:
                    key_kind, key = self.next()
                    if key_kind not in ("name", "str", "num"):
                        raise _compile_error("expected an object key")
                    self.expect(":")
                    fields.append((str(key), self.expression()))
                    if self.accept("}"):
                        break
                    self.expect(",")
            return ("object", fields)
        raise _compile_error(f"unexpected token {value!r}")


def parse(code: str) -> list[Node]:
    """Parse VKScript into statement nodes; raise error 12 on bad syntax."""
    return _Parser(tokenize(code)).program()


class _Return(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


def _truthy(value: Any) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value != 0
    if isinstance(value, str):
        return value != ""
    return True


def _number(value: Any) -> float | int:
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return float(value) if "." in value else int(value)
        except ValueError:
            return 0
    raise _runtime_error(f"cannot use {type(value).__name__} as a number")


class Interpreter:
    """Run one ``execute`` code with a budget of API calls and steps."""

    def __init__(self, call_api: ApiCaller, args: Mapping[str, Any] | None = None) -> None:
        self.call_api = call_api
        self.args = dict(args or {})
        self.api_calls = 0
        self.steps = 0

    def run(self, code: str) -> Any:
        """Run the code and return the value of its ``return``."""
        program = parse(code)
        scope: dict[str, Any] = {}
        try:
            for statement in program:
                self.exec(statement, scope)
        except _Return as ret:
            return ret.value
        except RecursionError as err:
            raise _runtime_error("expression too deep") from err
        return None

    def tick(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise _runtime_error("Too many operations")

    def exec(self, node: Node, scope: dict[str, Any]) -> None:
        self.tick()
        kind = node[0]
        if kind == "empty":
            return
        if kind == "block":
            for statement in node[1]:
                self.exec(statement, scope)
        elif kind == "var":
            for name, value in node[1]:
                scope[name] = None if value is None else self.eval(value, scope)
        elif kind == "return":
            raise _Return(self.eval(node[1], scope))
        elif kind == "while":
            while _truthy(self.eval(node[1], scope)):
                self.exec(node[2], scope)
        elif kind == "if":
            self.exec(node[2] if _truthy(self.eval(node[1], scope)) else node[3], scope)
        elif kind == "assign":
            self.assign(node[1], node[2], self.eval(node[3], scope), scope)
        elif kind == "expr":
            self.eval(node[1], scope)

    def assign(self, target: Node, op: str, value: Any, scope: dict[str, Any]) -> None:
        if op != "=":
            current = self.eval(target, scope)
            value = self.binop("+" if op == "+=" else "-", current, value)
        if target[0] == "name":
            scope[target[1]] = value
            return
        container = self.eval(target[1], scope)
        key = target[2] if target[0] == "member" else self.eval(target[2], scope)
        if isinstance(container, dict):
            container[str(key)] = value
        elif isinstance(container, list) and isinstance(key, int) and 0 <= key < len(container):
            container[key] = value
        else:
            raise _runtime_error("cannot assign to this element")

    def eval(self, node: Node, scope: dict[str, Any]) -> Any:
        self.tick()
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "name":
            name = node[1]
            if name == "Args":
                return self.args
            if name not in scope:
                raise _runtime_error(f"variable {name} is not defined")
            return scope[name]
        if kind == "array":
            return [self.eval(item, scope) for item in node[1]]
        if kind == "object":
            return {key: self.eval(value, scope) for key, value in node[1]}
        if kind == "cond":
            chosen = node[2] if _truthy(self.eval(node[1], scope)) else node[3]
            return self.eval(chosen, scope)
        if kind == "not":
            return not _truthy(self.eval(node[1], scope))
        if kind == "neg":
            return -_number(self.eval(node[1], scope))
        if kind == "binop":
            op = node[1]
            if op == "&&":
                left = self.eval(node[2], scope)
                return self.eval(node[3], scope) if _truthy(left) else left
            if op == "||":
                left = self.eval(node[2], scope)
                return left if _truthy(left) else self.eval(node[3], scope)
            return self.binop(op, self.eval(node[2], scope), self.eval(node[3], scope))
        if kind == "member":
            return self.member(self.eval(node[1], scope), node[2])
        if kind == "project":
            base = self.eval(node[1], scope)
            if not isinstance(base, list):
                raise _runtime_error("operator @. requires an array")
            return [item.get(node[2]) if isinstance(item, dict) else None for item in base]
        if kind == "index":
            base = self.eval(node[1], scope)
            index = self.eval(node[2], scope)
            if isinstance(base, list) and isinstance(index, int | float):
                i = int(index)
                return base[i] if 0 <= i < len(base) else None
            if isinstance(base, dict):
                return base.get(str(index))
            return None
        if kind == "call":
            return self.call(node[1], node[2], scope)
        raise _runtime_error(f"unknown node {kind}")

    def member(self, base: Any, name: str) -> Any:
        if name == "length" and isinstance(base, list | str):
            return len(base)
        if isinstance(base, dict):
            return base.get(name)
        return None

    def binop(self, op: str, left: Any, right: Any) -> Any:
        if op == "+":
            if isinstance(left, list) and isinstance(right, list):
                return left + right
            if isinstance(left, dict) and isinstance(right, dict):
                return {**left, **right}
            if isinstance(left, str) or isinstance(right, str):
                return f"{'' if left is None else left}{'' if right is None else right}"
            return _number(left) + _number(right)
        if op in ("==", "==="):
            return bool(left == right)
        if op in ("!=", "!=="):
            return bool(left != right)
        a, b = _number(left), _number(right)
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            if b == 0:
                raise _runtime_error("division by zero")
            result = a / b
            return int(result) if result == int(result) else result
        if op == "%":
            if b == 0:
                raise _runtime_error("division by zero")
            return a % b
        if op == "<":
            return a < b
        if op == ">":
            return a > b
        if op == "<=":
            return a <= b
        if op == ">=":
            return a >= b
        raise _runtime_error(f"unknown operator {op}")

    def call(self, callee: Node, arg_nodes: list[Node], scope: dict[str, Any]) -> Any:
        method = _api_method(callee)
        if method is not None:
            params = self.eval(arg_nodes[0], scope) if arg_nodes else {}
            if params is None:
                params = {}
            if not isinstance(params, dict):
                raise _runtime_error(f"API.{method} expects an object of parameters")
            self.api_calls += 1
            if self.api_calls > MAX_API_CALLS:
                raise _runtime_error("Too many API calls")
            return self.call_api(method, dict(params))
        args = [self.eval(arg, scope) for arg in arg_nodes]
        if callee[0] == "name":
            return self.builtin(callee[1], args)
        if callee[0] == "member":
            return self.list_method(self.eval(callee[1], scope), callee[2], args)
        raise _runtime_error("this expression is not callable")

    def builtin(self, name: str, args: list[Any]) -> Any:
        if name == "parseInt":
            try:
                return int(float(str(args[0]))) if args else None
            except ValueError:
                return None
        if name == "parseDouble":
            try:
                return float(str(args[0])) if args else None
            except ValueError:
                return None
        raise _runtime_error(f"unknown function {name}")

    def list_method(self, base: Any, name: str, args: list[Any]) -> Any:
        if isinstance(base, list):
            if name == "push":
                base.extend(args)
                return len(base)
            if name == "pop":
                return base.pop() if base else None
            if name == "shift":
                return base.pop(0) if base else None
            if name == "unshift":
                base[0:0] = args
                return len(base)
            if name == "slice":
                start = int(_number(args[0])) if args else 0
                end = int(_number(args[1])) if len(args) > 1 else len(base)
                return base[start:end]
            if name == "indexOf":
                return base.index(args[0]) if args and args[0] in base else -1
            if name == "join":
                sep = str(args[0]) if args else ","
                return sep.join("" if x is None else str(x) for x in base)
        if isinstance(base, str):
            if name == "substr":
                start = int(_number(args[0])) if args else 0
                length = int(_number(args[1])) if len(args) > 1 else len(base)
                return base[start : start + length]
            if name == "split":
                return base.split(str(args[0]) if args else ",")
            if name == "indexOf":
                return base.find(str(args[0])) if args else -1
        raise _runtime_error(f"Method {name} requires an array")


def _api_method(node: Node) -> str | None:
    """Return ``"wall.get"`` for a callee ``API.wall.get``, else None."""
    parts: list[str] = []
    while node[0] == "member":
        parts.append(node[2])
        node = node[1]
    if node[0] == "name" and node[1] == "API" and len(parts) == 2:
        return ".".join(reversed(parts))
    return None
