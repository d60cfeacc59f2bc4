import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';

const ROOT = join(__dirname, '..', '..');
const BASE = join(ROOT, 'deploy', 'k8s', 'base');

/** The base's objects, as kustomize would emit them before overlays (plain YAML files). */
function baseObjects(): any[] {
  return readdirSync(BASE).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .flatMap((f) => YAML.parseAllDocuments(readFileSync(join(BASE, f), 'utf8')).map((d) => d.toJS()));
}

function validate(objects: any[]): { code: number; output: string } {
  const file = join(mkdtempSync(join(tmpdir(), 'herald-k8s-')), 'all.yaml');
  writeFileSync(file, objects.map((o) => YAML.stringify(o)).join('---\n'));
  try {
    return { code: 0, output: execFileSync(process.execPath, [join(ROOT, 'tools', 'k8s', 'validate.mjs'), file], { encoding: 'utf8', stdio: 'pipe' }) };
  } catch (error) {
    const e = error as { status: number; stderr: string };
    return { code: e.status, output: e.stderr };
  }
}

const find = (objects: any[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);

describe('Kubernetes manifest validation (tools/k8s/validate.mjs)', () => {
  it('accepts the base manifests', () => {
    const r = validate(baseObjects());
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /objects valid/);
  });

  it('rejects schema errors and broken deployment rules, naming the object', () => {
    const objects = baseObjects();
    const dispatch = find(objects, 'Deployment', 'herald-dispatch');
    delete dispatch.spec.template.spec.containers[0].readinessProbe;
    dispatch.spec.template.spec.containers[0].resources.limits = { cpu: '1' };
    find(objects, 'HorizontalPodAutoscaler', 'herald-strategies').spec.maxReplicas = 'ten';
    find(objects, 'Deployment', 'herald-gateway').spec.template.spec.containers[0].env.push({ name: 'X', valueFrom: { secretKeyRef: { name: 'herald-credentials', key: 'NOPE' } } });
    find(objects, 'NetworkPolicy', 'herald-strategies').spec.egress.push({ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] });
    const withoutPdb = objects.filter((o) => !(o.kind === 'PodDisruptionBudget' && o.metadata.name === 'herald-scheduler'));
    const r = validate(withoutPdb.filter((o) => !(o.kind === 'HorizontalPodAutoscaler' && o.metadata.name === 'herald-ingestion')));
    assert.equal(r.code, 1);
    for (const expected of [
      'Deployment/herald-dispatch container dispatch: readinessProbe missing',
      'Deployment/herald-dispatch container dispatch: resources.limits.memory missing',
      'HorizontalPodAutoscaler/herald-strategies: data/spec/maxReplicas must be integer',
      'env X refers to secret herald-credentials key NOPE, which is not defined',
      'NetworkPolicy/herald-strategies: egress to 0.0.0.0/0 defeats the allowlist',
      'Deployment/herald-scheduler: no PodDisruptionBudget selects its pods',
      'HorizontalPodAutoscaler for herald-ingestion missing',
    ]) assert.ok(r.output.includes(expected), `${expected}\n--- in ---\n${r.output}`);
  });
});
