import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DomainError } from '@herald/contracts';
import { parseAnalytics } from './analytics';

const refused = (yaml: string, field: string, message: RegExp) =>
  assert.throws(() => parseAnalytics(yaml), (e: unknown) => e instanceof DomainError && e.code === 'invalid' && e.field === field && message.test(e.message));

describe('the YAML analytics format', () => {
  it("reads the documented example (docs/analytics.md) with every field", () => {
    const doc = readFileSync(join(__dirname, '../../../docs/analytics.md'), 'utf8');
    const example = /## Deep analysis[\s\S]*?```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(example, 'the example is in the document');
    const spec = parseAnalytics(example);
    assert.equal(spec.depthDays, 30);
    assert.equal(spec.model, 'gpt-4o-mini');
    assert.deepEqual(spec.metrics.map((m) => [m.code, m.type]), [['intent', 'enum'], ['satisfaction', 'scale'], ['interested', 'boolean'], ['promised_amount', 'number'], ['summary', 'text']]);
    const [intent, satisfaction, , amount, summary] = spec.metrics;
    assert.deepEqual(intent.values[0], { value: 'will_pay', description: 'promises to pay, with or without a date' });
    assert.deepEqual([satisfaction.min, satisfaction.max, satisfaction.integer, satisfaction.display.chart], [1, 5, true, 'bar']);
    assert.deepEqual([amount.min, amount.max, amount.integer, amount.display], [0, null, false, { chart: 'stat', unit: 'EUR' }]);
    assert.equal(summary.maxLength, 280);
    assert.deepEqual(spec.display.sessionColumns, ['intent', 'satisfaction', 'interested', 'summary']);
  });

  it('fills in defaults: depth 30, code from a name that is one, a scale of 1 to 5, charts by type', () => {
    const spec = parseAnalytics('metrics:\n  - name: satisfaction\n    question: How satisfied is the client?\n    type: scale\n');
    assert.equal(spec.depthDays, 30);
    assert.equal(spec.responseFormat, 'json_schema');
    assert.deepEqual([spec.metrics[0].code, spec.metrics[0].min, spec.metrics[0].max, spec.metrics[0].display.chart], ['satisfaction', 1, 5, 'bar']);
    assert.deepEqual(spec.display.order, ['satisfaction']);
  });

  it('refuses a broken file naming the field and its line', () => {
    refused('metrics: [unclosed\n', 'file', /^file: line \d/);
    refused('- a\n', 'file', /must be a mapping/);
    refused('depth: 0\nmetrics:\n  - {code: a, type: text, question: q}\n', 'depth', /whole number of days.*\(line 1\)/);
    refused('metrics: []\n', 'metrics', /at least one metric/);
    refused('metrics:\n  - code: a\n    question: q\n', 'metrics[0].type', /must be one of boolean, number, scale, enum, text/);
    refused('metrics:\n  - code: a\n    type: text\n', 'metrics[0].question', /required/);
    refused('metrics:\n  - code: 1a\n    type: text\n    question: q\n', 'metrics[0].code', /letters, digits/);
    refused('metrics:\n  - code: a\n    type: enum\n    question: q\n    values: [x]\n', 'metrics[0].values', /at least two values \(line 5\)/);
    refused('metrics:\n  - code: a\n    type: enum\n    question: q\n    values: [x, X]\n', 'metrics[0].values[1]', /listed twice/);
    refused('metrics:\n  - code: a\n    type: number\n    question: q\n    range: {min: 5, max: 1}\n', 'metrics[0].range.max', /greater than min \(5\) \(line 5\)/);
    refused('metrics:\n  - code: a\n    type: scale\n    question: q\n    range: {min: 1.5, max: 4}\n', 'metrics[0].range', /whole-number bounds/);
    refused('metrics:\n  - code: a\n    type: boolean\n    question: q\n    range: [1, 2]\n', 'metrics[0].range', /only for number and scale/);
    refused('metrics:\n  - code: a\n    type: text\n    question: q\n    colour: red\n', 'metrics[0].colour', /unknown field \(known: code, name/);
    refused('metrics:\n  - {code: a, type: text, question: q}\n  - {code: A, type: text, question: q}\n', 'metrics[1].code', /used by an earlier metric/);
    refused('metrics:\n  - {code: a, type: text, question: q, display: {chart: pie}}\n', 'metrics[0].display.chart', /bar, stat, list, none/);
    refused('display:\n  order: [b]\nmetrics:\n  - {code: a, type: text, question: q}\n', 'display.order[0]', /not a metric code of this file \(a\)/);
    refused('responseFormat: text\nmetrics:\n  - {code: a, type: text, question: q}\n', 'responseFormat', /json_schema or json_object/);
  });

  it("fingerprints what the model is asked: a new question changes it, a new name or chart does not", () => {
    const base = 'instructions: i\nmetrics:\n  - {code: a, name: A, type: boolean, question: q}\n';
    const print = (yaml: string) => parseAnalytics(yaml).metrics[0].fingerprint;
    assert.equal(print(base), print(base.replace('name: A', 'name: Renamed').replace('question: q}', 'question: q, display: {chart: none}}')));
    assert.notEqual(print(base), print(base.replace('question: q', 'question: q2')));
    assert.notEqual(print(base), print(base.replace('instructions: i', 'instructions: j')));
    assert.notEqual(print(base), print(base.replace('boolean', 'text')));
  });
});
