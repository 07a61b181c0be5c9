"""Superuser accounts managed from the command line (``keelbase superuser ...``)."""

from __future__ import annotations

from keelbase.core.collections.collection import Collection
from keelbase.core.collections.system import SUPERUSERS
from keelbase.core.fields import TextField
from keelbase.core.fields.email import is_email
from keelbase.core.ids import new_record_id, new_token_key, random_string
from keelbase.core.records.record import Record
from keelbase.services.auth import refs as auth_refs
from keelbase.services.auth.passwords import hash_password_async
from keelbase.services.records.service import RecordsService


class SuperuserError(ValueError):
    """A CLI request that cannot be done; the message says why."""


class SuperusersService:
    def __init__(self, records: RecordsService) -> None:
        self.records = records

    @property
    def collection(self) -> Collection:
        return self.records.collection(SUPERUSERS)

    async def count(self) -> int:
        return await self.records.count(self.collection)

    async def find(self, email: str) -> Record | None:
        return await self.records.find_first(self.collection, "email", email)

    async def create(self, email: str, password: str) -> Record:
        _check(email, password)
        if await self.find(email) is not None:
            raise SuperuserError(f"a superuser with email {email} already exists")
        collection = self.collection
        data = {f.name: f.empty() for f in collection.fields}
        data.update({"email": email, "verified": True})
        data["id"] = new_record_id()
        record = Record(collection, data)
        await self.records.insert_trusted(record, plain_password=password)
        return record

    async def update(self, email: str, password: str) -> Record:
        _check(email, password)
        record = await self.find(email)
        if record is None:
            raise SuperuserError(f"no superuser with email {email}")
        record.data["password"] = await hash_password_async(password)
        record.data["tokenKey"] = _new_token_key(self.collection)
        async with self.records.transaction() as conn:
            await self.records.save(conn, record, ["password", "tokenKey"])
            self.records.notify_auth_change(conn, record)
        return record

    async def upsert(self, email: str, password: str) -> Record:
        if await self.find(email) is None:
            return await self.create(email, password)
        return await self.update(email, password)

    async def delete(self, email: str) -> None:
        record = await self.find(email)
        if record is None:
            raise SuperuserError(f"no superuser with email {email}")
        if await self.count() <= 1:
            raise SuperuserError("cannot delete the only superuser")
        async with self.records.transaction() as conn:
            await self.records.delete_record(conn, record)

    async def otp(self, email: str) -> tuple[str, str, int]:
        """A one-time password for ``email``, as PocketBase's ``superuser otp``: (id, code,
        seconds valid). Sign in with ``auth-with-otp`` and the two; nothing is mailed."""
        if not is_email(email):
            raise SuperuserError("invalid or missing email address")
        record = await self.find(email)
        if record is None:
            raise SuperuserError(f"superuser with email {email!r} doesn't exist")
        options = record.collection.auth
        if options is None or not options.otp.enabled:
            raise SuperuserError("OTP auth is not enabled for the _superusers collection")
        code = random_string(options.otp.length, "0123456789")
        otp = auth_refs.new_ref_record(self.records, auth_refs.OTPS, record)
        await self.records.insert_trusted(otp, plain_password=code)
        return otp.id, code, options.otp.duration


def _new_token_key(collection: Collection) -> str:
    field = collection.field("tokenKey")
    return field.generate() if isinstance(field, TextField) else new_token_key()


def _check(email: str, password: str) -> None:
    if not is_email(email):
        raise SuperuserError(f"{email!r} is not a valid email address")
    if len(password) < 8:
        raise SuperuserError("the password must be at least 8 characters")
