import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { INTEGRATION_CHANNELS, LLM_INTEGRATION_TYPES } from '@herald/campaign-model';
import { INTEGRATION_TYPES } from './integration-types';

// The campaigns service checks "the agent serves the stage's channel" with libs/campaign-model's table; dispatch sends with this one.
describe('integration types and the channels they serve', () => {
  it('are the same in dispatch and in the campaign model', () => {
    const here = Object.fromEntries(Object.entries(INTEGRATION_TYPES).map(([type, t]) => [type, [...t.channels].sort()]));
    const model = Object.fromEntries(Object.entries(INTEGRATION_CHANNELS).map(([type, channels]) => [type, [...channels].sort()]));
    assert.deepEqual(model, here);
    assert.deepEqual([...LLM_INTEGRATION_TYPES], Object.entries(INTEGRATION_TYPES).filter(([, t]) => 'model' in t.fields).map(([type]) => type), 'the language-model types are those with a model');
  });
});
