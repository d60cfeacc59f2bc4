"""Contacts on the worker's pipe: positional JSON arrays in, SDK objects for the strategy, arrays out.

Field orders are in runner.py's docstring (mirrored in src/runtime/wire.ts). Every
conversion error names the field, as the strategy's author knows it (snake_case).
"""

import enum
import json
import math
import re
from datetime import date, datetime, time as dtime, timezone

import campaign_sdk
from campaign_sdk import Communication, CommunicationState, CommunicationStatus, Contact, Message, OutcomeStatus

UTC = timezone.utc
MAX_DEPTH = 100

class Invalid(Exception):
    """Input or output data that cannot be converted; the message names the field."""

    def __init__(self, kind, path, message):
        super().__init__(f"{path}: {message}")
        self.kind = kind


def parse_dt(value, path):
    if value is None:
        return None
    if type(value) is not str:
        if isinstance(value, datetime):
            return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        raise Invalid("TypeError", path, f"expected an ISO-8601 string, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        if value.endswith(("Z", "z")):  # Python 3.10 reads no "Z"
            return parse_dt(value[:-1] + "+00:00", path)
        raise Invalid("ValueError", path, f"{value!r} is not an ISO-8601 datetime") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def dt_out(value, path, required=False):
    """A datetime of the contact: ISO-8601 in UTC with its offset; naive means UTC."""
    if type(value) is datetime:
        tz = value.tzinfo
        if tz is UTC:
            return value.isoformat()
        if tz is None or value.utcoffset() is None:
            return value.isoformat() + "+00:00"  # naive is UTC; cheaper than replace(tzinfo=...)
        return value.astimezone(UTC).isoformat()
    if value is None:
        if required:
            raise Invalid("ValueError", path, "is required")
        return None
    if isinstance(value, datetime):
        return dt_out(datetime.fromtimestamp(value.timestamp(), UTC) if value.tzinfo else value.replace(tzinfo=UTC), path)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC).isoformat()
    if isinstance(value, str):
        return dt_out(parse_dt(value, path), path)
    raise Invalid("TypeError", path, f"expected a datetime, got {type(value).__name__}")


def str_out(value, path):
    if value is None or type(value) is str:
        return value
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise Invalid("TypeError", path, f"expected a string or None, got {type(value).__name__}")


# internal_data is the strategies' own state: datetimes stored there come back
# as datetimes (they travel as ISO-8601 in UTC, the format written below).
_DT_TEXT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{6})?\+00:00\Z")


def revive(value):
    kind = type(value)
    if kind is str:
        return datetime.fromisoformat(value) if len(value) in (25, 32) and _DT_TEXT.match(value) else value
    if kind is dict:
        for key, item in value.items():
            if type(item) in (str, dict, list):
                value[key] = revive(item)
        return value
    if kind is list:
        for i, item in enumerate(value):
            if type(item) in (str, dict, list):
                value[i] = revive(item)
    return value


def json_default(value):
    if isinstance(value, datetime):
        return dt_out(value, "")
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, (date, dtime)):
        return value.isoformat()
    raise TypeError(f"object of type {type(value).__name__} is not JSON serialisable")


_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=json_default)
_MARKERS = {}
try:
    # JSONEncoder.encode builds a C encoder per call; one is enough.
    from json.encoder import c_make_encoder as _c_make_encoder, c_encode_basestring as _c_encode_basestring
    _C_ENCODE = _c_make_encoder(_MARKERS, json_default, _c_encode_basestring, None, ":", ",", False, False, False)
except (ImportError, TypeError):
    _C_ENCODE = None


def json_check(value, path, depth=0, seen=None):
    """Finds the first value json cannot write and names its path (the slow path, for errors only)."""
    kind = type(value)
    if value is None or kind is str or kind is bool or kind is int:
        return
    if kind is float:
        if not math.isfinite(value):
            raise Invalid("ValueError", path, f"{value} is not JSON serialisable")
        return
    if isinstance(value, (enum.Enum, datetime, date, dtime, str, int, float)):
        return
    if isinstance(value, (dict, list, tuple)):
        if depth >= MAX_DEPTH:
            raise Invalid("ValueError", path, f"nested more than {MAX_DEPTH} levels deep")
        seen = seen if seen is not None else set()
        if id(value) in seen:
            raise Invalid("ValueError", path, "circular reference")
        seen.add(id(value))
        try:
            if isinstance(value, dict):
                for key, item in value.items():
                    if not isinstance(key, (str, int, float, bool)) and key is not None:
                        raise Invalid("TypeError", f"{path}[{key!r}]", f"keys must be strings, got {type(key).__name__}")
                    key = str(key)
                    json_check(item, f"{path}.{key}" if key.isidentifier() else f"{path}[{key!r}]", depth + 1, seen)
            else:
                for i, item in enumerate(value):
                    json_check(item, f"{path}[{i}]", depth + 1, seen)
        finally:
            seen.discard(id(value))
        return
    raise Invalid("TypeError", path, f"object of type {kind.__name__} is not JSON serialisable")


def dict_out(value, path):
    if type(value) is dict or isinstance(value, dict):
        return value
    raise Invalid("TypeError", path, f"expected a dict, got {type(value).__name__}")


def dict_in(value, path):
    if value is None:
        return {}
    if type(value) is not dict:
        raise Invalid("TypeError", path, f"expected an object, got {type(value).__name__}")
    return value


_OUTCOMES = {m.value: m for m in OutcomeStatus}
_STATUSES = {m.value: m for m in CommunicationStatus}
_new = object.__new__


