import { createHash } from 'node:crypto';
import type { StageDefinition, StageVariant } from '@herald/campaign-model';
import type { ResolvedStage } from '../adapters/channel-adapter';

/**
 * The stage as a communication uses it. The scheduler picks the A/B variant
 * when it fires (the request is routed by the variant's channel) and writes
 * its label on CommunicationStarted; dispatch applies that variant's agent
 * and settings. A start without a label on a stage with variants (appended
 * before variants existed, or by an older scheduler) is resolved here with
 * the same weighted pick keyed by the communication id, among the variants
 * of the channel it arrived on, and `chosenHere` says the label must be
 * recorded (CommunicationUpdated).
 */
export function resolveStage(stage: StageDefinition, started: { communicationId: string; channel: string; agent: string | null; variant: string | null }): ResolvedStage & { chosenHere: boolean } {
  const variants = stage.variants ?? [];
  const own = { name: stage.name, channel: started.channel, agent: started.agent ?? stage.agent, settings: stage.settings, variant: null, chosenHere: false };
  if (!variants.length) return own;
  if (started.variant) {
    const v = variants.find((x) => x.label === started.variant);
    return v ? fromVariant(stage, v, started.agent, false) : own;
  }
  const sameChannel = variants.filter((v) => v.channel === started.channel);
  const picked = pickByWeight(sameChannel, started.communicationId);
  return picked ? fromVariant(stage, picked, started.agent, true) : own;
}

/** A weighted pick keyed by the communication id: a retry picks the same arm (the same function as the scheduler's). */
export function pickByWeight<V extends { weight: number }>(variants: readonly V[], communicationId: string): V | null {
  const usable = variants.filter((v) => Number.isFinite(v.weight) && v.weight > 0);
  if (!usable.length) return null;
  const total = usable.reduce((n, v) => n + v.weight, 0);
  const point = (createHash('sha1').update(communicationId).digest().readUInt32BE(0) / 2 ** 32) * total;
  let acc = 0;
  for (const v of usable) {
    acc += v.weight;
    if (point < acc) return v;
  }
  return usable[usable.length - 1];
}

function fromVariant(stage: StageDefinition, v: StageVariant, startedAgent: string | null, chosenHere: boolean): ResolvedStage & { chosenHere: boolean } {
  return { name: stage.name, channel: v.channel, agent: v.agent ?? startedAgent ?? stage.agent, settings: v.settings, variant: v.label, chosenHere };
}
