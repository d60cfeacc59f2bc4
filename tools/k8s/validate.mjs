// Validates rendered Kubernetes manifests (multi-document YAML on stdin or in
// the files named): every object against the Kubernetes API schemas shipped
// by the kubernetes-models package (generated from the Kubernetes OpenAPI
// spec), then Herald's own rules: probes and resources on every container,
// non-root pods, an HPA for dispatch/ingestion/strategies, a PDB per
// Deployment, the strategies NetworkPolicy, Secrets referenced exist,
// Services select pods, and the migration Job.
// Usage: node tools/k8s/validate.mjs <rendered.yaml>...   (exit 1 on any problem)
import { readFileSync } from 'node:fs';
import YAML from 'yaml';

const KINDS = {
  'v1/ConfigMap': 'v1/ConfigMap', 'v1/Secret': 'v1/Secret', 'v1/Service': 'v1/Service', 'v1/ServiceAccount': 'v1/ServiceAccount',
  'v1/Namespace': 'v1/Namespace', 'apps/v1/Deployment': 'apps/v1/Deployment', 'batch/v1/Job': 'batch/v1/Job',
  'policy/v1/PodDisruptionBudget': 'policy/v1/PodDisruptionBudget', 'autoscaling/v2/HorizontalPodAutoscaler': 'autoscaling/v2/HorizontalPodAutoscaler',
  'networking.k8s.io/v1/NetworkPolicy': 'networking.k8s.io/v1/NetworkPolicy',
};

export async function validateObjects(objects) {
  const problems = [];
  const where = (o) => `${o?.kind ?? '?'}/${o?.metadata?.name ?? '?'}`;
  for (const o of objects) {
    const path = KINDS[`${o?.apiVersion}/${o?.kind}`];
    if (!path) { problems.push(`${where(o)}: apiVersion ${o?.apiVersion} kind ${o?.kind} is not one Herald expects`); continue; }
    const mod = await import(`kubernetes-models/${path}`);
    const Model = mod[o.kind];
    try { new Model(o).validate(); } catch (e) { problems.push(`${where(o)}: ${e.message}`); }
  }
  const of = (kind) => objects.filter((o) => o?.kind === kind);
  const matches = (selector, labels) => Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
  const deployments = of('Deployment');
  const secrets = new Map(of('Secret').map((s) => [s.metadata.name, new Set([...Object.keys(s.data ?? {}), ...Object.keys(s.stringData ?? {})])]));
  const configMaps = new Set(of('ConfigMap').map((c) => c.metadata.name));

  const checkPod = (owner, spec) => {
    if (!(spec?.securityContext?.runAsNonRoot)) problems.push(`${owner}: pod must set securityContext.runAsNonRoot`);
    for (const c of spec?.containers ?? []) {
      const name = `${owner} container ${c.name}`;
      for (const k of ['cpu', 'memory']) {
        if (!c.resources?.requests?.[k]) problems.push(`${name}: resources.requests.${k} missing`);
        if (!c.resources?.limits?.[k]) problems.push(`${name}: resources.limits.${k} missing`);
      }
      if (c.securityContext?.allowPrivilegeEscalation !== false) problems.push(`${name}: securityContext.allowPrivilegeEscalation must be false`);
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref && !secrets.get(ref.name)?.has(ref.key)) problems.push(`${name}: env ${e.name} refers to secret ${ref.name} key ${ref.key}, which is not defined`);
      }
      for (const f of c.envFrom ?? []) if (f.configMapRef && !configMaps.has(f.configMapRef.name)) problems.push(`${name}: envFrom configMap ${f.configMapRef.name} is not defined`);
    }
  };
  for (const d of deployments) {
    const owner = where(d);
    const spec = d.spec?.template?.spec;
    checkPod(owner, spec);
    if (!matches(d.spec?.selector?.matchLabels, d.spec?.template?.metadata?.labels)) problems.push(`${owner}: selector does not match the pod labels`);
    for (const c of spec?.containers ?? []) {
      if (!c.readinessProbe) problems.push(`${owner} container ${c.name}: readinessProbe missing`);
      if (!c.livenessProbe) problems.push(`${owner} container ${c.name}: livenessProbe missing`);
      for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe].filter(Boolean)) {
        const port = probe.httpGet?.port;
        if (typeof port === 'string' && !(c.ports ?? []).some((p) => p.name === port)) problems.push(`${owner} container ${c.name}: probe port ${port} is not a named container port`);
      }
    }
    if (!of('PodDisruptionBudget').some((p) => matches(p.spec?.selector?.matchLabels, d.spec?.template?.metadata?.labels))) problems.push(`${owner}: no PodDisruptionBudget selects its pods`);
  }
  for (const component of ['dispatch', 'ingestion', 'strategies']) {
    const hpa = of('HorizontalPodAutoscaler').find((h) => h.spec?.scaleTargetRef?.name === `herald-${component}`);
    if (!hpa) problems.push(`HorizontalPodAutoscaler for herald-${component} missing`);
    else if (!deployments.some((d) => d.metadata.name === hpa.spec.scaleTargetRef.name)) problems.push(`${where(hpa)}: targets a Deployment that does not exist`);
  }
  for (const s of of('Service')) {
    if (!deployments.some((d) => matches(s.spec?.selector, d.spec?.template?.metadata?.labels))) problems.push(`${where(s)}: selects no Deployment's pods`);
  }
  const strategiesPolicies = of('NetworkPolicy').filter((p) => p.spec?.podSelector?.matchLabels?.['app.kubernetes.io/component'] === 'strategies');
  if (!strategiesPolicies.some((p) => (p.spec.policyTypes ?? []).includes('Egress') && (p.spec.policyTypes ?? []).includes('Ingress'))) {
    problems.push('NetworkPolicy restricting both ingress and egress of the strategies pods missing');
  }
  for (const p of strategiesPolicies) {
    for (const rule of p.spec.egress ?? []) {
      if (!rule.to?.length) problems.push(`${where(p)}: an egress rule without "to" allows every destination`);
      for (const peer of rule.to ?? []) if (peer.ipBlock?.cidr === '0.0.0.0/0' || peer.ipBlock?.cidr === '::/0') problems.push(`${where(p)}: egress to ${peer.ipBlock.cidr} defeats the allowlist`);
    }
  }
  const jobs = of('Job');
  if (!jobs.some((j) => j.metadata.name === 'herald-migrate')) problems.push('migration Job herald-migrate missing');
  for (const j of jobs) checkPod(where(j), j.spec?.template?.spec);
  return problems;
}

export function parseManifests(text) {
  return YAML.parseAllDocuments(text).map((d) => {
    if (d.errors.length) throw new Error(d.errors.map((e) => e.message).join('; '));
    return d.toJS();
  }).filter((o) => o !== null);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  let failed = false;
  for (const file of process.argv.slice(2)) {
    const objects = parseManifests(readFileSync(file, 'utf8'));
    const problems = await validateObjects(objects);
    if (problems.length) {
      failed = true;
      console.error(`${file}: ${problems.length} problem(s)\n  ${problems.join('\n  ')}`);
    } else {
      console.log(`${file}: ${objects.length} objects valid (${[...new Set(objects.map((o) => o.kind))].join(', ')})`);
    }
  }
  process.exit(failed ? 1 : 0);
}
