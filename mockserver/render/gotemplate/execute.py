"""The executor of Go's `text/template`: dot and variables, field chains on maps, function
calls with Go's argument checks, pipelines (the previous value is the last argument),
`if`/`range`/`with`/`else`, `break`/`continue`, `template`, the `missingkey` option, and Go's
error texts (`template: NAME:LINE:COL: executing "NAME" at <NODE>: ...`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .gofmt import NO_VALUE, StrMap, go_type, sprint_value
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

MAX_DEPTH = 100_000
_NO_FINAL: Any = object()


class FuncError(Exception):
    """A template function failed; `str()` is the error it returns (Go's `error`)."""


@dataclass(frozen=True)
class Func:
    """A template function: its Go parameter types (`string`, `int`, `float64`, `bool`,
    `any`, `list`, `map`), an optional variadic type, and whether it takes raw nodes (`and`,
    `or`: evaluated lazily)."""

    call: Callable[..., Any]
    params: tuple[str, ...] = ()
    variadic: str | None = None
    lazy: bool = False


class ExecError(Exception):
    """`str()` is Go's text of an execution error."""


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


def truth(value: Any) -> bool:
    """`template.IsTrue`: zero values are false (invalid and nil too)."""
    if value is NO_VALUE or value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str | bytes | list | tuple | dict):
        return len(value) > 0
    return True


