import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseAnalytics } from '@herald/campaign-model';
import { evaluationRequest, readEvaluation } from './session-evaluation';

const spec = parseAnalytics(`instructions: About an invoice.
metrics:
  - {code: ok, type: boolean, question: Did it go well?}
  - {code: score, type: scale, range: [1, 3], question: How well?}
  - {code: amount, type: number, range: {min: 0}, question: How much?}
  - {code: intent, type: enum, values: [{value: pay, description: will pay}, refuse], question: What next?}
  - {code: note, type: text, maxLength: 5, question: Summary?}
`);

describe('a session evaluation', () => {
  it('asks for exactly the metrics given, with a strict JSON schema and the transcript', () => {
    const r = evaluationRequest(spec, spec.metrics.slice(1, 4), [{ role: 'agent', content: 'Hi', createdAt: '' }, { role: 'contact', content: 'I pay', createdAt: '' }]);
    assert.deepEqual(r.messages[1], { role: 'user', content: 'agent: Hi\ncontact: I pay' });
    assert.match(r.messages[0].content, /About an invoice\./);
    assert.match(r.messages[0].content, /- "score" \(a whole number from 1 to 3\): How well\?\n- "amount" \(a number of at least 0\): How much\?\n- "intent" \(one of "pay" \(will pay\), "refuse"\): What next\?$/);
    const schema = (r.responseFormat as { json_schema: { strict: boolean; schema: { required: string[]; additionalProperties: boolean; properties: Record<string, unknown> } } }).json_schema;
    assert.equal(schema.strict, true);
    assert.deepEqual(schema.schema.required, ['score', 'amount', 'intent']);
    assert.equal(schema.schema.additionalProperties, false);
    assert.deepEqual(schema.schema.properties.intent, { type: ['string', 'null'], enum: ['pay', 'refuse', null], description: 'What next?' });
    const plain = evaluationRequest({ ...spec, responseFormat: 'json_object' }, spec.metrics, []);
    assert.deepEqual(plain.responseFormat, { type: 'json_object' });
  });

  it('checks each answer against its metric: a bad one is null with the reason, the others keep their values', () => {
    const read = (answer: unknown) => Object.fromEntries(readEvaluation(spec.metrics, `Sure:\n\`\`\`json\n${JSON.stringify(answer)}\n\`\`\``).map((r) => [r.code, [r.value, r.error]]));
    assert.deepEqual(read({ ok: 'yes', score: 3, amount: '12.5', intent: 'PAY', note: 'abcdefgh' }),
      { ok: [true, null], score: [3, null], amount: [12.5, null], intent: ['pay', null], note: ['abcde', null] });
    assert.deepEqual(read({ ok: 'maybe', score: 2.5, amount: -1, intent: 'later', note: 7 }), {
      ok: [null, '"maybe" is not true or false'], score: [null, '2.5 is not a whole number'], amount: [null, '-1 is outside the range 0 to ∞'],
      intent: [null, '"later" is not one of pay, refuse'], note: [null, '7 is not text'],
    });
    assert.deepEqual(read({ ok: null }).score, [null, 'missing from the answer']);
    assert.throws(() => readEvaluation(spec.metrics, 'I cannot tell.'), /not a JSON object/);
  });
});
