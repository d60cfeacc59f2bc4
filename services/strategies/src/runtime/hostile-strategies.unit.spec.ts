import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { StrategyRunner, type ContactSnapshot, type SandboxInfo, type StrategyInput, type StrategyOutcome } from './strategy-runner';

// One hostile strategy per limit of the sandbox, each run in a batch with
// well-behaved contacts and followed by a well-behaved strategy on other
// contacts: only the hostile call may fail, the pool keeps serving.
// Real worker processes in the real sandbox (bubblewrap where installed);
// the "rlimits floor" suite repeats the escapes without bubblewrap.
//
// The "external API" is a local HTTP server (and an HTTPS one, with a test
// certificate for api.partner.test in fixtures/) standing in for a partner's
// public API: the egress proxy's DNS answer for api.partner.test is a public
// address (93.184.216.34) and its connection to that address is pointed at
// the local server. Every connection the proxy opens is recorded, so a
// leak towards anything else would show.

const now = new Date('2026-01-02T09:00:00.000Z');
const campaign = { id: 'hostile', name: 'Hostile', stages: ['First Contact'], resultCodes: [], settings: {} };
const ctx = { campaign, now };
const PARTNER_IP = '93.184.216.34';

function contact(name: string, parameters: ContactSnapshot['parameters'] = {}): ContactSnapshot {
  return {
    objectId: name, externalId: null, name, email: `${name}@example.com`, phone: null, parameters, currentStage: null, outcome: 'UNCERTAIN',
    results: {}, internalData: {}, communications: [], createdAt: '2026-01-01T08:00:00.000Z',
  };
}

const GOOD = `
async def run(contact: Contact, existing_contact: Contact | None, logger, **kwargs) -> Contact:
    contact.current_stage = "First Contact"
    contact.communications.append(Communication(name="Initial Message", stage_name="First Contact", start_date=datetime.now() + timedelta(hours=1)))
    return contact
`;

const ok = (o: StrategyOutcome) => {
  if (!o.ok) assert.fail(`strategy failed: ${o.error}\n${o.traceback}`);
  return o.contact!;
};
const failed = (o: StrategyOutcome) => {
  if (o.ok) assert.fail(`strategy was expected to fail, returned ${JSON.stringify(o.contact)}`);
  return o;
};

/** The hostile code on contact "hostile", the well-behaved one on "good-*"; both in one batch. */
function mixed(hostile: string): string {
  return `${hostile}

async def run(contact, existing_contact, logger, **kwargs):
    if contact.name == "hostile":
        return await attack(contact, logger)
    contact.current_stage = "First Contact"
    return contact
`;
}

