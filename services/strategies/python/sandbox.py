"""The in-process layers of the strategy sandbox (the worker's own floor).

The platform starts each worker inside bubblewrap where the machine has it
(namespaces, a filesystem of only what Python needs, no network); see
docs/strategies.md. Whatever the launcher did, the worker then locks itself
down before it reads its first request:

1. rlimits: address space, core dumps, file size, open files, processes.
2. Namespaces of its own when it is not in bubblewrap (unprivileged user and
   network namespaces, when the kernel allows them): no network at all.
3. Landlock (where the kernel has it): files readable only under the
   standard library, system libraries, TLS certificates and time zones,
   writable only in the private temporary directory; no TCP bind or connect;
   no signals or abstract sockets outside the worker.
4. A seccomp filter: no fork, exec, clone (so no threads either), no signals
   to other processes, no ptrace, mount, unshare, bpf, io_uring, no sockets
   beyond AF_UNIX/INET/INET6, and no connect, bind, listen or accept at all:
   the worker cannot open a connection by itself.
5. An audit hook (PEP 578) with the same policy in Python's own terms, so a
   strategy gets a clear PermissionError rather than a bare EPERM.
6. Egress: host names on the campaign's allowlist resolve to placeholder
   addresses; connecting to one asks the broker (a tiny process forked
   before the filters, which does nothing but connect to the platform's
   egress socket and hand the connection over) for a tunnel through the
   platform's egress proxy, which checks the name again, resolves it and
   refuses loopback, private, link-local and other special addresses.

Nothing here trusts the strategy: it runs in the same interpreter and could
undo every Python-level check, which is why the kernel's layers (namespaces,
Landlock, seccomp, rlimits) carry the policy, and the broker lives in a
process of its own.
"""

import errno
import os
import socket
import struct
import sys

_state = {
    "tmp": None,
    "egress_socket": None,
    "allowlist": frozenset(),
    "read_roots": (),
    "layers": [],
    "fake_by_host": {},
    "host_by_fake": {},
    "tunnelled": set(),
}

# ------------------------------------------------------------------ rlimits --


def _apply_rlimits(memory_mb, file_mb):
    import resource

    def cap(kind, value):
        soft, hard = resource.getrlimit(kind)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(kind, (value, value))

    applied = []
    if memory_mb > 0:
        cap(resource.RLIMIT_AS, memory_mb * 1024 * 1024)
        applied.append(f"AS={memory_mb}MB")
    cap(resource.RLIMIT_CORE, 0)
    cap(resource.RLIMIT_FSIZE, file_mb * 1024 * 1024)
    cap(resource.RLIMIT_NOFILE, 256)
    applied += ["CORE=0", f"FSIZE={file_mb}MB", "NOFILE=256"]
    try:
        # No child processes (and, since Linux counts them alike, no threads).
        # Not enforced for root, which is why the platform drops to an
        # unprivileged uid and seccomp blocks clone/fork as well.
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
        applied.append("NPROC=0" + (" (not enforced: root)" if os.getuid() == 0 else ""))
    except (ValueError, OSError):
        pass
    return "rlimits " + " ".join(applied)


# --------------------------------------------------------------- namespaces --

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000


def _unshare_network(libc):
    """No network at the OS level when bubblewrap did not already take it away."""
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0:
        return None
    return "own user and network namespace (no network)"


# ------------------------------------------------------------------ seccomp --

