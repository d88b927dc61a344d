"""The parse tree of Go's `text/template/parse`, with each node's byte position (errors name
`NAME:LINE:COL` as Go's `ErrorContext` does) and its source form (`<.x>` in error context)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Node:
    pos: int

    def source(self) -> str:
        return ""


@dataclass
class Text(Node):
    text: str = ""


@dataclass
class Field(Node):
    idents: list[str] = field(default_factory=list)

    def source(self) -> str:
        return "".join("." + i for i in self.idents)


@dataclass
class Variable(Node):
    name: str = ""
    idents: list[str] = field(default_factory=list)

    def source(self) -> str:
        return self.name + "".join("." + i for i in self.idents)


@dataclass
class Dot(Node):
    def source(self) -> str:
        return "."


@dataclass
class Nil(Node):
    def source(self) -> str:
        return "nil"


@dataclass
class Bool(Node):
    value: bool = False

    def source(self) -> str:
        return "true" if self.value else "false"


@dataclass
class Number(Node):
    text: str = ""
    value: int | float = 0
    is_char: bool = False

    def source(self) -> str:
        return self.text


@dataclass
class String(Node):
    text: str = ""
    value: str = ""

    def source(self) -> str:
        return self.text


@dataclass
class Identifier(Node):
    name: str = ""

    def source(self) -> str:
        return self.name


@dataclass
class Command(Node):
    args: list[Node] = field(default_factory=list)

    def source(self) -> str:
        return " ".join(f"({a.source()})" if isinstance(a, Pipe) else a.source() for a in self.args)


@dataclass
class Pipe(Node):
    decl: list[Variable] = field(default_factory=list)
    is_assign: bool = False
    cmds: list[Command] = field(default_factory=list)

    def source(self) -> str:
        head = ""
        if self.decl:
            names = ", ".join(v.name for v in self.decl)
            head = f"{names} {'=' if self.is_assign else ':='} "
        return head + " | ".join(c.source() for c in self.cmds)


@dataclass
class Chain(Node):
    node: Node | None = None
    idents: list[str] = field(default_factory=list)

    def source(self) -> str:
        inner = self.node.source() if self.node else ""
        if isinstance(self.node, Pipe):
            inner = f"({inner})"
        return inner + "".join("." + i for i in self.idents)


@dataclass
class Action(Node):
    line: int = 0
    pipe: Pipe | None = None

    def source(self) -> str:
        return "{{" + (self.pipe.source() if self.pipe else "") + "}}"


@dataclass
class ListNode(Node):
    nodes: list[Node] = field(default_factory=list)

    def source(self) -> str:
        return "".join(n.text if isinstance(n, Text) else n.source() for n in self.nodes)


@dataclass
class Branch(Node):
    """`if`, `range` and `with`: the pipeline, the body and the optional else list."""

    kind: str = ""
    line: int = 0
    pipe: Pipe | None = None
    body: ListNode | None = None
    else_body: ListNode | None = None

    def source(self) -> str:
        """Go's `String()`: `{{range PIPE}}BODY{{else}}ELSE{{end}}`."""
        head = f"{{{{{self.kind} {self.pipe.source() if self.pipe else ''}}}}}"
        body = self.body.source() if self.body else ""
        tail = f"{{{{else}}}}{self.else_body.source()}" if self.else_body else ""
        return f"{head}{body}{tail}{{{{end}}}}"


@dataclass
class TemplateCall(Node):
    line: int = 0
    name: str = ""
    pipe: Pipe | None = None

    def source(self) -> str:
        pipe = f" {self.pipe.source()}" if self.pipe else ""
        return f'{{{{template "{self.name}"{pipe}}}}}'


@dataclass
class Break(Node):
    line: int = 0


@dataclass
class Continue(Node):
    line: int = 0
