"""Herald strategy worker: runs campaign owners' Python strategies for the platform.

A long-lived process speaking newline-delimited JSON on the stdin/stdout it was
started with. Those two file descriptors are moved to private numbers first
thing, and fd 0/1 point at /dev/null, so nothing a strategy prints can corrupt
the protocol: print() and sys.stderr writes land in the call's logs.

Contacts, calls and results travel as positional arrays (field orders below,
mirrored in src/runtime/wire.ts): half the bytes of objects, and the cheapest
shape for both JSON parsers on the hot path. The SDK objects a strategy sees
use the seeds' snake_case names.

  contact        [objectId, externalId, name, email, phone, parameters, currentStage, outcome,
                  results, internalData, [communication...], createdAt]
  communication  [id, name, stageName, startDate, endDate, status, sessionStatus, result, channel,
                  agent, variant, startedAt, finishedAt, sessionId, sessionResults]
                 (returned without the last four, which are the platform's)
  message        [role, content, createdAt, sessionId, communicationId]
  call           [contact, existing, sessionResults, message, flaggedCommunicationId]
  result         [1, contact | null, logs] or [0, error, traceback, logs]; logs: [[level, message]...]

Requests, one JSON object a line:
  {"op":"run","id","strategy":{"key","code","function"},"hook":"data-load|aggregation|intermediate",
   "kwargs":{"campaign","now"},"egress":[host names],"timeout_ms","max_output_bytes","calls":[call...]}
  {"op":"validate","id","code","function"}
  {"op":"ping","id"}
Answers to a run: {"id","partial":true,"results":[...]} while it works (at least every
min(250 ms, timeout/4), so the parent's watchdog knows it is alive and keeps what is
done if the worker dies), then {"id","results":[...]} with the rest.
Other answers: {"id","ok","errors":[{"line","message"}]}, {"id","ok":true} for ping,
{"id","error"} when a request cannot be handled at all. Once at start:
{"ready":true,"pid","python","sandbox":[layers]}.
"""

import os
import sys


def _claim_protocol_fds():
    proto_in = os.dup(0)
    proto_out = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    return os.fdopen(proto_in, "rb", buffering=1 << 16), os.fdopen(proto_out, "wb", buffering=1 << 16)


_PROTO_IN, _PROTO_OUT = _claim_protocol_fds()

_HERE = os.path.dirname(os.path.abspath(__file__))
# Only the standard library (and campaign_sdk next to this file): -I leaves the
# script's folder off sys.path and site-packages on it; turn both around.
sys.path[:] = [_HERE] + [p for p in sys.path if "site-packages" not in p and "dist-packages" not in p]
_CONFIG = {k: os.environ.get(k, "") for k in ("HERALD_STRATEGY_MEMORY_MB", "HERALD_STRATEGY_TMP", "HERALD_EGRESS_SOCKET", "HERALD_SANDBOX")}
# Strategies see no inherited environment, only what this process sets.
os.environ.clear()
os.environ.update({"TZ": "UTC", "LANG": "C.UTF-8", "HOME": _CONFIG["HERALD_STRATEGY_TMP"] or "/tmp",
                   "TMPDIR": _CONFIG["HERALD_STRATEGY_TMP"] or "/tmp"})

import asyncio  # noqa: E402
import builtins  # noqa: E402
import gc  # noqa: E402
import inspect  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import linecache  # noqa: E402
import logging  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import types  # noqa: E402
from collections import OrderedDict  # noqa: E402
from datetime import datetime, timezone  # noqa: E402

import campaign_sdk  # noqa: E402
import contact_wire as wire  # noqa: E402
import sandbox  # noqa: E402
import validation  # noqa: E402
from campaign_sdk import (  # noqa: E402
    Campaign, Communication, CommunicationState, CommunicationStatus, Contact, Message, OutcomeStatus,
)

time.tzset()