def status_in(status, session_status, result):
    state = _new(CommunicationState)
    status = status or "PLANNED"
    state._status = _STATUSES.get(status) or campaign_sdk._enum_value(CommunicationStatus, status, "communication status")
    state.session_status = session_status
    state.result = result
    return state


def communication_in(d, path, flagged):
    if type(d) is not list or len(d) < 15:
        raise Invalid("TypeError", path, "expected a communication")
    comm = _new(Communication)
    comm._id = d[0]
    comm.name = d[1]
    comm.stage_name = d[2]
    comm.start_date = parse_dt(d[3], f"{path}.start_date")
    comm.end_date = parse_dt(d[4], f"{path}.end_date")
    comm._status = status_in(d[5], d[6], d[7])
    comm.flagged = flagged is not None and comm._id == flagged
    comm.channel = d[8]
    comm.agent = d[9]
    comm.variant = d[10]
    comm._started_at = parse_dt(d[11], f"{path}.started_at")
    comm._finished_at = parse_dt(d[12], f"{path}.finished_at")
    comm._session_id = d[13]
    comm._session_results = d[14]
    comm.settings = {}
    return comm


def contact_in(d, path, flagged=None):
    if type(d) is not list or len(d) < 12:
        raise Invalid("TypeError", path, "expected a contact")
    c = _new(Contact)
    c.object_id, c.external_id, c.name, c.email, c.phone = d[0], d[1], d[2], d[3], d[4]
    c.parameters = dict_in(d[5], f"{path}.parameters")
    c.current_stage = d[6]
    outcome = d[7] or "UNCERTAIN"
    c._outcome = _OUTCOMES.get(outcome) or campaign_sdk._enum_value(OutcomeStatus, outcome, "outcome")
    c.results = dict_in(d[8], f"{path}.results")
    internal = dict_in(d[9], f"{path}.internal_data")
    c.internal_data = revive(internal) if internal else internal
    comms = d[10]
    if comms:
        if type(comms) is not list:
            raise Invalid("TypeError", f"{path}.communications", "expected a list")
        c.communications = [communication_in(x, f"{path}.communications[{i}]", flagged) for i, x in enumerate(comms)]
    else:
        c.communications = []
    c._created_at = parse_dt(d[11], f"{path}.created_at")
    return c


def message_in(d, path):
    if d is None:
        return None
    if type(d) is not list or len(d) < 5:
        raise Invalid("TypeError", path, "expected a message")
    m = _new(Message)
    m.role = d[0]
    m.content = d[1] if d[1] is not None else ""
    m.created_at = parse_dt(d[2], f"{path}.created_at")
    m.session_id = d[3]
    m.communication_id = d[4]
    return m


def string_field(value, path, field):
    """A string field (or None); the path is only built for the error."""
    if value is None or type(value) is str:
        return value
    return str_out(value, f"{path}.{field}" if path else field)


def communication_out(comm, i):
    if type(comm) is not Communication and not isinstance(comm, Communication):
        raise Invalid("TypeError", f"communications[{i}]", f"expected a Communication, got {type(comm).__name__}")
    path = f"communications[{i}]"
    state = comm._status
    status = state._status
    if type(status) is not CommunicationStatus:
        raise Invalid("ValueError", f"{path}.status", f"{status!r} is not a communication status")
    start = comm.start_date
    end = comm.end_date
    return [
        string_field(comm._id, path, "id"),
        string_field(comm.name, path, "name"),
        string_field(comm.stage_name, path, "stage_name"),
        start.isoformat() if type(start) is datetime and start.tzinfo is UTC else dt_out(start, f"{path}.start_date", required=True),
        None if end is None else end.isoformat() if type(end) is datetime and end.tzinfo is UTC else dt_out(end, f"{path}.end_date"),
        status.value,
        string_field(state.session_status, path, "status.session_status"),
        string_field(state.result, path, "status.result"),
        string_field(comm.channel, path, "channel"),
        string_field(comm.agent, path, "agent"),
        string_field(comm.variant, path, "variant"),
    ]


def contact_out(contact):
    comms = contact.communications
    if type(comms) is not list and not isinstance(comms, (list, tuple)):
        raise Invalid("TypeError", "communications", f"expected a list, got {type(comms).__name__}")
    outcome = contact._outcome
    if type(outcome) is not OutcomeStatus:
        raise Invalid("ValueError", "outcome", f"{outcome!r} is not an outcome")
    return [
        string_field(contact.object_id, "", "object_id"),
        string_field(contact.external_id, "", "external_id"),
        string_field(contact.name, "", "name"),
        string_field(contact.email, "", "email"),
        string_field(contact.phone, "", "phone"),
        dict_out(contact.parameters, "parameters"),
        string_field(contact.current_stage, "", "current_stage"),
        outcome.value,
        dict_out(contact.results, "results"),
        dict_out(contact.internal_data, "internal_data"),
        [communication_out(c, i) for i, c in enumerate(comms)] if comms else [],
    ]


def encode_contact(out):
    try:
        if _C_ENCODE is not None:
            return "".join(_C_ENCODE(out, 0))
        return _ENCODER.encode(out)
    except (TypeError, ValueError, RecursionError, OverflowError) as exc:
        _MARKERS.clear()
        for index, field in ((5, "parameters"), (8, "results"), (9, "internal_data")):
            json_check(out[index], field)
        raise Invalid(type(exc).__name__, "contact", str(exc)) from None
