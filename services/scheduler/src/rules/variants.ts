import { createHash } from 'node:crypto';
import type { StageDefinition } from '@herald/campaign-model';

export interface ChosenChannel {
  readonly channel: string;
  readonly agent: string | null;
  readonly variant: string | null;
}

/**
 * The channel a communication starts on. With A/B variants the choice is
 * made here, once, because the dispatch request is routed by channel; it is
 * a weighted pick keyed by the communication id, so a retried or simulated
 * firing always picks the same arm. The label goes on the communication.
 */
export function chooseChannel(stage: StageDefinition, communicationId: string): ChosenChannel {
  const variants = (stage.variants ?? []).filter((v) => Number.isFinite(v.weight) && v.weight > 0);
  if (!variants.length) return { channel: stage.channel, agent: stage.agent, variant: null };
  const total = variants.reduce((n, v) => n + v.weight, 0);
  const point = (createHash('sha1').update(communicationId).digest().readUInt32BE(0) / 2 ** 32) * total;
  let acc = 0;
  for (const v of variants) {
    acc += v.weight;
    if (point < acc) return { channel: v.channel, agent: v.agent, variant: v.label };
  }
  const last = variants[variants.length - 1];
  return { channel: last.channel, agent: last.agent, variant: last.label };
}
