"""The filter language shared by client filters and API rules.

``parse`` turns text into an AST (``ast.py``); ``compile_filter`` turns the
AST into one SQL condition with bound parameters, asking a ``Resolver`` what
each identifier means. This package knows nothing of collections.
"""

from keelbase.core.filter.ast import (
    And,
    Comparison,
    Expr,
    Function,
    Identifier,
    Literal,
    Or,
    Predicate,
)
from keelbase.core.filter.errors import FilterError
from keelbase.core.filter.parser import parse, parse_bound

__all__ = [
    "And",
    "Comparison",
    "Expr",
    "FilterError",
    "Function",
    "Identifier",
    "Literal",
    "Or",
    "Predicate",
    "parse",
    "parse_bound",
]
