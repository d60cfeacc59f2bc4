"""What a Herald strategy sees: contacts, communications, messages and statuses.

Everything here is also in a strategy's scope without an import; editors can
`from campaign_sdk import *` to get completion. Standard library only.
"""

from datetime import datetime, timedelta, timezone
from enum import Enum

try:
    from enum import StrEnum
except ImportError:  # Python 3.10
    class StrEnum(str, Enum):
        def __str__(self):
            return str.__str__(self)

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


def _enum_value(enum_cls, value, what):
    if isinstance(value, enum_cls):
        return value
    if isinstance(value, str):
        try:
            return enum_cls(value.strip().upper())
        except ValueError:
            pass
    allowed = ", ".join(m.name for m in enum_cls)
    raise ValueError(f"{what} must be one of {allowed}, got {value!r}")


class CommunicationState:
    """The object at `communication.status`: `.status`, `.session_status`, `.result`.

    It compares equal to its status, so `comm.status == CommunicationStatus.COMPLETED`
    reads naturally too.
    """

    __slots__ = ("_status", "session_status", "result")

    def __init__(self, status=CommunicationStatus.PLANNED, session_status=None, result=None):
        self.status = status
        self.session_status = session_status
        self.result = result

    @property
    def status(self):
        return self._status

    @status.setter
    def status(self, value):
        self._status = _enum_value(CommunicationStatus, value, "communication status")

    def __eq__(self, other):
        if isinstance(other, CommunicationState):
            return (self._status, self.session_status, self.result) == (other._status, other.session_status, other.result)
        if isinstance(other, str):
            return self._status == other
        return NotImplemented

    __hash__ = None

    def __str__(self):
        return self._status.value

    def __repr__(self):
        return f"CommunicationState(status={self._status.value!r}, session_status={self.session_status!r}, result={self.result!r})"


class Communication:
    """A planned or past communication of a contact.

    Append a new one to `contact.communications` to plan it (its `id` stays None
    until the platform stores it); set a planned one's status to INTERRUPTED to
    cancel it. Unknown keyword settings are accepted and kept in `settings`.
    """

    __slots__ = (
        "_id", "name", "stage_name", "start_date", "end_date", "_status", "flagged",
        "channel", "agent", "variant", "_started_at", "_finished_at", "_session_id",
        "_session_results", "settings",
    )

    def __init__(self, name=None, stage_name=None, start_date=None, end_date=None, *, status=None,
                 session_status=None, result=None, channel=None, agent=None, variant=None, flagged=False, **settings):
        self._id = None
        self.name = name
        self.stage_name = stage_name
        self.start_date = start_date
        self.end_date = end_date
        state = status if isinstance(status, CommunicationState) else CommunicationState(status or CommunicationStatus.PLANNED)
        if session_status is not None:
            state.session_status = session_status
        if result is not None:
            state.result = result
        self._status = state
        self.flagged = bool(flagged)
        self.channel = channel
        self.agent = agent
        self.variant = variant
        self._started_at = None
        self._finished_at = None
        self._session_id = None
        self._session_results = None
        self.settings = settings

    # Set by the platform; read-only for strategies.
    id = property(lambda self: self._id, doc="Set by the platform when the communication is planned.")
    started_at = property(lambda self: self._started_at)
    finished_at = property(lambda self: self._finished_at)
    session_id = property(lambda self: self._session_id)
    session_results = property(lambda self: self._session_results, doc="What the channel reported when it ended.")

    @property
    def status(self):
        return self._status

    @status.setter
    def status(self, value):
        """`comm.status = CommunicationStatus.INTERRUPTED` is the same as `comm.status.status = ...`."""
        if isinstance(value, CommunicationState):
            self._status = value
        else:
            self._status.status = value

    def __repr__(self):
        return (f"Communication(id={self._id!r}, name={self.name!r}, stage_name={self.stage_name!r}, "
                f"start_date={self.start_date!r}, end_date={self.end_date!r}, status={self._status.status.value!r}, "
                f"flagged={self.flagged!r})")


class Contact:
    """A campaign contact. Assigning an attribute that does not exist is an error, so typos do not vanish."""

    __slots__ = (
        "object_id", "external_id", "name", "email", "phone", "parameters", "current_stage",
        "_outcome", "results", "internal_data", "communications", "_created_at",
    )

    def __init__(self, object_id=None, external_id=None, name=None, email=None, phone=None, parameters=None,
                 current_stage=None, outcome=OutcomeStatus.UNCERTAIN, results=None, internal_data=None,
                 communications=None):
        self.object_id = object_id
        self.external_id = external_id
        self.name = name
        self.email = email
        self.phone = phone
        self.parameters = {} if parameters is None else parameters
        self.current_stage = current_stage
        self.outcome = outcome
        self.results = {} if results is None else results
        self.internal_data = {} if internal_data is None else internal_data
        self.communications = [] if communications is None else communications
        self._created_at = None

    @property
    def outcome(self):
        return self._outcome

    @outcome.setter
    def outcome(self, value):
        self._outcome = _enum_value(OutcomeStatus, value, "outcome")

    created_at = property(lambda self: self._created_at, doc="When the contact was created (read-only).")

    def __repr__(self):
        return (f"Contact(object_id={self.object_id!r}, external_id={self.external_id!r}, name={self.name!r}, "
                f"current_stage={self.current_stage!r}, outcome={self._outcome.value!r}, "
                f"communications={len(self.communications)})")


class Message:
    """One message of a live conversation; `role` is "agent" or "contact"."""

    __slots__ = ("role", "content", "created_at", "session_id", "communication_id")

    def __init__(self, role, content, created_at=None, session_id=None, communication_id=None):
        self.role = role
        self.content = content
        self.created_at = created_at
        self.session_id = session_id
        self.communication_id = communication_id

    def __repr__(self):
        return f"Message(role={self.role!r}, content={self.content!r}, created_at={self.created_at!r})"


class Campaign(dict):
    """The `campaign` keyword argument: `campaign.stages` and `campaign["stages"]` both work."""

    __slots__ = ()

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"campaign has no attribute {name!r}") from None


# ---- for the runner: build SDK objects from the platform's data ----

def _set_platform_fields(comm, id=None, started_at=None, finished_at=None, session_id=None, session_results=None):
    comm._id = id
    comm._started_at = started_at
    comm._finished_at = finished_at
    comm._session_id = session_id
    comm._session_results = session_results


def _set_created_at(contact, created_at):
    contact._created_at = created_at
