"""The OpenAPI description of this server, built from its routes and its collections."""

from keelbase.services.openapi.service import OpenApiService

__all__ = ["OpenApiService"]