class Executor:
    """Runs one parsed template against data."""

    def __init__(
        self,
        name: str,
        text: str,
        root: ListNode,
        defines: dict[str, ListNode],
        funcs: dict[str, Func],
        missing_key: str = "default",
    ) -> None:
        self.name = name
        self.text = text
        self.root = root
        self.defines = defines
        self.funcs = funcs
        self.missing_key = missing_key
        self.vars: list[tuple[str, Any]] = []
        self.node: Node | None = None
        self.out: list[str] = []
        self.depth = 0

    # -- errors ----------------------------------------------------------------------------------

    def error(self, message: str) -> ExecError:
        if self.node is None:
            return ExecError(f"template: {self.name}: {message}")
        pos = self.node.pos
        before = self.text[:pos]
        line = before.count("\n") + 1
        newline = before.rfind("\n")
        col = pos if newline < 0 else pos - newline - 1
        context = self.node.source()
        return ExecError(
            f'template: {self.name}:{line}:{col}: executing "{self.name}" at <{context}>: {message}'
        )

    # -- walking ---------------------------------------------------------------------------------

    def run(self, data: Any) -> str:
        self.vars = [("$", data)]
        self.walk_list(self.root, data)
        return "".join(self.out)

    def walk_list(self, nodes: ListNode, dot: Any) -> None:
        for node in nodes.nodes:
            self.walk(node, dot)

    def walk(self, node: Node, dot: Any) -> None:
        self.node = node
        if isinstance(node, Text):
            self.out.append(node.text)
        elif isinstance(node, Action):
            assert node.pipe is not None
            value = self.eval_pipe(node.pipe, dot)
            if not node.pipe.decl:
                self.node = node
                self.out.append(self.printable(value))
        elif isinstance(node, Branch):
            self.walk_branch(node, dot)
        elif isinstance(node, TemplateCall):
            self.walk_template(node, dot)
        elif isinstance(node, Break):
            raise _Break()
        elif isinstance(node, Continue):
            raise _Continue()

    def printable(self, value: Any) -> str:
        if value is NO_VALUE:
            return "<no value>"
        return sprint_value(value)

    def walk_branch(self, node: Branch, dot: Any) -> None:
        assert node.pipe is not None and node.body is not None
        mark = len(self.vars)
        try:
            if node.kind == "range":
                self.walk_range(node, dot)
                return
            value = self.eval_pipe(node.pipe, dot)
            if truth(value):
                self.walk_list(node.body, value if node.kind == "with" else dot)
            elif node.else_body is not None:
                self.walk_list(node.else_body, dot)
        finally:
            del self.vars[mark:]

    def walk_range(self, node: Branch, dot: Any) -> None:
        assert node.pipe is not None and node.body is not None
        self.node = node
        value = self.eval_pipe(node.pipe, dot, declare=False)
        items: list[tuple[Any, Any]]
        if value is NO_VALUE or value is None:
            items = []
        elif isinstance(value, dict):
            items = [(k, value[k]) for k in sorted(value)]
        elif isinstance(value, list | tuple):
            items = list(enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            items = [(i, i) for i in range(value)]
        else:
            self.node = node
            raise self.error(f"range can't iterate over {sprint_value(value)}")
        if not items:
            if node.else_body is not None:
                self.walk_list(node.else_body, dot)
            return
        mark = len(self.vars)
        for key, elem in items:
            decl = node.pipe.decl
            if len(decl) == 1:
                self.vars.append((decl[0].name, elem))
            elif len(decl) == 2:
                self.vars.append((decl[0].name, key))
                self.vars.append((decl[1].name, elem))
            try:
                self.walk_list(node.body, elem)
            except _Continue:
                pass
            except _Break:
                break
            finally:
                del self.vars[mark:]

    def walk_template(self, node: TemplateCall, dot: Any) -> None:
        tree = self.defines.get(node.name)
        if tree is None:
            raise self.error(f'template "{node.name}" not defined')
        value = self.eval_pipe(node.pipe, dot) if node.pipe is not None else None
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error("exceeded maximum template depth (100000)")
        saved = self.vars
        self.vars = [("$", value)]
        try:
            self.walk_list(tree, value)
        finally:
            self.vars = saved
            self.depth -= 1

    # -- pipelines -------------------------------------------------------------------------------

    def eval_pipe(self, pipe: Pipe, dot: Any, *, declare: bool = True) -> Any:
        value: Any = _NO_FINAL
        for cmd in pipe.cmds:
            value = self.eval_command(cmd, dot, value)
        if declare:
            for variable in pipe.decl:
                if pipe.is_assign:
                    self.set_var(variable.name, value)
                else:
                    self.vars.append((variable.name, value))
        return value

    def set_var(self, name: str, value: Any) -> None:
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                self.vars[i] = (name, value)
                return
        raise self.error(f"undefined variable: {name}")

    def var(self, name: str) -> Any:
        for key, value in reversed(self.vars):
            if key == name:
                return value
        raise self.error(f"undefined variable: {name}")

    def eval_command(self, cmd: Command, dot: Any, final: Any) -> Any:
        first = cmd.args[0]
        self.node = first
        if isinstance(first, Field):
            return self.eval_fields(dot, first.idents, first, cmd.args, final, dot)
        if isinstance(first, Chain):
            assert first.node is not None
            receiver = self.eval_arg_value(first.node, dot)
            return self.eval_fields(dot, first.idents, first, cmd.args, final, receiver)
        if isinstance(first, Identifier):
            return self.call(first, cmd.args, final, dot)
        if isinstance(first, Variable):
            value = self.var(first.name)
            if first.idents:
                return self.eval_fields(dot, first.idents, first, cmd.args, final, value)
            self.not_a_function(cmd.args, final)
            return value
        self.not_a_function(cmd.args, final)
        if isinstance(first, Pipe):
            return self.eval_pipe(first, dot, declare=False)
        if isinstance(first, Nil):
            raise self.error("nil is not a command")
        return self.constant(first, dot)

    def not_a_function(self, args: list[Node], final: Any) -> None:
        if len(args) > 1 or final is not _NO_FINAL:
            raise self.error(f"can't give argument to non-function {args[0].source()}")

    def constant(self, node: Node, dot: Any) -> Any:
        if isinstance(node, Bool):
            return node.value
        if isinstance(node, Dot):
            return dot
        if isinstance(node, Number):
            return node.value
        if isinstance(node, String):
            return node.value
        if isinstance(node, Nil):
            return None
        raise self.error(f"can't handle {node.source()}")

    def eval_fields(
        self,
        dot: Any,
        idents: list[str],
        node: Node,
        args: list[Node],
        final: Any,
        receiver: Any,
    ) -> Any:
        self.node = node
        for ident in idents[:-1]:
            receiver = self.field(receiver, ident, has_args=False)
        has_args = len(args) > 1 or final is not _NO_FINAL
        return self.field(receiver, idents[-1], has_args=has_args)

    def field(self, receiver: Any, name: str, *, has_args: bool) -> Any:
        if receiver is NO_VALUE or receiver is None:
            if self.missing_key == "error":
                raise self.error(f'nil data; no entry for key "{name}"')
            return NO_VALUE
        if isinstance(receiver, dict):
            if has_args:
                raise self.error(f"{name} is not a method but has arguments")
            if name in receiver:
                return receiver[name]
            if self.missing_key == "error":
                raise self.error(f'map has no entry for key "{name}"')
            if self.missing_key == "zero":
                return "" if isinstance(receiver, StrMap) else None
            return NO_VALUE
        raise self.error(f"can't evaluate field {name} in type {go_type(receiver)}")

    # -- calls -----------------------------------------------------------------------------------

    def call(self, ident: Identifier, args: list[Node], final: Any, dot: Any) -> Any:
        func = self.funcs[ident.name]
        operands = args[1:]
        if func.lazy:
            thunks: list[Callable[[], Any]] = [self.thunk(n, dot) for n in operands]
            if final is not _NO_FINAL:
                thunks.append(lambda: final)
            self.check_arity(ident.name, func, len(thunks))
            self.node = ident
            return func.call(*thunks)
        count = len(operands) + (final is not _NO_FINAL)
        self.check_arity(ident.name, func, count)
        values = []
        for i, node in enumerate(operands):
            values.append(self.eval_arg(node, self.param_type(func, i), dot))
        if final is not _NO_FINAL:
            self.node = ident
            values.append(self.check_type(final, self.param_type(func, len(values))))
        self.node = ident
        try:
            return func.call(*values)
        except FuncError as exc:
            self.node = ident
            raise self.error(f"error calling {ident.name}: {exc}") from None
        except RecursionError:
            raise self.error(f"error calling {ident.name}: recursion too deep") from None

    def thunk(self, node: Node, dot: Any) -> Callable[[], Any]:
        """An operand evaluated only when asked (`and`/`or` short-circuit)."""
        return lambda: self.eval_arg_value(node, dot)

    def param_type(self, func: Func, i: int) -> str:
        if i < len(func.params):
            return func.params[i]
        return func.variadic or "any"

    def check_arity(self, name: str, func: Func, count: int) -> None:
        want = len(func.params)
        if func.variadic is not None:
            if count < want:
                raise self.error(
                    f"wrong number of args for {name}: want at least {want} got {count}"
                )
        elif count != want:
            raise self.error(f"wrong number of args for {name}: want {want} got {count}")

    def eval_arg(self, node: Node, typ: str, dot: Any) -> Any:
        self.node = node
        if isinstance(node, Number) and typ in ("int", "float64", "any"):
            if typ == "float64":
                return float(node.value)
            if typ == "int" and isinstance(node.value, float):
                if not node.value.is_integer() or any(c in node.text for c in ".eE"):
                    raise self.error(f"expected integer; found {node.text}")
                return int(node.value)
            return node.value
        if isinstance(node, Nil):
            if typ in ("any", "list", "map"):
                return None
            raise self.error(f"cannot assign nil to {_go_param(typ)}")
        value = self.eval_arg_value(node, dot)
        self.node = node
        return self.check_type(value, typ)

    def eval_arg_value(self, node: Node, dot: Any) -> Any:
        self.node = node
        if isinstance(node, Field):
            return self.eval_fields(dot, node.idents, node, [node], _NO_FINAL, dot)
        if isinstance(node, Variable):
            value = self.var(node.name)
            if node.idents:
                return self.eval_fields(dot, node.idents, node, [node], _NO_FINAL, value)
            return value
        if isinstance(node, Pipe):
            return self.eval_pipe(node, dot, declare=False)
        if isinstance(node, Identifier):
            return self.call(node, [node], _NO_FINAL, dot)
        if isinstance(node, Chain):
            assert node.node is not None
            receiver = self.eval_arg_value(node.node, dot)
            return self.eval_fields(dot, node.idents, node, [node], _NO_FINAL, receiver)
        return self.constant(node, dot)

    def check_type(self, value: Any, typ: str) -> Any:
        if value is NO_VALUE:
            if typ in ("any", "list", "map"):
                return None
            raise self.error(f"invalid value; expected {_go_param(typ)}")
        if typ == "any":
            return value
        ok = {
            "string": isinstance(value, str),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "float64": isinstance(value, float),
            "bool": isinstance(value, bool),
            "list": value is None or isinstance(value, list | tuple),
            "map": value is None or isinstance(value, dict),
        }.get(typ, True)
        if not ok:
            raise self.error(
                f"wrong type for value; expected {_go_param(typ)}; got {go_type(value)}"
            )
        return value


def _go_param(typ: str) -> str:
    return {"list": "[]interface {}", "map": "map[string]interface {}", "any": "interface {}"}.get(
        typ, typ
    )
