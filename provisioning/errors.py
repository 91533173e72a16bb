"""Errors of the provisioning layer; the CLI turns each into one line on stderr."""

from __future__ import annotations


class ProvisioningError(Exception):
    """Base class: bad operator input or a conflict with stored data (CLI exit 2)."""

    exit_status: int = 2


class NotFound(ProvisioningError):
    """An account, extension, device or DID named by the operator does not exist."""


class AlreadyExists(ProvisioningError):
    """A unique name, number or username is already taken."""


class InvalidInput(ProvisioningError):
    """A value is malformed: bad name, username, extension or phone number."""


class InvalidNumber(InvalidInput):
    """A telephone number that cannot be normalised to E.164."""


class WeakPassword(InvalidInput):
    """A device password that is guessable; the message says why."""


class DatabaseError(ProvisioningError):
    """The database cannot be used right now (CLI exit 1)."""

    exit_status = 1


class DatabaseUnavailable(DatabaseError):
    """Connecting to the database failed."""


class SchemaOutOfDate(DatabaseError):
    """The database is not migrated to the revision this code expects."""
