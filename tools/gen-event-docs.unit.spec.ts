import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DOC_PATH, JSON_PATH, buildCatalogue, renderDoc } from './gen-event-docs';

describe('docs/consuming-events.md', () => {
  const { markdown, catalogue } = renderDoc();

  it('is up to date with the event contracts (regenerate: npm run docs:events)', () => {
    assert.equal(readFileSync(DOC_PATH, 'utf8'), markdown, 'docs/consuming-events.md is stale: run npm run docs:events');
    assert.equal(readFileSync(JSON_PATH, 'utf8'), catalogue, 'docs/events/catalogue.json is stale: run npm run docs:events');
  });

  it('lists every event type of both streams with the schema of its data', () => {
    const { events } = buildCatalogue();
    const types = events.map((e) => e.type);
    for (const t of ['ContactCreated', 'CommunicationStarted', 'CommunicationEnded', 'SessionMessageAdded', 'CampaignCreated', 'CampaignStarted', 'ContactsUploadCompleted']) {
      assert.ok(types.includes(t), t);
      assert.match(markdown, new RegExp(`### ${t}\\n`));
    }
    assert.equal(new Set(types).size, types.length);
    const started = events.find((e) => e.type === 'CommunicationStarted')!;
    assert.deepEqual([...started.data.required].sort(), ['agent', 'campaignId', 'channel', 'communicationId', 'contactKey', 'sessionId', 'stageName', 'startedAt', 'variant']);
    assert.equal(JSON.parse(catalogue).events.ContactOutcomeSet.data.properties.outcome.$ref, '#/definitions/Outcome');
  });
});
