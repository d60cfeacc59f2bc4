import { CHANNELS } from '@herald/campaign-model';

export const channelLabel = (id: string | null | undefined): string =>
  id ? (CHANNELS as Record<string, { label: string }>)[id]?.label ?? id : '—';

export const dateTime = (iso: string | null | undefined): string => {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
};

export const OUTCOME_COLORS: Record<string, string> = { SUCCESS: 'green', POSITIVE: 'teal', UNCERTAIN: 'gray', NEGATIVE: 'orange', ERROR: 'red' };
export const titleCase = (s: string) => s.charAt(0) + s.slice(1).toLowerCase();

export const STRATEGY_TYPES = [
  { value: 'DATA_LOAD', label: 'Data Load' },
  { value: 'AGGREGATION', label: 'Aggregation' },
  { value: 'INTERMEDIATE_ANALYSIS', label: 'Contact answer intermediate analysis' },
] as const;
export const strategyTypeLabel = (t: string) => STRATEGY_TYPES.find((x) => x.value === t)?.label ?? t;

/** Saves bytes as a file the browser downloads. */
export function saveFile(name: string, data: BlobPart, type = 'application/octet-stream'): void {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