STRATEGY_FILE = "strategy.py"
CACHE_SIZE = 64
MAX_LOG_LINES = 200
MAX_LOG_BYTES = 64 * 1024
DEFAULT_TIMEOUT_MS = 5000
DEFAULT_MAX_OUTPUT = 1024 * 1024
HOOKS = ("data-load", "aggregation", "intermediate")
KWARG_NAMES = ("campaign", "now", "logger")
UTC = timezone.utc

_SDK_GLOBALS = {
    "Contact": Contact,
    "Communication": Communication,
    "CommunicationStatus": CommunicationStatus,
    "CommunicationState": CommunicationState,
    "OutcomeStatus": OutcomeStatus,
    "Message": Message,
    "datetime": datetime,
    "timedelta": campaign_sdk.timedelta,
    "timezone": timezone,
}


# ------------------------------------------------------------------ logs ----

class _CallLog:
    __slots__ = ("lines", "size", "truncated")

    def __init__(self):
        self.lines = []
        self.size = 0
        self.truncated = False

    def add(self, level, message):
        if self.truncated:
            return
        if not isinstance(message, str):
            message = str(message)
        size = len(message.encode("utf-8", "replace"))
        if len(self.lines) >= MAX_LOG_LINES or self.size + size > MAX_LOG_BYTES:
            room = MAX_LOG_BYTES - self.size
            if len(self.lines) < MAX_LOG_LINES and room > 0:
                self.lines.append((level, message.encode("utf-8", "replace")[:room].decode("utf-8", "ignore")))
            self.lines.append(("WARNING", "[log truncated]"))
            self.truncated = True
            # The rest of this call's log calls would be dropped anyway: make them cheap.
            logging.disable(logging.CRITICAL)
            if _active_logger is not None:
                _active_logger.disabled = True  # not in the manager's registry: disable() alone misses its cache
            return
        self.size += size
        self.lines.append((level, message))


_current_log = None
_active_logger = None


class _Capture(io.TextIOBase):
    """sys.stdout / sys.stderr while a strategy runs: each line becomes a log entry."""

    def __init__(self, level):
        super().__init__()
        self.level = level
        self.pending = []
        self.pending_size = 0

    def writable(self):
        return True

    @property
    def encoding(self):
        return "utf-8"

    def isatty(self):
        return False

    def close(self):
        pass  # a strategy closing sys.stdout must not break the next call

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        if "\n" not in s:
            self.pending.append(s)
            self.pending_size += len(s)
            if self.pending_size > MAX_LOG_BYTES:
                self.drain()
            return len(s)
        parts = s.split("\n")
        parts[0] = "".join(self.pending) + parts[0]
        self.pending = [parts[-1]] if parts[-1] else []
        self.pending_size = len(parts[-1])
        log = _current_log
        if log is not None:
            for line in parts[:-1]:
                if log.truncated:
                    break
                log.add(self.level, line)
        return len(s)

    def drain(self):
        if self.pending:
            line = "".join(self.pending)
            self.pending = []
            self.pending_size = 0
            if _current_log is not None:
                _current_log.add(self.level, line)


class _LogHandler(logging.Handler):
    def emit(self, record):
        log = _current_log
        if log is None or log.truncated:
            return
        try:
            message = self.format(record)
        except Exception as exc:  # a bad %-format in a strategy's log call
            message = f"{record.msg!r} {record.args!r} (log formatting failed: {exc})"
        log.add(record.levelname, message)


_HANDLER = _LogHandler(logging.DEBUG)
_HANDLER.setFormatter(logging.Formatter("%(message)s"))
logging.getLogger().addHandler(_HANDLER)
logging.getLogger().setLevel(logging.DEBUG)
logging.getLogger("asyncio").setLevel(logging.CRITICAL)  # its chatter is not the strategy's

_STDOUT = _Capture("INFO")
_STDERR = _Capture("WARNING")
_IDLE_STDOUT = open(os.devnull, "w")
_IDLE_STDIN = open(os.devnull, "r")
_REAL_STDERR = sys.stderr
sys.stdin = _IDLE_STDIN
sys.stdout = _IDLE_STDOUT


def _new_logger():
    logger = logging.Logger("strategy", logging.DEBUG)
    logger.propagate = False
    logger.addHandler(_HANDLER)
    return logger


