import type { CampaignLogEntry } from '@herald/service-defaults';
import type { StrategyLogLine, StrategyOutcome } from '../runtime/strategy-runner';
import type { CampaignStrategy } from '../campaign-strategies/campaign-strategies';

const LABELS: Record<CampaignStrategy['type'], string> = {
  DATA_LOAD: 'Data Load',
  AGGREGATION: 'Aggregation',
  INTERMEDIATE_ANALYSIS: 'Intermediate analysis',
};

export function levelOf(level: string): CampaignLogEntry['level'] {
  const l = level.toUpperCase();
  return l === 'ERROR' || l === 'CRITICAL' ? 'ERROR' : l === 'WARNING' || l === 'WARN' ? 'WARNING' : l === 'DEBUG' ? 'DEBUG' : 'INFO';
}

/**
 * Campaign log (Show Logs) entries for one strategy call: its own output
 * (capped per call by the worker), and on failure the error with the
 * strategy, its version, the contact and the traceback with line numbers.
 */
export function strategyLogEntries(
  where: { campaignId: string; workspaceId: string; contactKey: string | null },
  strategy: CampaignStrategy,
  outcome: { logs: readonly StrategyLogLine[] } & Partial<Pick<Extract<StrategyOutcome, { ok: false }>, 'error' | 'traceback'>>,
  details: Record<string, unknown> = {},
): CampaignLogEntry[] {
  const source = `strategy:${strategy.type}`;
  const about = { strategyId: strategy.id, strategyName: strategy.name, strategyVersion: strategy.version, ...details };
  const entries: CampaignLogEntry[] = outcome.logs.map((l) => ({ ...where, level: levelOf(l.level), source, message: l.message, details: about }));
  if (outcome.error !== undefined) {
    entries.push({
      ...where,
      level: 'ERROR',
      source,
      message: `${LABELS[strategy.type]} strategy "${strategy.name}" v${strategy.version} failed for contact ${where.contactKey ?? '(new)'}; the contact is unchanged: ${outcome.error}`,
      details: { ...about, error: outcome.error, traceback: outcome.traceback ?? '' },
    });
  }
  return entries;
}
