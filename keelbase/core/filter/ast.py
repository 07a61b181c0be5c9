"""The filter language's syntax tree: immutable, hashable, cacheable."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Literal:
    """A quoted text, a number, or one of true/false/null."""

    value: str | float | int | bool | None


@dataclass(frozen=True, slots=True)
class Identifier:
    """A field path or ``@`` name, modifiers included (``tags:length``)."""

    name: str


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    args: tuple[Operand, ...]


Operand = Literal | Identifier | Function


@dataclass(frozen=True, slots=True)
class Comparison:
    left: Operand
    op: str
    right: Operand

    @property
    def any_of(self) -> bool:
        return self.op.startswith("?")

    @property
    def base_op(self) -> str:
        return self.op[1:] if self.any_of else self.op


@dataclass(frozen=True, slots=True)
class Predicate:
    """A function standing alone as a condition (``search('words')``), no operator."""

    function: Function


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Expr, ...]


Expr = Comparison | Predicate | And | Or