def _logger_untouched(logger):
    return (logger.level == logging.DEBUG and not logger.disabled and not logger.propagate and not logger.filters
            and len(logger.handlers) == 1 and logger.handlers[0] is _HANDLER)


# -------------------------------------------------------------- timeouts ----

class _Timeout(BaseException):
    """Raised into a strategy that ran too long; BaseException so `except Exception` cannot swallow it."""


_Timeout.__name__ = _Timeout.__qualname__ = "TimeoutError"
_Timeout.__module__ = "builtins"

# A periodic tick checks the running call's deadline: one timer per request
# instead of two system calls per call.
_deadline = 0.0
_timeout_ms = DEFAULT_TIMEOUT_MS


def _on_alarm(signum, frame):
    global _deadline
    if _deadline and time.monotonic() >= _deadline:
        _deadline = 0.0  # one shot: never raises into the runner's own clean-up
        raise _Timeout(f"strategy exceeded {_timeout_ms} ms")


signal.signal(signal.SIGALRM, _on_alarm)


def _start_ticks(timeout_ms):
    signal.signal(signal.SIGALRM, _on_alarm)  # a strategy may have replaced it during an earlier request
    tick = max(0.005, min(0.05, timeout_ms / 20000))
    signal.setitimer(signal.ITIMER_REAL, tick, tick)


def _stop_ticks():
    signal.setitimer(signal.ITIMER_REAL, 0)


# ------------------------------------------------------------ strategies ----

class _Strategy:
    __slots__ = ("lines", "namespace", "plans")

    def __init__(self, lines, namespace):
        self.lines = lines
        self.namespace = namespace
        self.plans = {}


_cache = OrderedDict()


def _show_source(lines):
    # Tracebacks read source lines through linecache; all strategies are "strategy.py".
    linecache.cache[STRATEGY_FILE] = (sum(map(len, lines)), None, lines, STRATEGY_FILE)


def _load(key, code, log):
    """The strategy's module namespace, compiled and executed once per (key, code)."""
    cache_key = (key, code)
    strategy = _cache.get(cache_key)
    if strategy is not None:
        _cache.move_to_end(cache_key)
        _show_source(strategy.lines)
        return strategy
    lines = code.splitlines(True)
    _show_source(lines)
    compiled = compile(code, STRATEGY_FILE, "exec", dont_inherit=True)
    module = types.ModuleType("strategy")
    namespace = module.__dict__
    namespace.update(_SDK_GLOBALS)
    namespace["__file__"] = STRATEGY_FILE
    namespace["__builtins__"] = builtins
    _guarded(lambda: exec(compiled, namespace), log)
    strategy = _Strategy(lines, namespace)
    _cache[cache_key] = strategy
    while len(_cache) > CACHE_SIZE:
        _cache.popitem(last=False)
    return strategy


def _enter(log):
    global _current_log
    _current_log = log
    sys.stdout, sys.stderr, sys.stdin = _STDOUT, _STDERR, _IDLE_STDIN


def _leave():
    global _current_log
    sys.stdout, sys.stderr, sys.stdin = _IDLE_STDOUT, _REAL_STDERR, _IDLE_STDIN
    if _STDOUT.pending:
        _STDOUT.drain()
    if _STDERR.pending:
        _STDERR.drain()
    if _current_log is not None and _current_log.truncated:
        logging.disable(logging.NOTSET)
    _current_log = None


def _guarded(fn, log):
    """Runs strategy code outside a batch (module top level) with log capture and the time limit."""
    global _deadline
    _enter(log)
    try:
        _deadline = time.monotonic() + _timeout_ms / 1000
        try:
            result = fn()
            if inspect.isawaitable(result):
                result = _await(result)
            return result
        finally:
            _deadline = 0.0
    finally:
        _leave()


