"""The errors a collection change answers, in PocketBase's words and shapes."""

from __future__ import annotations

from typing import Any

import orjson

from keelbase.core.collections.json import DefinitionError
from keelbase.errors import ApiError, BadRequestError, field_error
from keelbase.store.base import IndexFailed, StoreError


def load_error(
    message: str = "Failed to load the submitted data due to invalid formatting.",
) -> ApiError:
    return BadRequestError(message)


def definition_error(error: DefinitionError, message: str) -> ApiError:
    if error.errors:
        return BadRequestError(message, error.errors)
    return load_error(
        error.message or "Failed to load the submitted data due to invalid formatting."
    )


def import_error(item: dict[str, Any], collection_id: str, error: Exception) -> ApiError:
    data: Any = getattr(error, "data", None) or getattr(error, "errors", None) or {}
    name = item.get("name", "")
    detail = orjson.dumps(flatten(data), option=orjson.OPT_INDENT_2).decode()
    return BadRequestError(
        "Failed to import collections.",
        {
            "collections": field_error(
                "validation_collections_import_failure",
                f'Data validations failed for collection "{name}" ({collection_id}):\n{detail}.',
            )
        },
    )


def flatten(data: Any) -> Any:
    """PocketBase shows nested errors in import failures as their raw text only.

    Raw text is the message before it is turned into a sentence: lower-case first
    letter, no final dot ("cannot be blank"); rule errors keep their capital.
    """
    if isinstance(data, dict):
        if "code" in data and "message" in data:
            message = str(data["message"]).rstrip(".")
            if data["code"] == "validation_invalid_rule":
                return message
            return message[:1].lower() + message[1:]
        return {k: flatten(v) for k, v in data.items()}
    return data


def ddl_error(message: str, error: StoreError) -> ApiError:
    """A schema change the database refused, told as PocketBase tells it.

    An index that failed is named by its position, as ``indexes.N`` (PocketBase's
    createCollectionIndexes); anything else (e.g. a column a view still reads)
    has no field to blame and is given as PocketBase's "Raw error".
    """
    if isinstance(error, IndexFailed):
        return BadRequestError(
            message,
            {
                "indexes": {
                    str(error.position): field_error(
                        "validation_invalid_index_expression",
                        sentence(f"Failed to create index {error.name} - {error.reason}"),
                    )
                }
            },
        )
    return BadRequestError(sentence(f"{message} Raw error: \n{error}"))


def sentence(text: str) -> str:
    """End with a full stop unless it already ends a sentence (PocketBase's Sentenize)."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?")) else text + "."
