import type { JsonObject, StrategiesApi } from '@herald/contracts';

/**
 * What the strategies service answers for a campaign without a Data Load
 * strategy: every row as it is. Lets ingestion's durability be tested
 * without a Python worker pool in the same process.
 */
export const passthroughStrategies: StrategiesApi = {
  validate: async () => ({ ok: true, errors: [] }),
  runDataLoad: async (_ws, _campaign, items) => ({
    strategyVersion: null,
    results: items.map((i) => ({ ok: true as const, contact: i.contact as unknown as JsonObject, logs: [] })),
  }),
  // No Aggregation strategy: every simulated end is "no change".
  simulateAggregation: async (_ws, _campaign, items) => ({ strategyVersion: null, results: items.map(() => ({ ok: true as const, contact: null as unknown as JsonObject, logs: [] })) }),
};