function suite(mode: 'auto' | 'rlimits'): void {
  // The limits the worker enforces itself behave alike in both modes: the floor suite repeats the escapes only.
  const limitIt = mode === 'auto' ? it : () => undefined;
  let runner: StrategyRunner;
  let info: SandboxInfo;
  let server: Server;
  let tls: Server;
  const upstream: string[] = [];
  let n = 0;

  type Opts = { timeoutMs?: number; egressAllowlist?: string[]; campaignId?: string };
  const run = (code: string, inputs: StrategyInput[], { campaignId, ...opts }: Opts = {}) =>
    runner.run({ key: `${mode}-${++n}`, code, functionName: 'run' }, 'data-load', inputs, campaignId ? { ...ctx, campaign: { ...campaign, id: campaignId } } : ctx, opts);

  /** Runs the hostile code between two good contacts; returns the hostile outcome after checking the rest. */
  async function attack(code: string, opts: Opts = {}, parameters: ContactSnapshot['parameters'] = {}) {
    const [before, hostile, afterwards] = await run(mixed(code), [{ contact: contact('good-1') }, { contact: contact('hostile', parameters) }, { contact: contact('good-2') }], opts);
    assert.equal(ok(before).currentStage, 'First Contact');
    assert.equal(ok(afterwards).currentStage, 'First Contact');
    // And the pool still serves a well-behaved strategy on other contacts.
    const later = await runner.run({ key: 'good:1', code: GOOD, functionName: 'run' }, 'data-load', [{ contact: contact('good-3') }, { contact: contact('good-4') }], ctx);
    for (const o of later) assert.equal(ok(o).communications.length, 1);
    return hostile;
  }

  before(async () => {
    process.env.HERALD_TEST_SECRET = 'do-not-leak';
    server = createServer((req, res) => {
      if (req.url === '/hello') return res.end(`hello from partner (Host: ${req.headers.host})`);
      const target = { '/redirect': 'http://169.254.169.254/latest/meta-data/', '/redirect-decimal': 'http://2852039166/latest/meta-data/', '/redirect-name': 'http://rebind.partner.test/' }[req.url ?? ''];
      if (target) {
        res.writeHead(302, { location: target });
        return res.end();
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const port = (server.address() as AddressInfo).port;
    tls = createTlsServer({ key: readFileSync(resolve(__dirname, 'fixtures/partner-test.key.pem')), cert: readFileSync(resolve(__dirname, 'fixtures/partner-test.cert.pem')) }, (req, res) => {
      res.end(`secure hello from partner (${req.url})`);
    });
    await new Promise<void>((done) => tls.listen(0, '127.0.0.1', done));
    const tlsPort = (tls.address() as AddressInfo).port;
    const answers: Record<string, string> = { 'api.partner.test': PARTNER_IP, 'rebind.partner.test': '169.254.169.254', 'loop.partner.test': '127.0.0.1', 'mapped.partner.test': '::ffff:169.254.169.254' };
    runner = new StrategyRunner({
      workers: 2,
      timeoutMs: 2000,
      memoryMb: 256,
      sandbox: mode,
      onSandbox: (i) => { info = i; },
      egress: {
        lookup: async (host) => {
          const address = answers[host];
          if (!address) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
          return [{ address, family: address.includes(':') ? 6 : 4 }];
        },
        connect: (address: string, targetPort: number): Socket => {
          upstream.push(`${address}:${targetPort}`);
          // Only the partner's public address reaches the stand-in servers; anything else would be a leak.
          if (address !== PARTNER_IP) return connect(9, '192.0.2.1');
          return connect(targetPort === 443 ? tlsPort : port, '127.0.0.1');
        },
      },
    });
    await runner.sandbox();
  });

  after(async () => {
    await runner.close();
    await new Promise((done) => server.close(done));
    await new Promise((done) => tls.close(done));
    for (const target of upstream) assert.match(target, new RegExp(`^${PARTNER_IP.replace(/\./g, '\\.')}:(80|443)$`), 'the egress proxy connected only to the allowlisted partner');
  });

  it('reports which layers are active', () => {
    if (mode === 'rlimits') assert.equal(info.mode, 'rlimits');
    assert.ok(info.layers.some((l) => l.startsWith('rlimits')), info.layers.join('\n'));
    assert.ok(info.layers.some((l) => l.startsWith('seccomp')), info.layers.join('\n'));
    assert.ok(info.layers.some((l) => l.startsWith('audit hook')), info.layers.join('\n'));
  });

  limitIt('an endless loop is interrupted after the call budget', async () => {
    const hostile = await attack('async def attack(contact, logger):\n    while True:\n        pass\n', { timeoutMs: 300 });
    assert.equal(failed(hostile).error, 'TimeoutError: strategy exceeded 300 ms');
  });

  limitIt('a loop that swallows the interruption is killed by the watchdog; only its own call fails', async () => {
    const code = 'import time\nasync def attack(contact, logger):\n    while True:\n        try:\n            time.sleep(1)\n        except BaseException:\n            pass\n';
    const hostile = await attack(code, { timeoutMs: 300 });
    assert.equal(failed(hostile).error, 'TimeoutError: strategy exceeded 300 ms');
  });

  limitIt('unbounded memory growth ends in a MemoryError', async () => {
    const code = 'async def attack(contact, logger):\n    hoard = []\n    while True:\n        hoard.append(bytearray(8 * 1024 * 1024))\n';
    const hostile = await attack(code, { timeoutMs: 15_000 });
    assert.equal(failed(hostile).error, 'MemoryError');
  });

  it('cannot start processes or threads: fork, subprocess, os.system, posix_spawn, exec, multiprocessing, threading', async () => {
    const code = `
import os, subprocess, threading, multiprocessing

async def attack(contact, logger):
    attempts = {
        "fork": lambda: os.fork(),
        "subprocess": lambda: subprocess.run(["/bin/sh", "-c", "touch /tmp/escaped"]),
        "system": lambda: os.system("touch /tmp/escaped"),
        "posix_spawn": lambda: os.posix_spawn("/bin/sh", ["sh", "-c", "touch /tmp/escaped"], {}),
        "execv": lambda: os.execv("/bin/sh", ["sh", "-c", "touch /tmp/escaped"]),
        "multiprocessing": lambda: multiprocessing.Process(target=print).start(),
        "thread": lambda: threading.Thread(target=print).start(),
    }
    results = {}
    for name, attempt in attempts.items():
        try:
            attempt()
            results[name] = "ran"
        except BaseException as exc:
            results[name] = type(exc).__name__
    results["escaped"] = os.path.exists("/tmp/escaped")
    contact.internal_data["attempts"] = results
    return contact
`;
    const attempts = ok(await attack(code)).internalData.attempts as Record<string, string | boolean>;
    assert.equal(attempts.escaped, false);
    for (const name of ['fork', 'subprocess', 'system', 'posix_spawn', 'execv', 'multiprocessing', 'thread']) {
      assert.ok(['PermissionError', 'RuntimeError', 'OSError'].includes(attempts[name] as string), `${name}: ${attempts[name]}`);
    }
  });

  limitIt('a flood of output is capped per call: print, logger, stderr, one endless line, fd 2, a huge result', async () => {
    const code = `
import os, sys
async def attack(contact, logger):
    for i in range(200000):
        print("spam", i)
        logger.info("more spam %d", i)
    sys.stderr.write("x" * (20 * 1024 * 1024))
    try:
        os.write(2, b"y" * (4 * 1024 * 1024))
    except OSError:
        pass
    return contact
`;
    const hostile = ok(await attack(code));
    assert.ok(hostile);
    const [flood] = await run(mixed(code), [{ contact: contact('hostile') }]);
    assert.ok(flood.logs.length <= 201, `${flood.logs.length} log lines`);
    assert.ok(flood.logs.reduce((s, l) => s + l.message.length, 0) <= 64 * 1024 + 100);
    assert.deepEqual(flood.logs.at(-1), { level: 'WARNING', message: '[log truncated]' });
    const huge = await attack('async def attack(contact, logger):\n    contact.internal_data["blob"] = "z" * (5 * 1024 * 1024)\n    return contact\n');
    assert.match(failed(huge).error, /^OutputLimitError: the returned contact is \d+ characters of JSON, more than the limit of 1048576/);
  });

  it('sees an empty environment, cannot read /etc/passwd, /proc or the platform\'s files, writes only its private temporary directory', async () => {
    const platformFile = resolve(__dirname, '../../../../package.json');
    const code = `
import os, sys
async def attack(contact, logger):
    contact.internal_data["env"] = sorted(os.environ)
    reads = {}
    for path in ["/etc/passwd", "/etc/shadow", "/proc/self/environ", "/proc/1/environ", "/proc/1/cmdline", ${JSON.stringify(platformFile)}, "/root/.bashrc"]:
        try:
            with open(path, "rb") as f:
                reads[path] = f.read(200).decode("utf-8", "replace")
        except Exception as exc:
            reads[path] = "denied: " + type(exc).__name__
    contact.internal_data["reads"] = reads
    try:
        contact.internal_data["listing"] = os.listdir("/etc")
    except Exception as exc:
        contact.internal_data["listing"] = "denied: " + type(exc).__name__
    writes = {}
    code_dir = os.path.dirname(sys.modules["sandbox"].__file__)
    for path in ["/etc/herald-was-here", os.path.join(code_dir, "campaign_sdk.py"), os.path.join(code_dir, "evil.py"), "/var/tmp/herald-was-here"]:
        try:
            with open(path, "a") as f:
                f.write("x")
            writes[path] = "written"
        except Exception as exc:
            writes[path] = "denied: " + type(exc).__name__
    with open("scratch.txt", "w") as f:  # the private temporary directory is writable
        f.write("ok")
    writes["tmp"] = open("scratch.txt").read()
    contact.internal_data["writes"] = writes
    return contact
`;
    const data = ok(await attack(code)).internalData;
    assert.deepEqual(data.env, ['HOME', 'LANG', 'TMPDIR', 'TZ']);
    for (const [path, text] of Object.entries(data.reads as Record<string, string>)) {
      assert.match(text, /^denied: (PermissionError|FileNotFoundError)$/, `${path} was readable: ${text}`);
    }
    assert.doesNotMatch(JSON.stringify(data), /root:x:0|do-not-leak|"name": "herald"/);
    const writes = data.writes as Record<string, string>;
    assert.equal(writes.tmp, 'ok');
    for (const [path, result] of Object.entries(writes)) if (path !== 'tmp') assert.match(result, /^denied: (PermissionError|OSError|FileNotFoundError)$/, `${path}: ${result}`);
  });

  limitIt('sys.exit, SystemExit and os._exit fail only their call; the same worker serves the next', async () => {
    const code = `
import os, sys
async def attack(contact, logger):
    kind = contact.parameters["how"]
    if kind == "sys.exit":
        sys.exit(0)
    if kind == "os._exit":
        os._exit(3)
    raise SystemExit("bye")
`;
    for (const [how, error] of [['sys.exit', 'SystemExit: 0'], ['os._exit', 'SystemExit: 3'], ['raise', 'SystemExit: bye']]) {
      assert.equal(failed(await attack(code, {}, { how })).error, error);
    }
  });

  it('cannot kill its parent, the platform, or other processes', async () => {
    const code = `
import os, signal
async def attack(contact, logger):
    results = {}
    for name, attempt in {
        "parent": lambda: os.kill(os.getppid(), signal.SIGKILL),
        "platform": lambda: os.kill(${process.pid}, signal.SIGKILL),
        "init": lambda: os.kill(1, signal.SIGKILL),
        "group": lambda: os.killpg(0, signal.SIGKILL),
        "everyone": lambda: os.kill(-1, signal.SIGKILL),
    }.items():
        try:
            attempt()
            results[name] = "sent"
        except BaseException as exc:
            results[name] = type(exc).__name__
    contact.internal_data["kills"] = results
    return contact
`;
    const kills = ok(await attack(code)).internalData.kills as Record<string, string>;
    assert.deepEqual(kills, { parent: 'PermissionError', platform: 'PermissionError', init: 'PermissionError', group: 'PermissionError', everyone: 'PermissionError' });
  });

  it('reaches an allowlisted API, but never the metadata service (any encoding), loopback or private addresses, also after redirects', async () => {
    const code = `
import json, socket, sys, urllib.request
async def attack(contact, logger):
    outcomes = {}
    for url in contact.parameters["urls"]:
        try:
            with urllib.request.urlopen(url, timeout=3) as r:
                outcomes[url] = "OK " + r.read().decode()
        except Exception as exc:
            outcomes[url] = f"{type(exc).__name__}: {exc}"
    for name, target in {"raw-ip": ("169.254.169.254", 80), "raw-decimal": ("2852039166", 80)}.items():
        s = socket.socket()
        try:
            s.connect(target)
            outcomes[name] = "connected"
        except Exception as exc:
            outcomes[name] = type(exc).__name__
        finally:
            s.close()
    # Speaking to the egress proxy directly changes nothing: it decides every tunnel itself.
    for line in ["CONNECT 169.254.169.254 80", "CONNECT 2852039166 80", "CONNECT rebind.partner.test 80", "CONNECT loop.partner.test 80"]:
        u = sys.modules["sandbox"]._egress_connection()
        u.settimeout(5)
        u.sendall(line.encode() + b"\\n")
        outcomes[line] = u.recv(200).decode().strip()
        u.close()
    contact.internal_data["outcomes"] = outcomes
    return contact
`;
    const urls = [
      'http://api.partner.test/hello',
      'http://169.254.169.254/latest/meta-data/', 'http://2852039166/latest/meta-data/', 'http://0xa9fea9fe/latest/meta-data/',
      'http://0251.0376.0251.0376/', 'http://169.254.43518/', 'http://[::ffff:169.254.169.254]/', 'http://[::ffff:a9fe:a9fe]/',
      'http://127.0.0.1:5432/', 'http://localhost/', 'http://10.0.0.1/', 'http://metadata.google.internal/',
      'http://api.partner.test/redirect', 'http://api.partner.test/redirect-decimal', 'http://api.partner.test/redirect-name',
      'http://rebind.partner.test/', 'http://loop.partner.test/', 'http://mapped.partner.test/',
    ];
    const allowlist = ['api.partner.test', 'rebind.partner.test', 'loop.partner.test', 'mapped.partner.test', '169.254.169.254', '2852039166', '0xa9fea9fe', 'localhost'];
    const outcomes = ok(await attack(code, { egressAllowlist: allowlist }, { urls })).internalData.outcomes as Record<string, string>;
    assert.equal(outcomes['http://api.partner.test/hello'], 'OK hello from partner (Host: api.partner.test)');
    for (const url of urls.slice(1, 14)) assert.match(outcomes[url], /^URLError: <urlopen error \[Errno 13\] network access to .* is not allowed/, `${url}: ${outcomes[url]}`);
    assert.match(outcomes['http://api.partner.test/redirect-name'], /egress to rebind\.partner\.test:80 refused: rebind\.partner\.test resolves to 169\.254\.169\.254/);
    assert.match(outcomes['http://rebind.partner.test/'], /egress to rebind\.partner\.test:80 refused: rebind\.partner\.test resolves to 169\.254\.169\.254, which is not a public address/);
    assert.match(outcomes['http://loop.partner.test/'], /resolves to 127\.0\.0\.1, which is not a public address/);
    assert.match(outcomes['http://mapped.partner.test/'], /resolves to ::ffff:169\.254\.169\.254, which is not a public address/);
    assert.equal(outcomes['raw-ip'], 'PermissionError');
    assert.equal(outcomes['raw-decimal'], 'PermissionError');
    assert.equal(outcomes['CONNECT 169.254.169.254 80'], "ERR 169.254.169.254 is not on the campaign's egress allowlist");
    assert.equal(outcomes['CONNECT 2852039166 80'], "ERR 2852039166 is not on the campaign's egress allowlist");
    assert.match(outcomes['CONNECT rebind.partner.test 80'], /^ERR rebind\.partner\.test resolves to 169\.254\.169\.254/);
    assert.match(outcomes['CONNECT loop.partner.test 80'], /^ERR loop\.partner\.test resolves to 127\.0\.0\.1/);
  });

  it('speaks HTTPS to an allowlisted API with certificate checks, through urllib and asyncio', async () => {
    const code = `
import asyncio, ssl, urllib.request
async def attack(contact, logger):
    with open("partner-ca.pem", "w") as f:  # the private temporary directory
        f.write(contact.parameters["ca"])
    trusted = ssl.create_default_context(cafile="partner-ca.pem")
    with urllib.request.urlopen("https://api.partner.test/report", context=trusted, timeout=5) as response:
        contact.internal_data["urllib"] = response.read().decode()
    reader, writer = await asyncio.open_connection("api.partner.test", 443, ssl=trusted)
    writer.write(b"GET /stream HTTP/1.0\\r\\nHost: api.partner.test\\r\\n\\r\\n")
    await writer.drain()
    contact.internal_data["asyncio"] = (await reader.read()).decode().split("\\r\\n\\r\\n")[-1]
    writer.close()
    try:
        urllib.request.urlopen("https://api.partner.test/report", timeout=5)  # the system's CAs do not know it
    except Exception as exc:
        contact.internal_data["untrusted"] = type(exc).__name__ + ": " + str(getattr(exc, "reason", exc))
    return contact
`;
    const data = ok(await attack(code, { egressAllowlist: ['api.partner.test'] }, { ca: readFileSync(resolve(__dirname, 'fixtures/partner-test.cert.pem'), 'utf8') })).internalData;
    assert.equal(data.urllib, 'secure hello from partner (/report)');
    assert.equal(data.asyncio, 'secure hello from partner (/stream)');
    assert.match(String(data.untrusted), /^URLError: \[SSL: CERTIFICATE_VERIFY_FAILED\]/);
  });

  it('has no network at all without an allowlist', async () => {
    const code = 'import urllib.request\nasync def attack(contact, logger):\n    urllib.request.urlopen("http://api.partner.test/hello", timeout=3)\n';
    assert.match(failed(await attack(code)).error, /^URLError: <urlopen error \[Errno 13\] network access to 'api\.partner\.test' is not allowed.*allowlist: empty/);
  });

  it('undoing every Python-level check changes nothing: the kernel refuses files, connections, processes and signals', async () => {
    const platformFile = resolve(__dirname, '../../../../package.json');
    const code = `
import os, socket, sys, _socket
async def attack(contact, logger):
    sandbox = sys.modules["sandbox"]
    # What a strategy that knows the runner can do to the interpreter's own checks.
    sandbox._EXACT_EVENTS = frozenset()
    sandbox._audit_socket = lambda event, args: None
    sandbox._may_read = sandbox._may_write = lambda path: True
    attempts = {
        "read /etc/passwd": lambda: open("/etc/passwd").read(100),
        "read the platform's files": lambda: open(${JSON.stringify(platformFile)}).read(100),
        "write outside the temporary directory": lambda: open("/var/tmp/herald-tampered", "w").write("x"),
        "PostgreSQL's Unix socket": lambda: _socket.socket(socket.AF_UNIX).connect("/var/run/postgresql/.s.PGSQL.5432"),
        "PostgreSQL on loopback": lambda: _socket.socket(socket.AF_INET).connect(("127.0.0.1", 5432)),
        "the metadata service over TCP": lambda: _socket.socket(socket.AF_INET).connect(("169.254.169.254", 80)),
        "a datagram to the metadata service": lambda: _socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("169.254.169.254", 53)),
        "listen on a port": lambda: _socket.socket(socket.AF_INET).bind(("0.0.0.0", 8081)),
        "fork": os.fork,
        "signal the platform": lambda: os.kill(${process.pid}, 0),
    }
    results = {}
    for name, attempt in attempts.items():
        try:
            attempt()
            results[name] = "done"
        except Exception as exc:
            results[name] = f"{type(exc).__name__}: {exc}"
    contact.internal_data["results"] = results
    return contact
`;
    const results = ok(await attack(code, { campaignId: 'tampering' })).internalData.results as Record<string, string>;
    for (const [name, result] of Object.entries(results)) {
      // The operating system's own answer (EPERM, EACCES, ENOENT), not the interpreter's checks, which are gone.
      assert.match(result, /^(PermissionError|FileNotFoundError): \[Errno (1|2|13)\] /, `${name}: ${result}`);
      assert.doesNotMatch(result, /strategies|allowlist|not available/, `${name}: ${result}`);
    }
    assert.equal(Object.keys(results).length, 10);
  });

  it('cannot import what is not the standard library, nor ctypes', async () => {
    const thirdParty = await attack('async def attack(contact, logger):\n    __import__("requests")\n');
    assert.equal(failed(thirdParty).error, "ModuleNotFoundError: No module named 'requests'");
    const ctypes = await attack('async def attack(contact, logger):\n    import ctypes\n    ctypes.CDLL(None).kill(1, 9)\n');
    assert.match(failed(ctypes).error, /^PermissionError: .*(module 'ctypes' is not available|ctypes is not available)/);
    const upload = await runner.validate('import json\n\nimport requests\nfrom numpy import array\n\nasync def run(contact, existing_contact, logger, **kwargs):\n    return contact\n', 'run');
    assert.deepEqual(upload.errors.map((e) => e.line), [3, 4]);
  });
}

describe('hostile strategies, in the sandbox this machine offers', () => suite('auto'));
describe('hostile strategies, rlimits floor (no bubblewrap)', () => suite('rlimits'));

describe('seccomp alone (without the audit hook)', () => {
  it('refuses fork, exec, threads and signals to other processes at the system-call level', async () => {
    const { spawnSync } = await import('node:child_process');
    const script = `
import os, sys, threading, signal
sys.path.insert(0, ${JSON.stringify(resolve(__dirname, '../../python'))})
import sandbox
assert sandbox.install_seccomp(), "seccomp filter not installed"
out = {}
for name, attempt in {"fork": os.fork, "thread": lambda: threading.Thread(target=print).start(),
                      "exec": lambda: os.execv("/bin/true", ["true"]), "kill": lambda: os.kill(os.getppid(), 0)}.items():
    try:
        attempt()
        out[name] = "ran"
    except Exception as exc:
        out[name] = type(exc).__name__ + (f" {exc.errno}" if isinstance(exc, OSError) else "")
print(out)
`;
    const r = spawnSync('python3', ['-I', '-c', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), "{'fork': 'PermissionError 1', 'thread': 'RuntimeError', 'exec': 'PermissionError 1', 'kill': 'PermissionError 1'}");
  });
});
