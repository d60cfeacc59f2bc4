import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

export interface PortalFile {
  type: string;
  body: Buffer;
  gzip: Buffer | null;
  br: Buffer | null;
  etag: string;
}

/**
 * A built portal, held in memory (about a megabyte) with gzip and brotli
 * copies made once, so serving a file is a map lookup. Only files the build
 * produced can be served: a request path is a key, never a file system path.
 */
export class PortalFiles {
  private readonly files = new Map<string, PortalFile>();
  private readonly indexTemplate: string;

  constructor(readonly dir: string) {
    const walk = (d: string) => {
      for (const name of readdirSync(d)) {
        const path = join(d, name);
        if (statSync(path).isDirectory()) walk(path);
        else this.add('/' + relative(dir, path).split(sep).join('/'), readFileSync(path));
      }
    };
    walk(dir);
    this.indexTemplate = readFileSync(join(dir, 'index.html'), 'utf8');
  }

  get(path: string): PortalFile | undefined {
    return path === '/index.html' ? undefined : this.files.get(path);
  }

  /** index.html with this response's nonce (the one inline style element the component library writes carries it). */
  index(nonce: string): string {
    return this.indexTemplate.replaceAll('__HERALD_NONCE__', nonce);
  }

  private add(path: string, body: Buffer): void {
    const type = TYPES[extname(path)] ?? 'application/octet-stream';
    const compressible = /^(text\/|application\/json|image\/svg)/.test(type) && body.length > 512;
    this.files.set(path, {
      type,
      body,
      gzip: compressible ? gzipSync(body, { level: 9 }) : null,
      br: compressible ? brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }) : null,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    });
  }
}

export const newNonce = () => randomBytes(18).toString('base64');

/**
 * The portal's Content-Security-Policy: scripts and styles only from this
 * origin (no inline script at all; inline style elements only with this
 * response's nonce), data only from this origin's API, no plugins, no
 * framing by other sites. The email preview frame is /portal/preview (same
 * origin, its own stricter policy).
 */
export function portalCsp(nonce: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src 'self' 'nonce-${nonce}'`,
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "frame-src 'self'",
    "form-action 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "object-src 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * The email template preview frame (/portal/preview), shown in an iframe
 * sandboxed without allow-same-origin: an opaque origin that reaches neither
 * the portal nor the API. Its policy lets the email's inline styles apply (as
 * in a mail client) and runs only its own script, which writes the HTML the
 * portal posts; a script or an event handler inside the template never runs.
 */
export const PREVIEW_CSP = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src data:; font-src data:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'";

export const PREVIEW_PAGE = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Email template preview</title><script src="/portal/preview.js"></script></head><body></body></html>';

export const PREVIEW_SCRIPT = `'use strict';
addEventListener('message', function (e) {
  if (e.source !== parent || typeof e.data !== 'string') return;
  document.documentElement.innerHTML = e.data;
});
parent.postMessage('herald-preview-ready', '*');
`;