_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
_SYSCALLS = {
    # name: (x86_64, aarch64); None where the architecture has no such call
    "fork": (57, None), "vfork": (58, None), "clone": (56, 220), "clone3": (435, 435),
    "execve": (59, 221), "execveat": (322, 281),
    "kill": (62, 129), "tkill": (200, 130), "tgkill": (234, 131),
    "rt_sigqueueinfo": (129, 138), "rt_tgsigqueueinfo": (297, 240),
    "pidfd_open": (434, 434), "pidfd_send_signal": (424, 424), "pidfd_getfd": (438, 438),
    "ptrace": (101, 117), "process_vm_readv": (310, 270), "process_vm_writev": (311, 271),
    "unshare": (272, 97), "setns": (308, 268), "mount": (165, 40), "umount2": (166, 39),
    "pivot_root": (155, 41), "chroot": (161, 51), "open_tree": (428, 428), "move_mount": (429, 429),
    "fsopen": (430, 430), "fsconfig": (431, 431), "fsmount": (432, 432), "fspick": (433, 433),
    "bpf": (321, 280), "userfaultfd": (323, 282), "perf_event_open": (298, 241),
    "keyctl": (250, 219), "add_key": (248, 217), "request_key": (249, 218),
    "io_uring_setup": (425, 425), "io_uring_enter": (426, 426), "io_uring_register": (427, 427),
    "personality": (135, 92), "syslog": (103, 116), "acct": (163, 89), "quotactl": (179, 60),
    "init_module": (175, 105), "finit_module": (313, 273), "delete_module": (176, 106),
    "kexec_load": (246, 104), "reboot": (169, 142), "swapon": (167, 224), "swapoff": (168, 225),
    "name_to_handle_at": (303, 264), "open_by_handle_at": (304, 265),
    "socket": (41, 198),
    # No connection of its own: egress comes as ready connections from the broker.
    "connect": (42, 203), "bind": (49, 200), "listen": (50, 201), "accept": (43, 202), "accept4": (288, 242),
    "sendmsg": (46, 211), "sendmmsg": (307, 269),
    "sendto": (44, 206),
}
_ENOSYS_CALLS = ("clone3",)  # glibc then falls back to clone, which is refused with EPERM
_ALLOWED_SOCKET_FAMILIES = (socket.AF_UNIX, socket.AF_INET, socket.AF_INET6)


def _seccomp_program(arch):
    column = 0 if arch == "x86_64" else 1
    LD_W_ABS, JEQ_K, RET_K = 0x20, 0x15, 0x06
    RET_ALLOW, RET_KILL = 0x7FFF0000, 0x80000000
    ret_errno = lambda e: 0x00050000 | e  # noqa: E731

    special = ("socket", "sendto")
    deny = [n for n in _SYSCALLS if n not in _ENOSYS_CALLS and n not in special and _SYSCALLS[n][column] is not None]
    prog = [
        (LD_W_ABS, 0, 0, 4),  # seccomp_data.arch
        (JEQ_K, 1, 0, _AUDIT_ARCH[arch]),
        (RET_K, 0, 0, RET_KILL),  # another ABI (i386, x32) cannot be filtered by number
        (LD_W_ABS, 0, 0, 0),  # seccomp_data.nr
    ]
    if arch == "x86_64":
        # x32 syscalls carry bit 30; refuse them all.
        prog.append((0x35, 0, 1, 0x40000000))  # JGE
        prog.append((RET_K, 0, 0, RET_KILL))
    checks = [(n, "eperm") for n in deny] + [(n, "enosys") for n in _ENOSYS_CALLS] + [("socket", "socket"), ("sendto", "sendto")]
    # Layout after the checks: [allow] [eperm] [enosys] [sendto block: 5] [socket block...]
    n_checks = len(checks)
    base = len(prog)
    targets = {"allow": base + n_checks, "eperm": base + n_checks + 1, "enosys": base + n_checks + 2,
               "sendto": base + n_checks + 3, "socket": base + n_checks + 8}
    for i, (name, target) in enumerate(checks):
        here = base + i
        prog.append((JEQ_K, targets[target] - here - 1, 0, _SYSCALLS[name][column]))
    prog.append((RET_K, 0, 0, RET_ALLOW))
    prog.append((RET_K, 0, 0, ret_errno(errno.EPERM)))
    prog.append((RET_K, 0, 0, ret_errno(errno.ENOSYS)))
    # sendto(fd, buf, len, flags, dest_addr, addrlen): only on a connected socket (dest_addr NULL).
    # args[4] is at offset 16 + 4 * 8 = 48 (low half) and 52 (high half).
    prog.append((LD_W_ABS, 0, 0, 48))
    prog.append((JEQ_K, 0, 2, 0))  # low half not 0: refuse
    prog.append((LD_W_ABS, 0, 0, 52))
    prog.append((JEQ_K, 1, 0, 0))  # both halves 0: allow
    prog.append((RET_K, 0, 0, ret_errno(errno.EPERM)))
    prog.append((RET_K, 0, 0, RET_ALLOW))
    # socket(domain, ...): args[0] (low 32 bits, little endian) at offset 16
    prog.append((LD_W_ABS, 0, 0, 16))
    for i, family in enumerate(_ALLOWED_SOCKET_FAMILIES):
        remaining = len(_ALLOWED_SOCKET_FAMILIES) - i - 1
        prog.append((JEQ_K, remaining + 1, 0, int(family)))  # to the ALLOW below
    prog.append((RET_K, 0, 0, ret_errno(errno.EAFNOSUPPORT)))
    prog.append((RET_K, 0, 0, RET_ALLOW))
    for code, jt, jf, _ in prog:
        assert 0 <= jt < 256 and 0 <= jf < 256, "seccomp jump out of range"
    return prog


