import type {
  AgentView, CampaignPerformanceView, CampaignView, ContactState, ContactSummary, IntegrationView, LogEntryView, PerformancePeriod, SessionView,
  StrategyCode, UploadView,
} from '@herald/contracts';

export type {
  AgentView, CampaignPerformanceView, CampaignView, ContactState, ContactSummary, IntegrationView, LogEntryView, PerformancePeriod, SessionView,
  StrategyCode, UploadView,
};

/** An error answered by the API: `{statusCode, error, message, field}` (docs/campaigns.md). */
export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly field: string | null = null) {
    super(message);
  }
}

async function parse<T>(res: Response): Promise<T> {
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  if (!res.ok) {
    // The session ended (expired, key revoked): the app shows the sign-in page again.
    if (res.status === 401 && !res.url.endsWith('/api/session')) window.dispatchEvent(new Event('herald:signed-out'));
    const b = (body ?? {}) as { message?: unknown; field?: unknown };
    const message = Array.isArray(b.message) ? b.message.join('; ') : typeof b.message === 'string' ? b.message : `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, message, typeof b.field === 'string' ? b.field : null);
  }
  return body as T;
}

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: body === undefined || body instanceof FormData ? { accept: 'application/json' } : { 'content-type': 'application/json', accept: 'application/json' },
      body: body === undefined ? undefined : body instanceof FormData ? body : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'The server cannot be reached. Check that Herald is running, then try again.');
  }
  return parse<T>(res);
}

/** A multipart upload with progress (fetch cannot report upload progress). */
export function upload<T>(method: string, path: string, form: FormData, onProgress?: (fraction: number) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, path);
    xhr.setRequestHeader('accept', 'application/json');
    xhr.upload.onprogress = (e) => { if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total); };
    xhr.onerror = () => reject(new ApiError(0, 'The upload was interrupted: the server cannot be reached.'));
    xhr.onload = () => {
      const res = new Response(xhr.responseText, { status: xhr.status, statusText: xhr.statusText });
      parse<T>(res).then(resolve, reject);
    };
    xhr.send(form);
  });
}

export const qs = (params: Record<string, string | number | undefined | null>) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
};

const c = (id: string) => `/api/campaigns/${encodeURIComponent(id)}`;

export interface Me { actor: string; name: string; role: 'viewer' | 'operator' | 'campaign_manager' | 'admin'; via: string; workspace: { id: string; name: string } }

export const api = {
  me: () => call<Me>('GET', '/api/me'),
  signIn: (body: { apiKey?: string; token?: string }) => call<Me>('POST', '/api/session', body),
  signOut: () => call<void>('DELETE', '/api/session'),
  campaigns: (filter: 'all' | 'running', search: string) => call<CampaignView[]>('GET', `/api/campaigns${qs({ filter, search })}`),
  campaign: (id: string) => call<CampaignView>('GET', c(id)),
  create: (body: { name: string; description: string; labels?: string[] }) => call<CampaignView>('POST', '/api/campaigns', body),
  update: (id: string, body: { name?: string; description?: string; labels?: string[] }) => call<CampaignView>('PATCH', c(id), body),
  remove: (id: string) => call<void>('DELETE', c(id)),
  start: (id: string) => call<CampaignView>('POST', `${c(id)}/start`),
  stop: (id: string) => call<CampaignView>('POST', `${c(id)}/stop`),
  forceStop: (id: string) => call<CampaignView>('POST', `${c(id)}/force-stop`),
  addStage: (id: string, body: unknown) => call<CampaignView>('POST', `${c(id)}/stages`, body),
  updateStage: (id: string, stageId: string, body: unknown) => call<CampaignView>('PUT', `${c(id)}/stages/${stageId}`, body),
  removeStage: (id: string, stageId: string) => call<CampaignView>('DELETE', `${c(id)}/stages/${stageId}`),
  addStrategy: (id: string, form: FormData) => upload<CampaignView>('POST', `${c(id)}/strategies`, form),
  updateStrategy: (id: string, sid: string, body: { name?: string; description?: string; functionName?: string }) => call<CampaignView>('PATCH', `${c(id)}/strategies/${sid}`, body),
  replaceStrategyFile: (id: string, sid: string, form: FormData) => upload<CampaignView>('PUT', `${c(id)}/strategies/${sid}/file`, form),
  strategyCode: (id: string, sid: string) => call<StrategyCode>('GET', `${c(id)}/strategies/${sid}/code`),
  strategyFileUrl: (id: string, sid: string) => `${c(id)}/strategies/${sid}/file`,
  removeStrategy: (id: string, sid: string) => call<CampaignView>('DELETE', `${c(id)}/strategies/${sid}`),
  settings: (id: string, body: Record<string, unknown>) => call<CampaignView>('PATCH', `${c(id)}/settings`, body),
  uploadAnalytics: (id: string, form: FormData) => upload<CampaignView>('PUT', `${c(id)}/analytics`, form),
  analyticsUrl: (id: string) => `${c(id)}/analytics`,
  results: (id: string, results: { code: string; name: string; description?: string }[]) => call<CampaignView>('PUT', `${c(id)}/results`, { results }),
  logs: (id: string, q: { level?: string; contact?: string; after?: number; limit?: number }) =>
    call<{ items: LogEntryView[]; next: number | null }>('GET', `${c(id)}/logs${qs(q)}`),
  export: (id: string) => call<{ fileName: string; secretKey: string; archive: string }>('POST', `${c(id)}/export`),
  import: (form: FormData, onProgress?: (f: number) => void) => upload<CampaignView>('POST', '/api/campaigns/import', form, onProgress),
  uploadContacts: (id: string, form: FormData, onProgress: (f: number) => void) => upload<UploadView>('POST', `${c(id)}/contacts/uploads`, form, onProgress),
  getUpload: (id: string, uploadId: string) => call<UploadView>('GET', `${c(id)}/contacts/uploads/${uploadId}`),
  contacts: (id: string, filters: ContactFilters, after?: string | null, limit = 50) =>
    call<{ items: ContactSummary[]; next: string | null }>('GET', `${c(id)}/contacts${qs({ ...filters, after, limit })}`),
  contactsCsvUrl: (id: string, filters: ContactFilters) => `${c(id)}/contacts/export.csv${qs({ ...filters })}`,
  contact: (id: string, key: string) => call<ContactState>('GET', `${c(id)}/contacts/${encodeURIComponent(key)}`),
  performance: (id: string, period: PerformancePeriod) => call<CampaignPerformanceView>('GET', `${c(id)}/performance${qs({ period })}`),
  integrations: () => call<IntegrationView[]>('GET', '/api/integrations'),
  agents: () => call<AgentView[]>('GET', '/api/agents'),
  session: (sessionId: string) => call<SessionView>('GET', `/api/sessions/${encodeURIComponent(sessionId)}`),
};

export interface ContactFilters {
  name?: string;
  email?: string;
  phone?: string;
  outcome?: string;
  externalId?: string;
  createdFrom?: string;
  createdTo?: string;
}
