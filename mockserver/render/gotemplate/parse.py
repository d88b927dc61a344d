"""The parser of Go's `text/template/parse`: actions, pipelines, `if`/`range`/`with` with
`else` (and `else if`/`else with`), `define`/`template`/`block`, variables with Go's scoping,
and Go's parse-error texts (`template: NAME:LINE: ...`)."""

from __future__ import annotations

import ast
from collections.abc import Container

from .lex import KEYWORDS, LexError, T, Token, lex
from .nodes import (
    Action,
    Bool,
    Branch,
    Break,
    Chain,
    Command,
    Continue,
    Dot,
    Field,
    Identifier,
    ListNode,
    Nil,
    Node,
    Number,
    Pipe,
    String,
    TemplateCall,
    Text,
    Variable,
)


class ParseError(Exception):
    """`str()` is Go's text: `template: NAME:LINE: message`."""


def go_unquote(text: str) -> str:
    """`strconv.Unquote` for interpreted strings (Go escapes are a subset of Python's here)."""
    if text.startswith("`"):
        return text[1:-1].replace("\r", "")
    body = text[1:-1]
    if "\\" not in body:
        return body
    return str(ast.literal_eval('"' + body + '"'))


def parse_number(text: str) -> int | float:
    """Go number literals: decimal, `0x`, `0o`, `0b`, underscores, floats and exponents."""
    clean = text.replace("_", "")
    try:
        return int(clean, 0)
    except ValueError:
        pass
    if clean.lower().startswith(("0x", "-0x", "+0x")):
        return float.fromhex(clean)
    return float(clean)