def _call_plan(fn, hook):
    """How many of the hook's positional arguments the function takes, and which keywords it accepts."""
    positional = 2 if hook == "intermediate" else 3
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return positional, ("campaign", "now") if positional == 3 else KWARG_NAMES
    P = inspect.Parameter
    var_kw = any(p.kind is P.VAR_KEYWORD for p in params)
    if any(p.kind is P.VAR_POSITIONAL for p in params):
        take = positional
    else:
        slots = [p for p in params if p.kind in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)]
        take = min(positional, len(slots))
        if take == 3 and slots[2].name in ("campaign", "now"):
            take = 2
    by_name = {p.name for p in params[take:] if p.kind in (P.POSITIONAL_OR_KEYWORD, P.KEYWORD_ONLY)}
    keywords = tuple(
        name for name in KWARG_NAMES
        if not (name == "logger" and take >= 3) and (var_kw or name in by_name)
    )
    return take, keywords


def _error_of(exc):
    try:
        text = str(exc)
    except Exception:
        text = "<unprintable exception>"
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def _traceback_of(exc):
    try:
        te = traceback.TracebackException(type(exc), exc, exc.__traceback__)
        frames = list(getattr(exc, "_herald_stack", None) or te.stack)
        # From the strategy's first frame on, without the runner's own (the timeout handler).
        first = next((i for i, f in enumerate(frames) if f.filename == STRATEGY_FILE), len(frames))
        frames = [f for f in frames[first:] if f.filename != __file__]
        te.stack = traceback.StackSummary.from_list(frames)
        text = "".join(te.format())
        return text.replace(_HERE + os.sep, "")
    except Exception as err:  # never let formatting take the worker down
        return f"{_error_of(exc)}\n(traceback unavailable: {err})"


def _awaited_stack(coro):
    """Where a suspended coroutine chain is waiting, outermost first."""
    frames = []
    seen = 0
    while coro is not None and seen < 100:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None:
            frames.append((frame, frame.f_lineno))
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
        seen += 1
    return traceback.StackSummary.extract(frames) if frames else None


def _failure(exc, log):
    """The result of a call that raised: [0, error, traceback, logs]."""
    if isinstance(exc, wire.Invalid):
        error = f"{exc.kind}: {exc}"
        return [0, error, error, log.lines]
    return [0, _error_of(exc), _traceback_of(exc), log.lines]


def _text(result):
    return json.dumps(result, ensure_ascii=False, separators=(",", ":"))


# -------------------------------------------------------------- async -------

# asyncio's registry of live tasks (private, version-dependent): a cheap "nothing left behind?" check.
_TASK_REGISTRY = getattr(asyncio.tasks, "_scheduled_tasks", None)
if _TASK_REGISTRY is None:
    _TASK_REGISTRY = getattr(asyncio.tasks, "_all_tasks", None)

_loop = None


def _get_loop():
    global _loop
    if _loop is None or _loop.is_closed():
        _loop = asyncio.new_event_loop()
        _loop.set_exception_handler(lambda loop, context: None)
    asyncio.set_event_loop(_loop)
    return _loop


def _drop_loop():
    """After an interruption: nothing left behind may resume inside a later call."""
    global _loop
    loop, _loop = _loop, None
    if loop is None:
        return
    try:
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.close()
    except Exception:
        pass


def _await(awaitable):
    """A sync function returned an awaitable: run it on its own."""
    loop = _get_loop()
    future = asyncio.ensure_future(awaitable, loop=loop)
    try:
        return loop.run_until_complete(future)
    except BaseException as exc:
        if not future.done():
            try:
                exc._herald_stack = traceback.StackSummary.extract((f, f.f_lineno) for f in future.get_stack())
            except Exception:
                pass
        raise
    finally:
        if not future.done() or [t for t in asyncio.all_tasks(loop) if not t.done() and t is not future]:
            _drop_loop()


# ------------------------------------------------------------------- run ----

class _ReadOnlyDict(dict):
    __slots__ = ()

    def _refuse(self, *args, **kwargs):
        raise TypeError("campaign is read-only")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = __ior__ = _refuse


class _ReadOnlyCampaign(Campaign):
    __slots__ = ()
    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = __ior__ = _ReadOnlyDict._refuse


