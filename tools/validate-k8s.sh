#!/usr/bin/env bash
# Renders every overlay of deploy/k8s with kustomize (built into kubectl >= 1.21)
# and validates the result against the Kubernetes API schemas and Herald's
# deployment rules (tools/k8s/validate.mjs). CI runs it before the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v kubectl >/dev/null 2>&1; then
  echo "validate-k8s: kubectl (>= 1.21, for 'kubectl kustomize') is required; e.g. apt-get install -y kubectl from the Kubernetes apt repository, or the Google Cloud SDK's" >&2
  exit 1
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
rendered=()
for overlay in deploy/k8s/overlays/*/; do
  name="$(basename "$overlay")"
  kubectl kustomize "$overlay" > "$out/$name.yaml" 2> "$out/$name.err" || { cat "$out/$name.err" >&2; exit 1; }
  # kustomize warns on stderr about deprecated fields: treat any warning as a failure, they become errors later.
  if grep -qi warning "$out/$name.err"; then cat "$out/$name.err" >&2; exit 1; fi
  rendered+=("$out/$name.yaml")
done
node tools/k8s/validate.mjs "${rendered[@]}"
