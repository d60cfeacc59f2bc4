"""Type stubs for Herald strategies (editor completion and type checking).

Put this file (and campaign_sdk.py) next to your strategy, or on your
editor's stub path, and write `from campaign_sdk import *` at the top of the
strategy while you work on it. On the platform every name below is in scope
without an import; the import does no harm there either.

Entry points (the function name is configured per strategy; `def` or `async def`):

    Data Load:             run(contact: Contact, existing_contact: Contact | None, logger: Logger, **kwargs) -> Contact
    Aggregation:           run(contact: Contact, session_results: dict, logger: Logger, **kwargs) -> Contact
    Intermediate analysis: on_agent_answer(contact: Contact, message: Message, **kwargs) -> Contact | None

kwargs: campaign (Campaign), now (aware datetime, UTC), logger (where the signature has no such parameter).
"""

from datetime import datetime as datetime, timedelta as timedelta, timezone as timezone
from enum import StrEnum
from logging import Logger as Logger
from typing import Any, Awaitable, Callable, Protocol

__all__ = [
    "Contact",
    "Communication",
    "CommunicationState",
    "CommunicationStatus",
    "OutcomeStatus",
    "Message",
    "Campaign",
    "datetime",
    "timedelta",
    "timezone",
]

JSON = None | bool | int | float | str | list["JSON"] | dict[str, "JSON"]

class CommunicationStatus(StrEnum):
    """A member equals its name: `status == "COMPLETED"` holds."""

    PLANNED = "PLANNED"
    STARTED = "STARTED"
    COMPLETED = "COMPLETED"
    INTERRUPTED = "INTERRUPTED"
    ERROR = "ERROR"
    MISSED = "MISSED"

class OutcomeStatus(StrEnum):
    SUCCESS = "SUCCESS"
    POSITIVE = "POSITIVE"
    UNCERTAIN = "UNCERTAIN"
    NEGATIVE = "NEGATIVE"
    ERROR = "ERROR"

class CommunicationState:
    """`communication.status`: compares equal to its status (`comm.status == "COMPLETED"`)."""

    session_status: str | None
    result: str | None
    def __init__(self, status: CommunicationStatus | str = ..., session_status: str | None = ..., result: str | None = ...) -> None: ...
    @property
    def status(self) -> CommunicationStatus: ...
    @status.setter
    def status(self, value: CommunicationStatus | str) -> None: ...
    def __eq__(self, other: object) -> bool: ...

class Communication:
    """A planned or past communication. Append one to `contact.communications` to plan it;
    set a planned one's status to INTERRUPTED to cancel it."""

    name: str | None
    stage_name: str | None
    """Must name a stage of the campaign."""
    start_date: datetime | None
    """Window start; naive datetimes are UTC."""
    end_date: datetime | None
    """Window end; None means the campaign's default window length after start_date."""
    flagged: bool
    """True on the communication an Aggregation run is about."""
    channel: str | None
    agent: str | None
    variant: str | None
    """A/B label, filled when it starts."""
    settings: dict[str, Any]
    def __init__(
        self,
        name: str | None = ...,
        stage_name: str | None = ...,
        start_date: datetime | None = ...,
        end_date: datetime | None = ...,
        *,
        status: CommunicationState | CommunicationStatus | str | None = ...,
        session_status: str | None = ...,
        result: str | None = ...,
        channel: str | None = ...,
        agent: str | None = ...,
        variant: str | None = ...,
        flagged: bool = ...,
        **settings: Any,
    ) -> None: ...
    @property
    def id(self) -> str | None:
        """Set by the platform when the communication is planned."""
    @property
    def status(self) -> CommunicationState: ...
    @status.setter
    def status(self, value: CommunicationState | CommunicationStatus | str) -> None: ...
    @property
    def started_at(self) -> datetime | None: ...
    @property
    def finished_at(self) -> datetime | None: ...
    @property
    def session_id(self) -> str | None: ...
    @property
    def session_results(self) -> dict[str, JSON] | None:
        """What the channel reported when the communication ended."""

class Contact:
    """A campaign contact. Assigning an attribute that does not exist is an error."""

    object_id: str | None
    external_id: str | None
    name: str | None
    email: str | None
    phone: str | None
    parameters: dict[str, JSON]
    """Every other imported column; strings unless the file gave JSON types."""
    current_stage: str | None
    """Must name a stage of the campaign (or None)."""
    results: dict[str, JSON]
    """Campaign results by code; ResultFlag (True/False/None) is built in, ResultDatetime is the platform's."""
    internal_data: dict[str, Any]
    """Free JSON-serialisable state for the strategies; datetimes stored here come back as datetimes."""
    communications: list[Communication]
    def __init__(
        self,
        object_id: str | None = ...,
        external_id: str | None = ...,
        name: str | None = ...,
        email: str | None = ...,
        phone: str | None = ...,
        parameters: dict[str, JSON] | None = ...,
        current_stage: str | None = ...,
        outcome: OutcomeStatus | str = ...,
        results: dict[str, JSON] | None = ...,
        internal_data: dict[str, Any] | None = ...,
        communications: list[Communication] | None = ...,
    ) -> None: ...
    @property
    def outcome(self) -> OutcomeStatus: ...
    @outcome.setter
    def outcome(self, value: OutcomeStatus | str) -> None: ...
    @property
    def created_at(self) -> datetime | None:
        """When the contact was created (read-only)."""

class Message:
    """One message of a live conversation."""

    role: str
    """"agent" or "contact"."""
    content: str
    created_at: datetime | None
    session_id: str | None
    communication_id: str | None
    def __init__(self, role: str, content: str, created_at: datetime | None = ..., session_id: str | None = ..., communication_id: str | None = ...) -> None: ...

class Campaign(dict[str, Any]):
    """The `campaign` keyword argument (read-only): `campaign.stages` and `campaign["stages"]` both work."""

    id: str
    name: str
    stages: tuple[str, ...]
    result_codes: tuple[str, ...]
    settings: dict[str, Any]

class DataLoad(Protocol):
    def __call__(self, contact: Contact, existing_contact: Contact | None, logger: Logger, **kwargs: Any) -> Contact | Awaitable[Contact]: ...

class Aggregation(Protocol):
    def __call__(self, contact: Contact, session_results: dict[str, JSON], logger: Logger, **kwargs: Any) -> Contact | Awaitable[Contact]: ...

IntermediateAnalysis = Callable[..., Contact | None | Awaitable[Contact | None]]
