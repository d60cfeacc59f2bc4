import type { AnalysedSessionView, AnalysisResultsView, AnalysisSessionsPage, AnalysisStatusView, MetricAggregateView } from '@herald/contracts';
import { call, qs } from '../api';

export type { AnalysedSessionView, AnalysisResultsView, AnalysisSessionsPage, AnalysisStatusView, MetricAggregateView };

const a = (id: string) => `/api/campaigns/${encodeURIComponent(id)}/analytics`;

/** Deep analysis (docs/analytics.md): Status, Stop, Recalculate, Continue calculation, the aggregates and the per-session results. */
export const analysisApi = {
  status: (id: string) => call<AnalysisStatusView>('GET', `${a(id)}/status`),
  recalculate: (id: string) => call<AnalysisStatusView>('POST', `${a(id)}/recalculate`),
  continueCalculation: (id: string) => call<AnalysisStatusView>('POST', `${a(id)}/continue`),
  stop: (id: string) => call<AnalysisStatusView>('POST', `${a(id)}/stop`),
  results: (id: string) => call<AnalysisResultsView>('GET', `${a(id)}/results`),
  sessions: (id: string, after: string | null, limit = 50) => call<AnalysisSessionsPage>('GET', `${a(id)}/sessions${qs({ after, limit })}`),
};

/** The status as the YAML analytics dialog and the Deep Analysis page show it. */
export function statusLabel(s: AnalysisStatusView): { label: string; color: string } {
  const of = `${s.counts.done} of ${s.counts.total} session${s.counts.total === 1 ? '' : 's'}`;
  switch (s.state) {
    case 'none': return { label: 'No YAML', color: 'gray' };
    case 'idle': return { label: 'Not calculated yet', color: 'gray' };
    case 'running': return { label: `Progress · ${of}`, color: 'blue' };
    case 'stopped': return { label: `Stopped · ${of}`, color: 'orange' };
    case 'done': return { label: `Done · ${of}`, color: 'green' };
  }
}
