import { createHash } from 'node:crypto';
import YAML, { LineCounter, type Document } from 'yaml';
import { invalid } from '@herald/contracts';

/**
 * The YAML analytics format (docs/analytics.md, "Deep analysis"): the
 * metrics an LLM answers for each conversation, how far back Recalculate and
 * Continue calculation go (`depth`, days), and how the results are shown.
 * parseAnalytics() is the one reading of the file: the campaigns service
 * validates uploads with it, dispatch evaluates sessions with it. Errors
 * name the field (`metrics[1].range.max`) and its line.
 */
export const METRIC_TYPES = ['boolean', 'number', 'scale', 'enum', 'text'] as const;
export type MetricType = (typeof METRIC_TYPES)[number];
export const METRIC_CHARTS = ['bar', 'stat', 'list', 'none'] as const;
export type MetricChart = (typeof METRIC_CHARTS)[number];

export interface MetricDefinition {
  /** The key of the metric's results (letters, digits, "_"). */
  readonly code: string;
  /** What the Deep Analysis page calls it. */
  readonly name: string;
  readonly description: string | null;
  readonly type: MetricType;
  /** What the LLM answers from each conversation. */
  readonly question: string;
  /** number and scale: the allowed range (scale: integers, default 1 to 5). */
  readonly min: number | null;
  readonly max: number | null;
  readonly integer: boolean;
  /** enum: the allowed values. */
  readonly values: readonly { readonly value: string; readonly description: string | null }[];
  /** text: longer answers are cut. */
  readonly maxLength: number | null;
  readonly display: { readonly chart: MetricChart; readonly unit: string | null };
  /** Changes when what the LLM is asked changes (not with name or display): Continue calculation recomputes such metrics. */
  readonly fingerprint: string;
}

export interface AnalyticsSpec {
  readonly title: string | null;
  readonly description: string | null;
  /** Days back from now that Recalculate and Continue calculation cover. */
  readonly depthDays: number;
  /** Overrides the LLM integration's model. */
  readonly model: string | null;
  /** Context given with every question. */
  readonly instructions: string | null;
  /** json_schema: OpenAI structured outputs; json_object for endpoints without them. */
  readonly responseFormat: 'json_schema' | 'json_object';
  readonly metrics: readonly MetricDefinition[];
  readonly display: { readonly order: readonly string[]; readonly sessionColumns: readonly string[] };
}

export const DEFAULT_DEPTH_DAYS = 30;
const MAX_METRICS = 50;
const CODE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const TOP_KEYS = ['version', 'title', 'description', 'depth', 'model', 'instructions', 'responseFormat', 'metrics', 'display'];
const METRIC_KEYS = ['code', 'name', 'description', 'type', 'question', 'range', 'integer', 'values', 'maxLength', 'display'];
const DEFAULT_CHART: Record<MetricType, MetricChart> = { boolean: 'bar', number: 'stat', scale: 'bar', enum: 'bar', text: 'list' };

type Path = (string | number)[];

/** Parses and validates a YAML analytics file; throws a DomainError naming the field (`file` for YAML syntax). */
export function parseAnalytics(text: string): AnalyticsSpec {
  const lines = new LineCounter();
  const doc = YAML.parseDocument(text, { prettyErrors: true, lineCounter: lines });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const line = e.linePos?.[0]?.line;
    throw invalid('file', `${line ? `line ${line}: ` : ''}${e.message.split('\n')[0]}`);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw invalid('file', (error as Error).message);
  }
  return new Reader(doc, lines).spec(value);
}

class Reader {
  constructor(private readonly doc: Document, private readonly lines: LineCounter) {}

