"""Blob storage: where uploaded files live. A local folder by default, or S3."""

from keelbase.adapters.blobs.base import BlobInfo, BlobNotFound, BlobStore, check_key

__all__ = ["BlobInfo", "BlobNotFound", "BlobStore", "check_key"]
