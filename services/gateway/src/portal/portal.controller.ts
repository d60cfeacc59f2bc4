import { Controller, Get, Inject, Logger, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { PortalBuilder } from './portal-build';
import { newNonce, portalCsp, PortalFiles, PREVIEW_CSP, PREVIEW_PAGE, PREVIEW_SCRIPT } from './portal-files';
import { Public } from '../auth/roles';

/**
 * Headers every portal response carries. The preview frame's files are
 * fetched from an opaque origin (the sandboxed frame), so they cannot be
 * same-origin-only resources.
 */
function secure(res: Response, frame = false): void {
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'same-origin');
  if (!frame) {
    res.setHeader('cross-origin-opener-policy', 'same-origin');
    res.setHeader('cross-origin-resource-policy', 'same-origin');
  }
}

/**
 * The portal (services/gateway/portal): its pages at `/`, `/campaigns/...`,
 * `/sessions/...` (all the same index.html; the router in the browser picks
 * the screen) and its built files under `/assets/`. Named routes only, so no
 * API path is ever answered with the portal.
 */
@ApiExcludeController()
@Public()
@Controller()
export class PortalController {
  private readonly logger = new Logger('Portal');
  private files: PortalFiles | null = null;

  constructor(@Inject(PortalBuilder) private readonly builder: PortalBuilder) {}

  @Get(['', 'campaigns', 'campaigns/*path', 'sessions/*path'])
  page(@Res() res: Response): void {
    secure(res);
    const files = this.loaded(res);
    if (!files) return;
    const nonce = newNonce();
    res.setHeader('content-security-policy', portalCsp(nonce));
    // Every response has its own nonce: never reuse a stored copy.
    res.setHeader('cache-control', 'no-store');
    res.type('html').send(files.index(nonce));
  }

  @Get(['assets/*path', 'favicon.svg'])
  asset(@Req() req: Request, @Res() res: Response): void {
    secure(res);
    const files = this.loaded(res);
    if (!files) return;
    const file = files.get(req.path);
    if (!file) {
      res.status(404).json({ statusCode: 404, error: 'not_found', message: `no portal file ${req.path}` });
      return;
    }
    // Files under /assets/ carry a content hash in their name: they never change.
    res.setHeader('cache-control', req.path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    res.setHeader('etag', file.etag);
    res.setHeader('vary', 'accept-encoding');
    res.setHeader('content-type', file.type);
    if (req.headers['if-none-match'] === file.etag) {
      res.status(304).end();
      return;
    }
    const accepts = String(req.headers['accept-encoding'] ?? '');
    if (file.br && /\bbr\b/.test(accepts)) {
      res.setHeader('content-encoding', 'br');
      res.end(file.br);
    } else if (file.gzip && /\bgzip\b/.test(accepts)) {
      res.setHeader('content-encoding', 'gzip');
      res.end(file.gzip);
    } else {
      res.end(file.body);
    }
  }

  /**
   * The email template preview frame: an empty page whose script shows the
   * HTML the portal posts to it, under a policy of its own (below).
   */
  @Get('portal/preview')
  preview(@Res() res: Response): void {
    secure(res, true);
    res.setHeader('content-security-policy', PREVIEW_CSP);
    res.setHeader('cache-control', 'no-cache');
    res.type('html').send(PREVIEW_PAGE);
  }

  @Get('portal/preview.js')
  previewScript(@Res() res: Response): void {
    secure(res, true);
    res.setHeader('cache-control', 'no-cache');
    res.type('text/javascript').send(PREVIEW_SCRIPT);
  }

  /** The built files, or null after answering that the portal is being built or could not be. */
  private loaded(res: Response): PortalFiles | null {
    const build = this.builder.state();
    if (build.state === 'ready') {
      if (this.files?.dir !== build.dir) this.files = new PortalFiles(build.dir);
      return this.files;
    }
    res.setHeader('content-security-policy', "default-src 'none'; base-uri 'none'; frame-ancestors 'none'");
    res.setHeader('cache-control', 'no-store');
    if (build.state === 'building') {
      res.status(503).setHeader('retry-after', '2');
      res.type('html').send('<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="2"><title>Herald</title></head>'
        + '<body><h1>Herald</h1><p>The portal is being built (first start after an update). This page reloads itself.</p></body></html>');
      return null;
    }
    this.logger.error(build.error);
    this.builder.retry();
    res.status(500).type('html').send('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Herald</title></head>'
      + '<body><h1>Herald</h1><p>The portal could not be built. The API works; the gateway log has the details. Reload to try again.</p></body></html>');
    return null;
  }
}
