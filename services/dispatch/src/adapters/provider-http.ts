import { RateLimiter, sharedRateLimiter } from './rate-limiter';

/** The request may have reached the provider but its answer was lost: never sent again (the send ledger records the doubt). */
export class LostResponseError extends Error {
  constructor(what: string, cause: unknown) {
    super(`${what}: the provider's answer was lost (${describe(cause)}); not sent again, to never reach the contact twice`);
    this.name = 'LostResponseError';
  }
}

export interface ProviderResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: Headers;
  readonly text: string;
  readonly json: unknown;
}

export interface ProviderFetchOptions {
  /** Names the provider in errors. */
  readonly what: string;
  /** Rate limits this request counts against, honoured before it goes out. */
  readonly limits?: readonly { key: string; perSecond: number; burst?: number }[];
  /** How long the provider asks to wait, in ms, when it refused for rate (null: not a rate answer). Default: 429 with Retry-After. */
  readonly retryAfter?: (response: ProviderResponse) => number | null;
  /** Give up waiting on rate answers after this long (default 10 min): the communication then ends with ERROR. */
  readonly maxWaitMs?: number;
  /** Only for requests that change nothing (LLM completions): a lost answer is retried. */
  readonly retryLostResponse?: boolean;
  readonly timeoutMs?: number;
  readonly limiter?: RateLimiter;
}

const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * fetch for provider APIs: honours rate limits before sending, waits and
 * retries when the provider answers "too many requests" (its retry_after),
 * retries a connection that was refused (nothing was sent), and turns a
 * lost answer into LostResponseError instead of sending again.
 */
export async function providerFetch(url: string, init: RequestInit, options: ProviderFetchOptions): Promise<ProviderResponse> {
  const limiter = options.limiter ?? sharedRateLimiter;
  const deadline = Date.now() + (options.maxWaitMs ?? 600_000);
  let refused = 0;
  let rateAnswers = 0;
  for (;;) {
    for (const l of options.limits ?? []) await limiter.take(l.key, l.perSecond, l.burst);
    let response: Response;
    try {
      response = await fetch(url, { ...init, signal: AbortSignal.timeout(options.timeoutMs ?? 30_000) });
    } catch (error) {
      const code = errorCode(error);
      if (code && NOT_SENT.has(code) && ++refused <= 3 && Date.now() < deadline) {
        await sleep(200 * refused);
        continue;
      }
      if (code && NOT_SENT.has(code)) throw new Error(`${options.what}: cannot connect to ${new URL(url).host} (${code})`);
      if (options.retryLostResponse && ++refused <= 3) continue;
      throw new LostResponseError(options.what, error);
    }
    const text = await response.text().catch((error) => {
      throw new LostResponseError(options.what, error);
    });
    const result: ProviderResponse = { status: response.status, ok: response.ok, headers: response.headers, text, json: parse(text) };
    const wait = (options.retryAfter ?? defaultRetryAfter)(result);
    if (wait === null) return result;
    rateAnswers++;
    const delay = Math.max(wait, 50);
    if (Date.now() + delay > deadline) throw new Error(`${options.what}: still rate limited after ${rateAnswers} answers; giving up (not sent)`);
    for (const l of options.limits ?? []) limiter.pause(l.key, delay, l.perSecond, l.burst);
    if (!options.limits?.length) await sleep(delay);
  }
}

/** 429 Too Many Requests, waiting Retry-After (seconds or an HTTP date), else one second. */
export function defaultRetryAfter(r: ProviderResponse): number | null {
  if (r.status !== 429) return null;
  return retryAfterHeader(r.headers) ?? 1000;
}

export function retryAfterHeader(headers: Headers): number | null {
  const value = headers.get('retry-after');
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

function errorCode(error: unknown): string | null {
  let e = error as { code?: string; cause?: unknown } | undefined;
  for (let depth = 0; e && depth < 4; depth++) {
    if (typeof e.code === 'string') return e.code;
    e = e.cause as typeof e;
  }
  return null;
}

const describe = (error: unknown) => {
  const code = errorCode(error);
  const message = (error as Error)?.name === 'TimeoutError' ? 'timed out' : (error as Error)?.message ?? String(error);
  return code ? `${code}` : message;
};

const parse = (text: string): unknown => {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