def install_seccomp(libc=None):
    """Loads the filter into this process (and any it could start). Returns a description or None."""
    import ctypes
    import platform

    arch = platform.machine()
    if arch not in _AUDIT_ARCH:
        return None
    libc = libc or ctypes.CDLL(None, use_errno=True)
    prog = _seccomp_program(arch)
    raw = b"".join(struct.pack("HBBI", *ins) for ins in prog)
    buf = ctypes.create_string_buffer(raw)

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(len(prog), ctypes.addressof(buf))
    PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return None
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        return None
    return "seccomp (no fork/exec/clone/threads, no signals to other processes, no connect/bind/listen/accept, no ptrace/mount/unshare/bpf)"


# ----------------------------------------------------------------- landlock --

_LL_FS_FILE = (1 << 0) | (1 << 1) | (1 << 2)  # execute, write_file, read_file
_LL_FS_READ = (1 << 0) | (1 << 2) | (1 << 3)  # execute, read_file, read_dir
_LL_FS_ALL_V1 = (1 << 13) - 1
_LL_REFER, _LL_TRUNCATE, _LL_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_LL_NET_ALL = (1 << 0) | (1 << 1)  # bind_tcp, connect_tcp
_LL_SCOPE_ALL = (1 << 0) | (1 << 1)  # abstract unix sockets, signals


def _landlock(libc, readable, writable, files):
    """Restricts this process's file access (and TCP, signals) at the kernel level; None where unavailable."""
    import ctypes

    abi = libc.syscall(444, None, 0, 1)  # landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)
    if abi < 1:
        return None
    fs = _LL_FS_ALL_V1 | (_LL_REFER if abi >= 2 else 0) | (_LL_TRUNCATE if abi >= 3 else 0) | (_LL_IOCTL_DEV if abi >= 5 else 0)
    net = _LL_NET_ALL if abi >= 4 else 0
    scoped = _LL_SCOPE_ALL if abi >= 6 else 0
    attr = struct.pack("QQQ", fs, net, scoped)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    buf = ctypes.create_string_buffer(attr)
    ruleset = libc.syscall(444, buf, size, 0)
    if ruleset < 0:
        return None
    try:
        file_rights = _LL_FS_FILE | (_LL_TRUNCATE if abi >= 3 else 0)
        rules = [(p, _LL_FS_READ) for p in readable] + [(p, fs) for p in writable] + [(p, (1 << 2) | (1 << 1)) for p in files]
        for path, rights in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                if not os.path.isdir(path):
                    rights &= file_rights
                rule = ctypes.create_string_buffer(struct.pack("=Qi", rights, fd))
                libc.syscall(445, ruleset, 1, rule, 0)  # LANDLOCK_RULE_PATH_BENEATH
            finally:
                os.close(fd)
        if libc.prctl(38, 1, 0, 0, 0) != 0 or libc.syscall(446, ruleset, 0) != 0:
            return None
    finally:
        os.close(ruleset)
    what = "files readable only under the standard library, system libraries, certificates and time zones, writable only in the temporary directory"
    if net:
        what += "; no TCP bind or connect"
    if scoped:
        what += "; no signals or abstract sockets beyond the worker"
    return f"Landlock ABI {abi} ({what})"


# ------------------------------------------------------------------ broker --

_broker = None


def _start_broker(egress_socket):
    """A process forked before the filters: it connects to the egress socket and hands each connection over.

    The worker cannot connect anywhere itself (seccomp), and its strategy cannot
    reach into the broker: a separate process, not dumpable, only its own code.
    """
    global _broker
    import ctypes

    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:  # the broker
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG = SIGKILL: die with the worker
            libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 0: no /proc/<pid>/mem, no ptrace by the same user
            os.closerange(3, theirs.fileno())
            os.closerange(theirs.fileno() + 1, 1024)
            for fd in (0, 1):
                os.dup2(os.open(os.devnull, os.O_RDWR), fd)
            while theirs.recv(1):
                conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    conn.connect(egress_socket)
                    socket.send_fds(theirs, [b"1"], [conn.fileno()])
                except OSError:
                    theirs.sendall(b"0")
                finally:
                    conn.close()
        finally:
            os._exit(0)
    theirs.close()
    _broker = ours


