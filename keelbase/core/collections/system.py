"""The collections every new data folder starts with, as PocketBase creates them."""

from __future__ import annotations

from keelbase.core.auth.options import AuthOptions, MappedFields, OAuth2, TokenConfig
from keelbase.core.collections.collection import (
    AUTH,
    Collection,
    auth_indexes,
    auth_system_fields,
    id_field,
    timestamp_fields,
)
from keelbase.core.fields import Field, FileField, PasswordField, TextField

SUPERUSERS = "_superusers"
OWNER_RULE = "@request.auth.id != '' && recordRef = @request.auth.id && collectionRef = @request.auth.collectionId"


def _text(name: str, field_id: str, required: bool = True, hidden: bool = False) -> TextField:
    return TextField(id=field_id, name=name, system=True, required=required, hidden=hidden)


def _ref_fields() -> list[Field]:
    return [
        id_field(),
        _text("collectionRef", "text455797646"),
        _text("recordRef", "text127846527"),
    ]


def superusers() -> Collection:
    collection_id = "pbc_3142635823"
    return Collection(
        id=collection_id,
        name=SUPERUSERS,
        type=AUTH,
        system=True,
        fields=[id_field(), *auth_system_fields(), *timestamp_fields(system=True)],
        indexes=auth_indexes(collection_id, SUPERUSERS),
        auth=AuthOptions(authToken=TokenConfig(duration=86400)),
    )


def users() -> Collection:
    collection_id = "_pb_users_auth_"
    rule = "id = @request.auth.id"
    return Collection(
        id=collection_id,
        name="users",
        type=AUTH,
        fields=[
            id_field(),
            *auth_system_fields(),
            TextField(id="text1579384326", name="name", max=255),
            FileField(
                id="file376926767",
                name="avatar",
                maxSelect=1,
                mimeTypes=["image/jpeg", "image/png", "image/svg+xml", "image/gif", "image/webp"],
            ),
            *timestamp_fields(),
        ],
        indexes=auth_indexes(collection_id, "users"),
        listRule=rule,
        viewRule=rule,
        createRule="",
        updateRule=rule,
        deleteRule=rule,
        auth=AuthOptions(oauth2=OAuth2(mappedFields=MappedFields(name="name", avatarURL="avatar"))),
    )


def mfas() -> Collection:
    return Collection(
        id="pbc_2279338944",
        name="_mfas",
        system=True,
        fields=[*_ref_fields(), _text("method", "text1582905952"), *timestamp_fields(system=True)],
        indexes=[
            "CREATE INDEX `idx_mfas_collectionRef_recordRef` ON `_mfas` (collectionRef,recordRef)"
        ],
        listRule=OWNER_RULE,
        viewRule=OWNER_RULE,
    )


def otps() -> Collection:
    return Collection(
        id="pbc_1638494021",
        name="_otps",
        system=True,
        fields=[
            *_ref_fields(),
            PasswordField(
                id="password901924565",
                name="password",
                system=True,
                hidden=True,
                required=True,
                cost=8,
            ),
            _text("sentTo", "text3866985172", required=False, hidden=True),
            *timestamp_fields(system=True),
        ],
        indexes=[
            "CREATE INDEX `idx_otps_collectionRef_recordRef` ON `_otps` (collectionRef, recordRef)"
        ],
        listRule=OWNER_RULE,
        viewRule=OWNER_RULE,
    )


def external_auths() -> Collection:
    return Collection(
        id="pbc_2281828961",
        name="_externalAuths",
        system=True,
        fields=[
            *_ref_fields(),
            _text("provider", "text2462348188"),
            _text("providerId", "text1044722854"),
            *timestamp_fields(system=True),
        ],
        indexes=[
            "CREATE UNIQUE INDEX `idx_externalAuths_record_provider` ON `_externalAuths` (collectionRef, recordRef, provider)",
            "CREATE UNIQUE INDEX `idx_externalAuths_collection_provider` ON `_externalAuths` (collectionRef, provider, providerId)",
        ],
        listRule=OWNER_RULE,
        viewRule=OWNER_RULE,
        deleteRule=OWNER_RULE,
    )


def auth_origins() -> Collection:
    return Collection(
        id="pbc_4275539003",
        name="_authOrigins",
        system=True,
        fields=[
            *_ref_fields(),
            _text("fingerprint", "text4228609354"),
            *timestamp_fields(system=True),
        ],
        indexes=[
            "CREATE UNIQUE INDEX `idx_authOrigins_unique_pairs` ON `_authOrigins` (collectionRef, recordRef, fingerprint)"
        ],
        listRule=OWNER_RULE,
        viewRule=OWNER_RULE,
        deleteRule=OWNER_RULE,
    )


def initial_collections() -> list[Collection]:
    """In PocketBase's creation order, which is also its default listing order."""
    return [mfas(), otps(), external_auths(), auth_origins(), superusers(), users()]