class Parser:
    """One template text → the main tree plus `define`d trees."""

    def __init__(self, name: str, text: str, funcs: Container[str], delims: tuple[str, str]):
        self.name = name
        self.funcs = funcs
        try:
            self.tokens = lex(text, *delims)
        except LexError as exc:
            raise ParseError(f"template: {name}:{exc.line}: {exc}") from None
        self.i = 0
        self.vars: list[str] = ["$"]
        self.defines: dict[str, ListNode] = {}
        self.loop_depth = 0

    # -- token helpers ---------------------------------------------------------------------------

    def fail(self, message: str, token: Token | None = None) -> ParseError:
        token = token or self.tokens[min(self.i, len(self.tokens) - 1)]
        return ParseError(f"template: {self.name}:{token.line}: {message}")

    def peek(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def peek_non_space(self) -> Token:
        while self.tokens[self.i].kind is T.SPACE:
            self.i += 1
        return self.tokens[self.i]

    def next_non_space(self) -> Token:
        token = self.peek_non_space()
        self.i += 1
        return token

    def expect(self, kind: T, context: str) -> Token:
        token = self.next_non_space()
        if token.kind is not kind:
            raise self.unexpected(token, context)
        return token

    def unexpected(self, token: Token, context: str) -> ParseError:
        if token.kind is T.EOF:
            return self.fail("unexpected EOF", token)
        if token.kind is T.KEYWORD:
            return self.fail(f"unexpected <{token.value}> in {context}", token)
        shown = token.value if len(token.value) <= 10 else token.value[:10] + '"...'
        return self.fail(f'unexpected "{shown}" in {context}', token)

    # -- structure -------------------------------------------------------------------------------

    def parse(self) -> tuple[ListNode, dict[str, ListNode]]:
        body, end = self.item_list(top=True)
        if end is not None:
            raise self.fail(f"unexpected {{{{{end}}}}}")
        return body, self.defines

    def item_list(self, top: bool = False) -> tuple[ListNode, str | None]:
        """Nodes until EOF (top level) or `{{end}}`/`{{else}}`; returns which ended it."""
        nodes = ListNode(self.peek().pos)
        while True:
            token = self.next()
            if token.kind is T.EOF:
                if not top:
                    raise self.fail("unexpected EOF", token)
                return nodes, None
            if token.kind is T.TEXT:
                nodes.nodes.append(Text(token.pos, token.value))
                continue
            word = self.peek_non_space()
            if word.kind is T.KEYWORD and word.value in ("end", "else"):
                if top:
                    raise self.fail(f"unexpected {{{{{word.value}}}}}", word)
                self.next_non_space()
                return nodes, word.value
            node = self.action(token)
            if node is not None:
                nodes.nodes.append(node)

    def action(self, left: Token) -> Node | None:
        word = self.peek_non_space()
        if word.kind is T.KEYWORD:
            if word.value in ("if", "range", "with"):
                self.next_non_space()
                return self.branch(word)
            if word.value == "define":
                self.next_non_space()
                self.define(word)
                return None
            if word.value in ("template", "block"):
                self.next_non_space()
                return self.template_call(word)
            if word.value in ("break", "continue"):
                self.next_non_space()
                if not self.loop_depth:
                    raise self.fail(f"{{{{{word.value}}}}} outside {{{{range}}}}", word)
                self.expect(T.RIGHT, word.value)
                return Break(word.pos, word.line) if word.value == "break" else Continue(word.pos)
        pipe = self.pipeline("command", T.RIGHT)
        return Action(left.pos, left.line, pipe)

    def branch(self, word: Token) -> Branch:
        saved = len(self.vars)
        pipe = self.pipeline(word.value, T.RIGHT)
        if word.value == "range":
            self.loop_depth += 1
        body, end = self.item_list()
        if word.value == "range":
            self.loop_depth -= 1
        else_body = None
        if end == "else":
            nxt = self.peek_non_space()
            if word.value in ("if", "with") and nxt.kind is T.KEYWORD and nxt.value == word.value:
                self.next_non_space()
                inner = self.branch(word)
                else_body = ListNode(inner.pos, [inner])
            else:
                self.expect(T.RIGHT, "else")
                else_body, end = self.item_list()
                if end != "end":
                    raise self.fail("expected end; found {{else}}")
                self.expect(T.RIGHT, "end")
        else:
            self.expect(T.RIGHT, "end")
        del self.vars[saved:]
        # Go positions a control node at its pipeline (`parseControl` returns `pipe.Position()`).
        return Branch(pipe.pos, word.value, word.line, pipe, body, else_body)

    def define(self, word: Token) -> None:
        name_token = self.next_non_space()
        if name_token.kind not in (T.STRING, T.RAW):
            raise self.unexpected(name_token, "define clause")
        self.expect(T.RIGHT, "define clause")
        saved_vars, self.vars = self.vars, ["$"]
        body, end = self.item_list()
        if end != "end":
            raise self.fail("unexpected {{else}}", word)
        self.expect(T.RIGHT, "end")
        self.vars = saved_vars
        self.defines[go_unquote(name_token.value)] = body

    def template_call(self, word: Token) -> TemplateCall:
        context = f"{word.value} clause"
        name_token = self.next_non_space()
        if name_token.kind not in (T.STRING, T.RAW):
            raise self.unexpected(name_token, context)
        name = go_unquote(name_token.value)
        pipe = None
        if self.peek_non_space().kind is not T.RIGHT:
            pipe = self.pipeline(context, T.RIGHT)
        else:
            self.next_non_space()
        if word.value == "block":
            saved_vars, self.vars = self.vars, ["$"]
            body, end = self.item_list()
            if end != "end":
                raise self.fail("unexpected {{else}}", word)
            self.expect(T.RIGHT, "end")
            self.vars = saved_vars
            self.defines.setdefault(name, body)
        return TemplateCall(name_token.pos, word.line, name, pipe)

    # -- pipelines -------------------------------------------------------------------------------

    def pipeline(self, context: str, end: T) -> Pipe:
        start = self.peek_non_space()
        pipe = Pipe(start.pos)
        self.declaration(pipe, context)
        while True:
            token = self.peek_non_space()
            if token.kind is end:
                self.next_non_space()
                break
            if token.kind in (T.RIGHT, T.RPAREN, T.EOF):
                raise self.unexpected(token, context if end is T.RIGHT else "operand")
            pipe.cmds.append(self.command(context))
            if self.peek_non_space().kind is T.PIPE:
                self.next_non_space()
        if not pipe.cmds:
            raise self.fail(f"missing value for {context}", start)
        for i, cmd in enumerate(pipe.cmds[1:], start=2):
            first = cmd.args[0]
            if isinstance(first, Bool | Dot | Nil | Number | String):
                raise self.fail(f"non executable command in pipeline stage {i}", start)
        for variable in pipe.decl:
            if not pipe.is_assign:
                self.vars.append(variable.name)
        return pipe

    def declaration(self, pipe: Pipe, context: str) -> None:
        saved = self.i
        token = self.peek_non_space()
        if token.kind is not T.VARIABLE:
            return
        self.next_non_space()
        names = [token]
        after = self.peek_non_space()
        if after.kind is T.COMMA and context == "range":
            self.next_non_space()
            second = self.next_non_space()
            if second.kind is not T.VARIABLE:
                raise self.fail(f"range can only initialize variables, found {second.value}")
            names.append(second)
            after = self.peek_non_space()
        if after.kind in (T.DECLARE, T.ASSIGN):
            self.next_non_space()
            pipe.is_assign = after.kind is T.ASSIGN
            for name in names:
                if pipe.is_assign and name.value not in self.vars:
                    raise self.fail(f'undefined variable "{name.value}"', name)
                pipe.decl.append(Variable(name.pos, name.value))
            return
        self.i = saved

    def command(self, context: str) -> Command:
        cmd = Command(self.peek_non_space().pos)
        while True:
            token = self.peek()
            if token.kind is T.SPACE:
                self.next()
                continue
            if token.kind in (T.RIGHT, T.RPAREN, T.PIPE):
                break
            if token.kind is T.EOF:
                raise self.fail("unexpected EOF", token)
            cmd.args.append(self.operand())
            following = self.peek()
            if following.kind not in (T.SPACE, T.RIGHT, T.RPAREN, T.PIPE):
                raise self.unexpected(following, "operand")
        if not cmd.args:
            raise self.fail("empty command")
        return cmd

    def operand(self) -> Node:
        node = self.term()
        if self.peek().kind is T.FIELD:
            idents: list[str] = []
            while self.peek().kind is T.FIELD:
                idents.extend(self.next().value[1:].split("."))
            if isinstance(node, Field):
                return Field(node.pos, node.idents + idents)
            if isinstance(node, Variable):
                return Variable(node.pos, node.name, node.idents + idents)
            if isinstance(node, Bool | Number | String | Nil | Dot):
                raise self.fail(f"unexpected . after term {node.source()!r}")
            return Chain(node.pos, node, idents)
        return node

    def term(self) -> Node:
        token = self.next()
        kind = token.kind
        if kind is T.IDENT:
            if token.value not in self.funcs:
                raise self.fail(f'function "{token.value}" not defined', token)
            return Identifier(token.pos, token.value)
        if kind is T.DOT:
            return Dot(token.pos)
        if kind is T.KEYWORD and token.value == "nil":
            return Nil(token.pos)
        if kind is T.KEYWORD and token.value in ("true", "false"):
            return Bool(token.pos, token.value == "true")
        if kind is T.VARIABLE:
            if token.value not in self.vars:
                raise self.fail(f'undefined variable "{token.value}"', token)
            return Variable(token.pos, token.value)
        if kind is T.FIELD:
            return Field(token.pos, token.value[1:].split("."))
        if kind is T.NUMBER:
            try:
                return Number(token.pos, token.value, parse_number(token.value))
            except ValueError:
                raise self.fail(f"bad number syntax: {token.value!r}", token) from None
        if kind is T.CHAR:
            value = go_unquote('"' + token.value[1:-1] + '"')
            return Number(token.pos, token.value, ord(value[0]) if value else 0, True)
        if kind in (T.STRING, T.RAW):
            try:
                return String(token.pos, token.value, go_unquote(token.value))
            except (ValueError, SyntaxError):
                raise self.fail(f"bad quoted string {token.value}", token) from None
        if kind is T.LPAREN:
            return self.pipeline("parenthesized pipeline", T.RPAREN)
        if kind is T.KEYWORD and token.value in KEYWORDS:
            raise self.fail(f"unexpected <{token.value}> in command", token)
        raise self.unexpected(token, "operand")


def parse(
    name: str, text: str, funcs: Container[str], delims: tuple[str, str] = ("{{", "}}")
) -> tuple[ListNode, dict[str, ListNode]]:
    """Parse `text` as template `name`; raises ParseError with Go's text."""
    return Parser(name, text, funcs, delims).parse()