def _egress_connection():
    """A fresh connection to the platform's egress proxy, from the broker."""
    if _broker is None:
        raise ConnectionRefusedError(errno.ECONNREFUSED, "egress is not available in this worker")
    _broker.sendall(b"c")
    data, fds, _flags, _addr = socket.recv_fds(_broker, 1, 1)
    if data != b"1" or not fds:
        for fd in fds:
            os.close(fd)
        raise ConnectionRefusedError(errno.ECONNREFUSED, "the egress proxy is not reachable")
    return socket.socket(socket.AF_UNIX, socket.SOCK_STREAM, fileno=fds[0])


# -------------------------------------------------------------- audit hook --

_PROCESS_EVENTS = frozenset({
    "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty", "subprocess.Popen",
    "pty.spawn", "os.startfile", "os.kill", "os.killpg", "signal.pthread_kill", "os.setuid",
})
_RESOLVER_EVENTS = frozenset({
    "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr", "socket.getnameinfo", "socket.sethostname",
})
_MUTATING_PATH_EVENTS = {
    # event: indexes of path arguments that must lie inside the private temporary directory
    "os.mkdir": (0,), "os.rmdir": (0,), "os.remove": (0,), "os.rename": (0, 1), "os.link": (0, 1),
    "os.symlink": (1,), "os.truncate": (0,), "os.chmod": (0,), "os.chown": (0,), "os.utime": (0,),
    "os.setxattr": (0,), "os.removexattr": (0,), "shutil.rmtree": (0,), "tempfile.mkstemp": (0,), "tempfile.mkdtemp": (0,),
}
_READING_PATH_EVENTS = {"os.listdir": 0, "os.scandir": 0, "glob.glob": 0, "os.listxattr": 0, "os.getxattr": 0}
_BLOCKED_MODULES = frozenset({"ctypes", "_ctypes"})
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _resolve(path):
    if isinstance(path, int):
        return None
    try:
        path = os.fsdecode(os.fspath(path))
    except TypeError:
        return ""
    return os.path.realpath(path)


def _inside(path, roots):
    return any(path == r or path.startswith(r + os.sep) for r in roots)


def _may_read(path):
    return path is None or _inside(path, _state["read_roots"]) or _inside(path, (_state["tmp"],))


def _may_write(path):
    return path is None or _inside(path, (_state["tmp"],))


def _deny(message):
    raise PermissionError(errno.EACCES, message)


_EXACT_EVENTS = frozenset({"open", "import", "sys.addaudithook", "resource.setrlimit", "resource.prlimit", "os.chroot"}
                          | _PROCESS_EVENTS | set(_MUTATING_PATH_EVENTS) | set(_READING_PATH_EVENTS))


def _audit(event, args):
    # Called for every audited event (frame.f_code reads included): the common ones leave at once.
    if event not in _EXACT_EVENTS:
        if event.startswith("socket."):
            _audit_socket(event, args)
        elif event.startswith("ctypes."):
            _deny("ctypes is not available to strategies")
        return
    if event == "open":
        path, mode, flags = args
        real = _resolve(path)
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (isinstance(flags, int) and flags > 0 and flags & _WRITE_FLAGS)
        if writing:
            if not _may_write(real):
                _deny(f"strategies may only write inside their temporary directory ({_state['tmp']}), not {path!r}")
        elif not _may_read(real):
            _deny(f"strategies may not read {path!r}")
        return
    if event == "import":
        if args[0].split(".")[0] in _BLOCKED_MODULES:
            _deny(f"module {args[0]!r} is not available to strategies")
        return
    if event in _PROCESS_EVENTS:
        _deny(f"strategies may not start or signal processes ({event})")
    if event in _MUTATING_PATH_EVENTS:
        for i in _MUTATING_PATH_EVENTS[event]:
            if i < len(args) and not _may_write(_resolve(args[i])):
                _deny(f"strategies may only change files inside their temporary directory, not {args[i]!r}")
        return
    if event in _READING_PATH_EVENTS:
        target = args[_READING_PATH_EVENTS[event]]
        if not _may_read(_resolve(target if target is not None else ".")):
            _deny(f"strategies may not list {target!r}")
        return
    _deny(f"{event} is not available to strategies")


