import type { Json } from '@herald/contracts';
import type { AnalyticsSpec, MetricDefinition } from '@herald/campaign-model';
import type { TranscriptMessage } from '../agents/agent-backend';
import { parseJson, type ChatMessage } from '../agents/llm-agent';

/** What one metric came out as for one session: a value (null when the conversation does not tell), and why it has none. */
export interface MetricResult { readonly code: string; readonly fingerprint: string; readonly value: Json; readonly error: string | null }

/**
 * The structured-output request for one session: a system message with the
 * YAML's instructions and one line per metric (its key, the shape of the
 * answer, the question), the transcript as the user message, and a JSON
 * schema of exactly those keys (strict structured outputs), or json_object
 * for endpoints without them.
 */
export function evaluationRequest(spec: AnalyticsSpec, metrics: readonly MetricDefinition[], transcript: readonly TranscriptMessage[]): {
  model: string | null; messages: ChatMessage[]; responseFormat: Record<string, unknown>;
} {
  const system = [
    'You analyse one conversation of an outbound campaign between an agent and a contact.',
    spec.instructions ?? '',
    'Answer each question from the conversation only; use null when the conversation does not tell.',
    'Answer with one JSON object with exactly these keys:',
    ...metrics.map((m) => `- "${m.code}" (${shapeOf(m)}): ${m.question}`),
  ].filter(Boolean).join('\n');
  const conversation = transcript.map((m) => `${m.role}: ${m.content}`).join('\n');
  const responseFormat = spec.responseFormat === 'json_object' ? { type: 'json_object' } : {
    type: 'json_schema',
    json_schema: {
      name: 'deep_analysis', strict: true,
      schema: { type: 'object', additionalProperties: false, required: metrics.map((m) => m.code), properties: Object.fromEntries(metrics.map((m) => [m.code, schemaOf(m)])) },
    },
  };
  return { model: spec.model, messages: [{ role: 'system', content: system }, { role: 'user', content: conversation }], responseFormat };
}

/** Reads the model's answer; a metric whose value breaks its definition keeps null and says why. Throws when the answer has no JSON object. */
export function readEvaluation(metrics: readonly MetricDefinition[], content: string): MetricResult[] {
  const answer = parseJson(content);
  if (!answer) throw new Error(`the LLM answer is not a JSON object: ${content.slice(0, 200)}`);
  return metrics.map((m) => {
    if (!(m.code in answer)) return { code: m.code, fingerprint: m.fingerprint, value: null, error: 'missing from the answer' };
    const read = valueOf(m, answer[m.code]);
    return { code: m.code, fingerprint: m.fingerprint, ...read };
  });
}

/** Results for a conversation without any message: nothing to ask the model. */
export function emptyConversation(metrics: readonly MetricDefinition[]): MetricResult[] {
  return metrics.map((m) => ({ code: m.code, fingerprint: m.fingerprint, value: null, error: 'the conversation has no messages' }));
}

function shapeOf(m: MetricDefinition): string {
  switch (m.type) {
    case 'boolean': return 'true or false';
    case 'scale': return `a whole number from ${m.min} to ${m.max}`;
    case 'number': {
      const range = m.min !== null && m.max !== null ? ` from ${m.min} to ${m.max}` : m.min !== null ? ` of at least ${m.min}` : m.max !== null ? ` of at most ${m.max}` : '';
      return `${m.integer ? 'a whole number' : 'a number'}${range}`;
    }
    case 'enum': return `one of ${m.values.map((v) => `"${v.value}"${v.description ? ` (${v.description})` : ''}`).join(', ')}`;
    case 'text': return `text, at most ${m.maxLength} characters`;
    default: return assertNever(m.type);
  }
}

function schemaOf(m: MetricDefinition): Record<string, unknown> {
  switch (m.type) {
    case 'boolean': return { type: ['boolean', 'null'], description: m.question };
    case 'scale': return { type: ['integer', 'null'], description: `${m.question} (${shapeOf(m)})` };
    case 'number': return { type: [m.integer ? 'integer' : 'number', 'null'], description: `${m.question} (${shapeOf(m)})` };
    case 'enum': return { type: ['string', 'null'], enum: [...m.values.map((v) => v.value), null], description: m.question };
    case 'text': return { type: ['string', 'null'], description: m.question };
    default: return assertNever(m.type);
  }
}

function valueOf(m: MetricDefinition, raw: unknown): { value: Json; error: string | null } {
  if (raw === null || raw === undefined) return { value: null, error: null };
  switch (m.type) {
    case 'boolean': {
      const v = typeof raw === 'string' ? ({ true: true, yes: true, false: false, no: false } as Record<string, boolean>)[raw.trim().toLowerCase()] : raw;
      return typeof v === 'boolean' ? { value: v, error: null } : { value: null, error: `${JSON.stringify(raw)} is not true or false` };
    }
    case 'number':
    case 'scale': {
      const v = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
      if (typeof v !== 'number' || !Number.isFinite(v)) return { value: null, error: `${JSON.stringify(raw)} is not a number` };
      if (m.integer && !Number.isInteger(v)) return { value: null, error: `${v} is not a whole number` };
      if ((m.min !== null && v < m.min) || (m.max !== null && v > m.max)) return { value: null, error: `${v} is outside the range ${m.min ?? '-∞'} to ${m.max ?? '∞'}` };
      return { value: v, error: null };
    }
    case 'enum': {
      const s = typeof raw === 'string' || typeof raw === 'number' ? String(raw).trim() : null;
      const hit = s === null ? undefined : m.values.find((v) => v.value.toLowerCase() === s.toLowerCase());
      return hit ? { value: hit.value, error: null } : { value: null, error: `${JSON.stringify(raw)} is not one of ${m.values.map((v) => v.value).join(', ')}` };
    }
    case 'text': {
      if (typeof raw !== 'string') return { value: null, error: `${JSON.stringify(raw)} is not text` };
      return { value: raw.length > m.maxLength! ? raw.slice(0, m.maxLength!).trimEnd() : raw, error: null };
    }
    default: return assertNever(m.type);
  }
}

function assertNever(x: never): never {
  throw new Error(`unknown metric type ${String(x)}`);
}