  spec(root: unknown): AnalyticsSpec {
    if (!isObject(root)) throw invalid('file', 'the YAML analytics file must be a mapping with `metrics` (see docs/analytics.md)');
    this.known(root, [], TOP_KEYS);
    if (root.version !== undefined && root.version !== 1) this.fail(['version'], 'must be 1 (or left out)');
    const depth = root.depth ?? DEFAULT_DEPTH_DAYS;
    if (typeof depth !== 'number' || !Number.isInteger(depth) || depth < 1 || depth > 3650) this.fail(['depth'], 'must be a whole number of days from 1 to 3650');
    const responseFormat = root.responseFormat ?? 'json_schema';
    if (responseFormat !== 'json_schema' && responseFormat !== 'json_object') this.fail(['responseFormat'], 'must be json_schema or json_object');
    const instructions = this.text(root, [], 'instructions', 20_000);
    if (!Array.isArray(root.metrics)) this.fail(['metrics'], 'a list of metrics is required');
    const list = root.metrics as unknown[];
    if (!list.length) this.fail(['metrics'], 'must list at least one metric');
    if (list.length > MAX_METRICS) this.fail(['metrics'], `at most ${MAX_METRICS} metrics`);
    const metrics = list.map((m, i) => this.metric(m, ['metrics', i], instructions));
    const seen = new Set<string>();
    metrics.forEach((m, i) => {
      if (seen.has(m.code.toLowerCase())) this.fail(['metrics', i, 'code'], `"${m.code}" is used by an earlier metric`);
      seen.add(m.code.toLowerCase());
    });
    return {
      title: this.text(root, [], 'title', 200), description: this.text(root, [], 'description', 2000), depthDays: depth as number,
      model: this.text(root, [], 'model', 200), instructions, responseFormat, metrics, display: this.display(root.display, metrics),
    };
  }

  private metric(m: unknown, at: Path, instructions: string | null): MetricDefinition {
    if (!isObject(m)) this.fail(at, 'must be a mapping with code (or name), type and question');
    const raw = m as Record<string, unknown>;
    this.known(raw, at, METRIC_KEYS);
    const name = this.text(raw, at, 'name', 200);
    const codeText = this.text(raw, at, 'code', 64) ?? (name && CODE.test(name) ? name : null);
    if (!codeText) this.fail([...at, 'code'], 'required (letters, digits and "_"; or a name that is one)');
    if (!CODE.test(codeText!)) this.fail([...at, 'code'], 'letters, digits and "_", starting with a letter or "_" (at most 64)');
    const code = codeText!;
    if (!(METRIC_TYPES as readonly unknown[]).includes(raw.type)) this.fail([...at, 'type'], `must be one of ${METRIC_TYPES.join(', ')}`);
    const type = raw.type as MetricType;
    const description = this.text(raw, at, 'description', 2000);
    const question = this.text(raw, at, 'question', 4000) ?? description;
    if (!question) this.fail([...at, 'question'], 'required: what the LLM answers from each conversation');
    const numeric = type === 'number' || type === 'scale';
    for (const key of ['range', 'integer'] as const) if (raw[key] !== undefined && !numeric) this.fail([...at, key], `only for number and scale metrics, not ${type}`);
    if (raw.values !== undefined && type !== 'enum') this.fail([...at, 'values'], `only for enum metrics, not ${type}`);
    if (raw.maxLength !== undefined && type !== 'text') this.fail([...at, 'maxLength'], `only for text metrics, not ${type}`);
    if (raw.integer !== undefined && typeof raw.integer !== 'boolean') this.fail([...at, 'integer'], 'must be true or false');
    const { min, max } = numeric ? this.range(raw.range, [...at, 'range'], type) : { min: null, max: null };
    const integer = type === 'scale' || raw.integer === true;
    if (integer && ((min !== null && !Number.isInteger(min)) || (max !== null && !Number.isInteger(max)))) this.fail([...at, 'range'], 'an integer metric needs whole-number bounds');
    const values = type === 'enum' ? this.values(raw.values, [...at, 'values']) : [];
    let maxLength: number | null = null;
    if (type === 'text') {
      maxLength = (raw.maxLength ?? 1000) as number;
      if (!Number.isInteger(maxLength) || maxLength < 1 || maxLength > 10_000) this.fail([...at, 'maxLength'], 'must be a whole number from 1 to 10000');
    }
    const display = this.metricDisplay(raw.display, [...at, 'display'], type);
    const asked = { type, question, description, min, max, integer, values, maxLength, instructions };
    return {
      code, name: name ?? code, description, type, question: question!, min, max, integer, values, maxLength, display,
      fingerprint: createHash('sha256').update(JSON.stringify(asked)).digest('base64url').slice(0, 22),
    };
  }