def _audit_socket(event, args):
    if event == "socket.__new__":
        family = args[1]
        if family not in _ALLOWED_SOCKET_FAMILIES and family != -1:
            _deny(f"socket family {family} is not available to strategies")
    elif event == "socket.connect":
        _deny(f"network access to {args[1]!r} is not allowed: strategies reach the network only through host names on the campaign's egress allowlist")
    elif event in ("socket.bind", "socket.sendto", "socket.sendmsg"):
        sock = args[0]
        if sock.family != socket.AF_UNIX or event == "socket.bind":
            _deny(f"{event} is not allowed for strategies")
    elif event in _RESOLVER_EVENTS:
        _deny("name resolution is not available to strategies; use a host name on the campaign's egress allowlist")


# ------------------------------------------------------------------ egress --

_FAKE_NET = (198, 18)  # 198.18.0.0/15 (benchmarking): never a real destination
_SERVICES = {"http": 80, "https": 443, "smtp": 25, "submission": 587, "smtps": 465, "imaps": 993, "ftp": 21}
_real_socket_connect = socket.socket.connect
_real_socket_connect_ex = socket.socket.connect_ex
_real_setsockopt = socket.socket.setsockopt


def set_allowlist(hosts):
    """The current campaign's egress allowlist (host names, normalised by the platform)."""
    _state["allowlist"] = frozenset(hosts or ())


def _normalise_host(host):
    if isinstance(host, (bytes, bytearray)):
        host = bytes(host).decode("ascii", "replace")
    if not isinstance(host, str):
        return None
    host = host.strip().rstrip(".").lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        return None
    return host


def _fake_address(host):
    fake = _state["fake_by_host"].get(host)
    if fake is None:
        n = len(_state["fake_by_host"]) + 1
        fake = f"{_FAKE_NET[0]}.{_FAKE_NET[1] + (n >> 16)}.{(n >> 8) & 255}.{n & 255}"
        _state["fake_by_host"][host] = fake
        _state["host_by_fake"][fake] = host
    return fake


def _port_of(port):
    if port is None:
        return 0
    if isinstance(port, (bytes, bytearray)):
        port = bytes(port).decode("ascii", "replace")
    if isinstance(port, str):
        if port.isdigit():
            return int(port)
        if port in _SERVICES:
            return _SERVICES[port]
        raise socket.gaierror(socket.EAI_SERVICE, f"unknown service {port!r}")
    return int(port)


def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    name = _normalise_host(host)
    if not name or name not in _state["allowlist"]:
        allowed = ", ".join(sorted(_state["allowlist"])) or "empty"
        _deny(f"network access to {host!r} is not allowed: only host names on the campaign's egress allowlist can be reached (allowlist: {allowed})")
    if type not in (0, socket.SOCK_STREAM):
        _deny("only TCP connections are available to strategies")
    if family not in (0, socket.AF_INET, socket.AF_UNSPEC):
        raise socket.gaierror(socket.EAI_FAMILY, "only IPv4 placeholders are handed out; the egress proxy connects over IPv4 or IPv6")
    return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (_fake_address(name), _port_of(port)))]


def gethostbyname(host):
    return getaddrinfo(host, 0)[0][4][0]


def _tunnel(sock, address):
    """Connects `sock` to an allowlisted host through the egress proxy, in place."""
    host = _state["host_by_fake"].get(address[0]) if isinstance(address, tuple) and address else None
    if host is None:
        _deny(f"network access to {address!r} is not allowed: strategies reach the network only through host names on the campaign's egress allowlist")
    port = int(address[1])
    proxy = _egress_connection()
    try:
        timeout = sock.gettimeout()
        proxy.settimeout(30.0 if not timeout else timeout)
        proxy.sendall(f"CONNECT {host} {port}\n".encode("ascii"))
        reply = bytearray()
        while not reply.endswith(b"\n"):  # byte by byte: what follows belongs to the remote side
            chunk = proxy.recv(1)
            if not chunk or len(reply) > 1024:
                raise ConnectionResetError(errno.ECONNRESET, "egress proxy closed the connection")
            reply += chunk
        text = reply.decode("utf-8", "replace").strip()
        if text != "OK":
            message = text[4:] if text.startswith("ERR ") else text
            raise ConnectionRefusedError(errno.ECONNREFUSED, f"egress to {host}:{port} refused: {message}")
        os.dup2(proxy.fileno(), sock.fileno())
        _state["tunnelled"].add(sock.fileno())
        sock.settimeout(timeout)  # re-applies blocking mode to the new descriptor
    finally:
        proxy.close()


