import { createServer, type Server } from 'node:http';
import { renderMetrics } from './metrics';

export type HealthCheck = () => Promise<void>;

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Runs every check with a time bound; returns the failures by name. */
export async function runChecks(checks: Readonly<Record<string, HealthCheck>>, timeoutMs = 3000): Promise<Record<string, string>> {
  const failures: Record<string, string> = {};
  await Promise.all(Object.entries(checks).map(async ([name, check]) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([check(), new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs); })]);
    } catch (error) {
      failures[name] = (error as Error)?.message ?? String(error);
    } finally {
      clearTimeout(timer);
    }
  }));
  return failures;
}

/**
 * The operations port of a service without an HTTP API of its own (every
 * service but the gateway): GET /healthz (liveness: the event loop answers),
 * GET /readyz (readiness: its dependencies answer), GET /metrics (Prometheus).
 */
export function startOpsServer(options: { port: number; host?: string; readiness: Readonly<Record<string, HealthCheck>> }): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (status: number, body: unknown, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    if (req.method !== 'GET') return reply(405, { error: 'method not allowed' });
    if (path === '/healthz' || path === '/health') return reply(200, { status: 'ok' });
    if (path === '/readyz') {
      void runChecks(options.readiness).then((failures) =>
        Object.keys(failures).length ? reply(503, { status: 'unavailable', failures }) : reply(200, { status: 'ok' }),
      );
      return;
    }
    if (path === '/metrics') {
      void renderMetrics().then(({ contentType, body }) => reply(200, body, contentType), (e) => reply(500, { error: String(e) }));
      return;
    }
    reply(404, { error: `no route ${path}` });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address ? address.port : options.port,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    });
  });
}