def _frozen(value):
    if isinstance(value, dict):
        return _ReadOnlyDict({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def _campaign_of(raw):
    raw = raw or {}
    return _ReadOnlyCampaign({
        "id": raw.get("id"),
        "name": raw.get("name"),
        "stages": tuple(raw.get("stages") or ()),
        "result_codes": tuple(raw.get("result_codes") or ()),
        "settings": _frozen(dict(raw.get("settings") or {})),
    })


class _Run:
    """One run request: its calls, the results so far and the partial flushes."""

    __slots__ = ("rid", "hook", "fn", "take", "keywords", "calls", "campaign", "now", "logger", "parts",
                 "sent", "flush_every", "last_flush", "max_output", "index", "coro", "log", "kwargs")

    def __init__(self, rid, hook, fn, plan, calls, campaign, now, timeout_ms, max_output):
        self.rid = rid
        self.hook = hook
        self.fn = fn
        self.take, self.keywords = plan
        self.calls = calls
        self.campaign = campaign
        self.now = now
        self.logger = _new_logger()
        self.parts = []
        self.sent = 0
        self.flush_every = max(0.02, min(0.25, timeout_ms / 4000))
        self.last_flush = time.monotonic()
        self.max_output = max_output
        self.index = 0
        self.coro = None
        self.log = None
        self.kwargs = None

    def prepare(self, call, log):
        """The strategy's arguments for one call, or raises with the field that cannot be represented."""
        if type(call) is not list or len(call) < 5:
            raise wire.Invalid("TypeError", "call", "expected [contact, existing, sessionResults, message, flagged]")
        hook = self.hook
        if hook == "data-load":
            contact = wire.contact_in(call[0], "contact")
            existing = call[1]
            second = None if existing is None else wire.contact_in(existing, "existing")
        elif hook == "aggregation":
            contact = wire.contact_in(call[0], "contact", call[4])
            second = wire.dict_in(call[2], "session_results")
        else:
            contact = wire.contact_in(call[0], "contact")
            second = wire.message_in(call[3], "message")
        global _active_logger
        if not _logger_untouched(self.logger):
            self.logger = _new_logger()
            self.kwargs = None
        logger = _active_logger = self.logger
        args = (contact, second, logger)[:self.take]
        if not self.keywords:
            return args, None
        if self.kwargs is None:  # shared between calls: ** hands the callee a copy
            values = {"campaign": self.campaign, "now": self.now, "logger": logger}
            self.kwargs = {name: values[name] for name in self.keywords}
        return args, self.kwargs

    def outcome(self, result, log):
        """The JSON text of one call's result."""
        logs = "[]" if not log.lines else _text(log.lines)
        if result is None:
            if self.hook == "intermediate":
                return "[1,null," + logs + "]"
            return _text([0, "TypeError: strategy returned None, expected Contact", "", log.lines])
        if type(result) is not Contact and not isinstance(result, Contact):
            return _text([0, f"TypeError: strategy returned {type(result).__name__}, expected Contact", "", log.lines])
        try:
            text = wire.encode_contact(wire.contact_out(result))
        except BaseException as exc:
            return _text(_failure(exc, log))
        if len(text) > self.max_output:
            error = f"OutputLimitError: the returned contact is {len(text)} characters of JSON, more than the limit of {self.max_output}"
            return _text([0, error, "", log.lines])
        return "[1," + text + "," + logs + "]"

    def add(self, text):
        self.parts.append(text)
        self.index += 1
        now = time.monotonic()
        if now - self.last_flush >= self.flush_every:
            self.last_flush = now
            self.flush(partial=True)

    def flush(self, partial):
        body = ",".join(self.parts[self.sent:])
        self.sent = len(self.parts)
        head = '{"id":' + json.dumps(self.rid) + (',"partial":true' if partial else "")
        _send_raw(head + ',"results":[' + body + "]}")


def _run_sync(run):
    global _deadline
    fn = run.fn
    calls = run.calls
    n = len(calls)
    while run.index < n:
        log = _CallLog()
        try:
            args, kwargs = run.prepare(calls[run.index], log)
        except Exception as exc:  # the platform sent data the SDK cannot represent
            run.add(_text([0, f"InvalidInput: {exc}", "", []]))
            continue
        _enter(log)
        try:
            _deadline = time.monotonic() + _timeout_ms / 1000
            result = fn(*args, **kwargs) if kwargs is not None else fn(*args)
            if type(result) is not Contact and result is not None and inspect.isawaitable(result):
                result = _await(result)
        except BaseException as exc:  # SystemExit and KeyboardInterrupt included: only this call fails
            _deadline = 0.0
            _leave()
            run.add(_text(_failure(exc, log)))
            continue
        _deadline = 0.0
        _leave()
        run.add(run.outcome(result, log))


async def _async_calls(run):
    global _deadline
    fn = run.fn
    calls = run.calls
    n = len(calls)
    loop = asyncio.get_running_loop()
    me = asyncio.current_task()
    while run.index < n:
        log = run.log = _CallLog()
        try:
            args, kwargs = run.prepare(calls[run.index], log)
        except Exception as exc:
            run.add(_text([0, f"InvalidInput: {exc}", "", []]))
            continue
        _enter(log)
        try:
            _deadline = time.monotonic() + _timeout_ms / 1000
            coro = run.coro = fn(*args, **kwargs) if kwargs is not None else fn(*args)
            result = (await coro) if inspect.isawaitable(coro) else coro
        except BaseException as exc:
            _deadline = 0.0
            exc._herald_stack = _awaited_stack(run.coro) if run.coro is not None and getattr(run.coro, "cr_frame", None) else None
            run.coro = None
            _leave()
            run.add(_text(_failure(exc, log)))
            continue
        _deadline = 0.0
        run.coro = None
        leftovers = () if _TASK_REGISTRY is not None and len(_TASK_REGISTRY) <= 1 else [t for t in asyncio.all_tasks(loop) if t is not me and not t.done()]
        if leftovers:
            # Fire-and-forget work must not run inside the next contact's call.
            log.add("WARNING", f"{len(leftovers)} asyncio task(s) still pending when the strategy returned were cancelled")
            for task in leftovers:
                task.cancel()
        _leave()
        run.add(run.outcome(result, log))


def _run_async(run):
    n = len(run.calls)
    while run.index < n:
        loop = _get_loop()
        try:
            loop.run_until_complete(_async_calls(run))
        except BaseException as exc:  # interrupted outside the strategy's frames, e.g. while the loop waited
            global _deadline
            _deadline = 0.0
            stack = _awaited_stack(run.coro) if run.coro is not None else None
            if stack:
                exc._herald_stack = stack
            run.coro = None
            log = run.log or _CallLog()
            _leave()
            _drop_loop()
            if run.index < n:
                run.add(_text(_failure(exc, log)))


def _handle_run(req):
    global _timeout_ms
    rid = req.get("id")
    calls = req.get("calls")
    if not isinstance(calls, list):
        return {"id": rid, "error": "InvalidRequest: calls must be a list"}
    spec = req.get("strategy") or {}
    hook = req.get("hook")
    if hook not in HOOKS:
        return {"id": rid, "error": f"InvalidRequest: hook must be one of {', '.join(HOOKS)}"}
    _timeout_ms = max(1, int(req.get("timeout_ms") or DEFAULT_TIMEOUT_MS))
    max_output = int(req.get("max_output_bytes") or DEFAULT_MAX_OUTPUT)
    kw = req.get("kwargs") or {}
    function = spec.get("function") or "run"
    sandbox.set_allowlist(req.get("egress") or ())

    def everyone_fails(result):
        text = _text(result)
        return {"id": rid, "raw_results": [text] * len(calls)}

    load_log = _CallLog()
    _start_ticks(_timeout_ms)
    try:
        try:
            now = wire.parse_dt(kw.get("now"), "kwargs.now") or datetime.now(UTC)
            campaign = _campaign_of(kw.get("campaign"))
            strategy = _load(str(spec.get("key")), spec.get("code") or "", load_log)
            fn = strategy.namespace.get(function)
            if fn is None:
                raise NameError(f"strategy does not define {function!r}")
            if not callable(fn):
                raise TypeError(f"{function!r} is a {type(fn).__name__}, not a function")
        except BaseException as exc:
            return everyone_fails(_failure(exc, load_log))
        plan = strategy.plans.get((function, hook))
        if plan is None:
            plan = strategy.plans[(function, hook)] = _call_plan(fn, hook)
        run = _Run(rid, hook, fn, plan, calls, campaign, now, _timeout_ms, max_output)
        _show_source(strategy.lines)
        if inspect.iscoroutinefunction(fn):
            _run_async(run)
        else:
            _run_sync(run)
    finally:
        _stop_ticks()
        sandbox.set_allowlist(())
    if load_log.lines and run.parts and not run.sent:
        first = json.loads(run.parts[0])
        first[-1] = [list(line) for line in load_log.lines] + first[-1]
        run.parts[0] = _text(first)
    run.flush(partial=False)
    return None


# -------------------------------------------------------------- protocol ----

_ID_RE = re.compile(rb'"id"\s*:\s*"((?:[^"\\]|\\.)*)"')


def _send_raw(text):
    _PROTO_OUT.write(text.encode("utf-8", "surrogatepass") + b"\n")
    _PROTO_OUT.flush()


def _send(message):
    try:
        if "raw_results" in message:
            data = '{"id":' + json.dumps(message["id"]) + ',"results":[' + ",".join(message["raw_results"]) + "]}"
        else:
            data = json.dumps(message, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        data = json.dumps({"id": message.get("id"), "error": f"InternalError: response not serialisable: {exc}"})
    _send_raw(data)


def _handle(line):
    try:
        req = json.loads(line)
        if not isinstance(req, dict):
            raise ValueError("a request must be a JSON object")
    except (ValueError, RecursionError) as exc:
        match = _ID_RE.search(line)
        rid = json.loads(b'"' + match.group(1) + b'"') if match else None
        return {"id": rid, "error": f"InvalidRequest: {exc}"}
    rid = req.get("id")
    op = req.get("op")
    if op == "run":
        return _handle_run(req)
    if op == "validate":
        return {"id": rid, **validation.validate(req.get("code"), req.get("function") or "run")}
    if op == "ping":
        return {"id": rid, "ok": True, "pid": os.getpid()}
    return {"id": rid, "error": f"InvalidRequest: unknown op {op!r}"}


def _lock_down():
    tmp = _CONFIG["HERALD_STRATEGY_TMP"] or "/tmp"
    try:
        os.chdir(tmp)
    except OSError:
        pass
    return sandbox.install(
        memory_mb=int(_CONFIG["HERALD_STRATEGY_MEMORY_MB"] or 512),
        tmp_dir=tmp,
        egress_socket=_CONFIG["HERALD_EGRESS_SOCKET"] or None,
        code_dir=_HERE,
        in_bwrap=_CONFIG["HERALD_SANDBOX"] == "bwrap",
    )


def main():
    layers = _lock_down()
    _get_loop()
    # What exists now lives as long as the worker: keep it out of every collection,
    # and collect young objects less often (a batch allocates many short-lived ones).
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)
    _send({"ready": True, "pid": os.getpid(), "python": sys.version.split()[0], "sandbox": layers})
    while True:
        line = _PROTO_IN.readline()
        if not line:
            return
        if not line.strip():
            continue
        try:
            response = _handle(line)
        except BaseException as exc:  # MemoryError on a huge request, a bug here: answer, keep serving
            rid = None
            try:
                match = _ID_RE.search(line)
                rid = json.loads(b'"' + match.group(1) + b'"') if match else None
            except BaseException:
                pass
            response = {"id": rid, "error": f"InternalError: {_error_of(exc)}"}
        del line
        if response is None:
            continue
        try:
            _send(response)
        except BrokenPipeError:
            return


if __name__ == "__main__":
    main()