def _connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        return _tunnel(self, address)
    return _real_socket_connect(self, address)


def _connect_ex(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        try:
            _tunnel(self, address)
            return 0
        except OSError as exc:
            return exc.errno or errno.ECONNREFUSED
    return _real_socket_connect_ex(self, address)


def _setsockopt(self, level, option, *value):
    try:
        return _real_setsockopt(self, level, option, *value)
    except OSError:
        # A tunnelled socket is a Unix socket underneath: TCP options do not apply.
        if level == socket.IPPROTO_TCP and self.fileno() in _state["tunnelled"]:
            return None
        raise


def _close(self, _real=socket.socket.close):
    _state["tunnelled"].discard(self.fileno())
    return _real(self)


def _refuse_exit(status=0):
    """os._exit ends only the call: the worker serves other contacts."""
    raise SystemExit(status)


def _patch_network():
    socket.getaddrinfo = getaddrinfo
    socket.gethostbyname = gethostbyname
    socket.socket.connect = _connect
    socket.socket.connect_ex = _connect_ex
    socket.socket.setsockopt = _setsockopt
    socket.socket.close = _close

    import asyncio.base_events as base_events

    original = base_events.BaseEventLoop.run_in_executor

    async def loop_getaddrinfo(self, host, port, *, family=0, type=0, proto=0, flags=0):
        return getaddrinfo(host, port, family, type, proto, flags)

    def run_in_executor(self, executor, func, *args):
        # No threads in a worker: the default executor runs the function inline.
        if executor is not None:
            return original(self, executor, func, *args)
        future = self.create_future()
        try:
            future.set_result(func(*args))
        except Exception as exc:
            future.set_exception(exc)
        return future

    base_events.BaseEventLoop.getaddrinfo = loop_getaddrinfo
    base_events.BaseEventLoop.run_in_executor = run_in_executor


# ----------------------------------------------------------------- install --

def _read_roots(extra):
    import sysconfig

    roots = {os.path.dirname(os.__file__)}
    for key in ("stdlib", "platstdlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            roots.add(path)
    for path in ("/etc/ssl", "/usr/lib/ssl", "/usr/share/ca-certificates", "/etc/pki/tls", "/etc/ca-certificates",
                 "/usr/share/zoneinfo", "/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"):
        roots.add(path)
    roots.update(extra)
    return tuple(sorted({os.path.realpath(r) for r in roots}))


def install(*, memory_mb, tmp_dir, egress_socket, code_dir, in_bwrap, file_mb=64):
    """Applies every layer the machine allows; returns what is active, for the platform's log."""
    import ctypes

    layers = []
    if in_bwrap:
        layers.append("bubblewrap (own user, pid, network, ipc, uts and mount namespaces; only the Python runtime, TLS certificates and time zones mounted, read-only)")
    libc = ctypes.CDLL(None, use_errno=True)
    try:
        libc.prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG = SIGKILL: die with the platform
    except Exception:
        pass
    if egress_socket:
        _start_broker(egress_socket)  # before RLIMIT_NPROC and seccomp forbid a process
    layers.append(_apply_rlimits(memory_mb, file_mb))
    if not in_bwrap:
        net = _unshare_network(libc)
        if net:
            layers.append(net)

    _state["tmp"] = os.path.realpath(tmp_dir)
    _state["egress_socket"] = egress_socket or None
    _state["read_roots"] = _read_roots([code_dir])
    system_libraries = [p for p in ("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/local/lib") if os.path.isdir(p)]
    landlock = _landlock(
        libc,
        readable=list(_state["read_roots"]) + system_libraries,
        writable=[_state["tmp"]],
        files=["/etc/ld.so.cache", "/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"],
    )
    if landlock:
        layers.append(landlock)
    seccomp = install_seccomp(libc)
    if seccomp:
        layers.append(seccomp)
    _patch_network()
    import posix

    os._exit = posix._exit = _refuse_exit
    sys.dont_write_bytecode = True
    # ctypes served its purpose; a strategy importing it again triggers the audit hook.
    for name in list(sys.modules):
        if name.split(".")[0] in _BLOCKED_MODULES:
            del sys.modules[name]
    del ctypes, libc
    sys.addaudithook(_audit)
    layers.append("audit hook (processes, signals, ctypes, files outside the standard library and the private temporary directory, sockets)")
    layers.append("egress " + ("through the platform's proxy for allowlisted host names" if egress_socket else "disabled"))
    _state["layers"] = layers
    return layers