  private range(r: unknown, at: Path, type: MetricType): { min: number | null; max: number | null } {
    if (r === undefined) return type === 'scale' ? { min: 1, max: 5 } : { min: null, max: null };
    let min: unknown;
    let max: unknown;
    if (Array.isArray(r) && r.length === 2) [min, max] = r;
    else if (isObject(r)) {
      this.known(r, at, ['min', 'max']);
      ({ min, max } = r);
    } else this.fail(at, 'must be {min, max} or [min, max]');
    for (const [key, v] of [['min', min], ['max', max]] as const) {
      if (v !== undefined && v !== null && (typeof v !== 'number' || !Number.isFinite(v))) this.fail([...at, key], 'must be a number');
    }
    const lo = typeof min === 'number' ? min : null;
    const hi = typeof max === 'number' ? max : null;
    if (type === 'scale' && (lo === null || hi === null)) this.fail(at, 'a scale needs both min and max');
    if (lo !== null && hi !== null && lo >= hi) this.fail([...at, 'max'], `must be greater than min (${lo})`);
    return { min: lo, max: hi };
  }

  private values(v: unknown, at: Path): { value: string; description: string | null }[] {
    if (!Array.isArray(v) || v.length < 2) this.fail(at, 'an enum needs a list of at least two values');
    const list = v as unknown[];
    if (list.length > 50) this.fail(at, 'at most 50 values');
    const seen = new Set<string>();
    return list.map((item, i) => {
      let value: unknown = item;
      let description: string | null = null;
      if (isObject(item)) {
        this.known(item, [...at, i], ['value', 'description']);
        value = item.value;
        description = this.text(item, [...at, i], 'description', 1000);
      }
      if (typeof value === 'number' || typeof value === 'boolean') value = String(value);
      if (typeof value !== 'string' || !value.trim() || value.length > 100) this.fail([...at, i], 'a value is a non-empty text of at most 100 characters (or {value, description})');
      const s = (value as string).trim();
      if (seen.has(s.toLowerCase())) this.fail([...at, i], `"${s}" is listed twice`);
      seen.add(s.toLowerCase());
      return { value: s, description };
    });
  }

  private metricDisplay(d: unknown, at: Path, type: MetricType): MetricDefinition['display'] {
    if (d === undefined) return { chart: DEFAULT_CHART[type], unit: null };
    if (!isObject(d)) this.fail(at, 'must be a mapping (chart, unit)');
    const o = d as Record<string, unknown>;
    this.known(o, at, ['chart', 'unit']);
    const chart = o.chart ?? DEFAULT_CHART[type];
    if (!(METRIC_CHARTS as readonly unknown[]).includes(chart)) this.fail([...at, 'chart'], `must be one of ${METRIC_CHARTS.join(', ')}`);
    return { chart: chart as MetricChart, unit: this.text(o, at, 'unit', 20) };
  }

  private display(d: unknown, metrics: readonly MetricDefinition[]): AnalyticsSpec['display'] {
    const all = metrics.map((m) => m.code);
    if (d === undefined) return { order: all, sessionColumns: all };
    if (!isObject(d)) this.fail(['display'], 'must be a mapping (order, sessionColumns)');
    const o = d as Record<string, unknown>;
    this.known(o, ['display'], ['order', 'sessionColumns']);
    const codes = (key: 'order' | 'sessionColumns'): string[] | null => {
      if (o[key] === undefined) return null;
      if (!Array.isArray(o[key])) this.fail(['display', key], 'must be a list of metric codes');
      return (o[key] as unknown[]).map((c, i) => {
        if (typeof c !== 'string' || !all.includes(c)) this.fail(['display', key, i], `not a metric code of this file (${all.join(', ')})`);
        return c as string;
      });
    };
    const order = codes('order');
    // Metrics the order leaves out follow in the file's order.
    return { order: order ? [...new Set([...order, ...all])] : all, sessionColumns: codes('sessionColumns') ?? all };
  }

  private text(o: Record<string, unknown>, at: Path, key: string, max: number): string | null {
    const v = o[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string') this.fail([...at, key], 'must be text');
    const s = (v as string).trim();
    if (s.length > max) this.fail([...at, key], `at most ${max} characters`);
    return s || null;
  }

  private known(o: Record<string, unknown>, at: Path, keys: readonly string[]): void {
    const unknown = Object.keys(o).find((k) => !keys.includes(k));
    if (unknown !== undefined) this.fail([...at, unknown], `unknown field (known: ${keys.join(', ')})`);
  }

  private fail(path: Path, message: string): never {
    const field = path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${p}` : p), '');
    const node = this.doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
    const offset = node?.range?.[0] ?? (path.length > 1 ? (this.doc.getIn(path.slice(0, -1), true) as { range?: number[] } | undefined)?.range?.[0] : undefined);
    const line = offset !== undefined ? this.lines.linePos(offset).line : null;
    throw invalid(field || 'file', `${message}${line ? ` (line ${line})` : ''}`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
