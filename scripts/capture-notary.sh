#!/usr/bin/env bash
# Captures real Notary metadata into fixtures/notary/<scenario>/ by driving the reference Debian
# programs: notary-server 0.7.0 on 127.0.0.1 (memory store, TLS from a throwaway openssl CA),
# the notary CLI and the docker CLI (no engine), and — for one scenario — notary-signer.
# Every version of every role the server stored is downloaded (N.<role>.json), plus the current
# files. Keys and times differ per run; the structure does not. See fixtures/README.md.
#
# Usage: bash scripts/capture-notary.sh [scenario...]     (default: all scenarios)
#        KEEP_WORK=1 bash scripts/capture-notary.sh      (keep the temp dir, for debugging)
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$ROOT/fixtures/notary
HELPERS=$ROOT/scripts/capture
ALL_SCENARIOS=(ecdsa-root delegation root-rotation rsa-root docker ecdsa-signer)
SCENARIOS=("${@:-${ALL_SCENARIOS[@]}}")

# Test-only passphrases, documented in fixtures/README.md (later tests re-sign with these keys).
ROOT_PASS=countersign-root
REPO_PASS=countersign-repo

PIDS=()
WORK=
log() { printf 'capture-notary: %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  if [[ -n $WORK ]]; then
    for f in "$WORK"/*.log; do
      [[ -s $f ]] && { log "--- last lines of $(basename "$f") ---"; tail -n 15 "$f" >&2; }
    done
  fi
  exit 1
}
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ -n $WORK && -z ${KEEP_WORK:-} ]]; then rm -rf "$WORK"; elif [[ -n $WORK ]]; then log "kept $WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'die "unexpected failure (exit $?) at line $LINENO: $BASH_COMMAND"' ERR

for s in "${SCENARIOS[@]}"; do
  [[ " ${ALL_SCENARIOS[*]} " == *" $s "* ]] || die "unknown scenario '$s' (known: ${ALL_SCENARIOS[*]})"
done
for tool in notary notary-server notary-signer docker openssl curl jq node sha256sum; do
  command -v "$tool" >/dev/null || die "'$tool' is not installed (Debian: apt-get install notary openssl curl jq; docker CLI 28)"
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/countersign-capture.XXXXXX")
# Isolate every tool from the user's ~/.notary, ~/.docker and any Docker engine.
export HOME=$WORK/home TZ=UTC DOCKER_HOST=unix://$WORK/no-engine.sock
unset DOCKER_CONTENT_TRUST DOCKER_CONTENT_TRUST_SERVER NOTARY_AUTH
mkdir -p "$HOME" "$WORK/out"
printf 'yes\n' >"$WORK/yes"

free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# ---------------------------------------------------------------------------------------------
# Throwaway PKI: an EC P-256 CA, a server certificate for 127.0.0.1 (also usable as the TLS client
# certificate notary-server shows notary-signer) and a certificate for notary-signer.
make_pki() {
  local d=$WORK/pki
  mkdir -p "$d"
  openssl ecparam -name prime256v1 -genkey -noout -out "$d/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$d/ca.key" -sha256 -days 30 -subj "/CN=Countersign capture CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$d/ca.crt" 2>/dev/null
  local name eku
  for name in server signer; do
    [[ $name == server ]] && eku=serverAuth,clientAuth || eku=serverAuth
    openssl ecparam -name prime256v1 -genkey -noout -out "$d/$name.sec1.key" 2>/dev/null
    openssl pkcs8 -topk8 -nocrypt -in "$d/$name.sec1.key" -out "$d/$name.key"
    printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=%s\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' \
      "$eku" >"$d/$name.ext"
    openssl req -new -key "$d/$name.key" -subj "/CN=notary-$name" -out "$d/$name.csr" 2>/dev/null
    openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 30 \
      -sha256 -extfile "$d/$name.ext" -out "$d/$name.crt" 2>/dev/null
  done
  CA=$d/ca.crt
}

# start_server <name> <trust_service JSON>: starts notary-server, sets PORT and BASE.
start_server() {
  local name=$1 trust=$2 cfg=$WORK/$1.json
  PORT=$(free_port)
  cat >"$cfg" <<EOF
{
  "server": { "http_addr": "127.0.0.1:$PORT", "tls_key_file": "$WORK/pki/server.key", "tls_cert_file": "$WORK/pki/server.crt" },
  "trust_service": $trust,
  "storage": { "backend": "memory" },
  "logging": { "level": "info" }
}
EOF
  notary-server -config "$cfg" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  BASE=https://127.0.0.1:$PORT
  wait_healthy "$name" $! "$BASE/_notary_server/health"
}

wait_healthy() {
  local name=$1 pid=$2 url=$3 i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || die "$name exited during start-up (see $name.log above)"
    [[ $(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" "$url" || true) == 200 ]] && return 0
    sleep 0.1
  done
  die "$name did not answer 200 on $url within 10 s"
}

start_signer() {
  local cfg=$WORK/notary-signer.json
  SIGNER_PORT=$(free_port)
  cat >"$cfg" <<EOF
{
  "server": { "grpc_addr": "127.0.0.1:$SIGNER_PORT", "tls_cert_file": "$WORK/pki/signer.crt",
              "tls_key_file": "$WORK/pki/signer.key", "client_ca_file": "$WORK/pki/ca.crt" },
  "storage": { "backend": "memory" },
  "logging": { "level": "info" }
}
EOF
  notary-signer -config "$cfg" >"$WORK/notary-signer.log" 2>&1 &
  PIDS+=($!)
  local pid=$! i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || die "notary-signer exited during start-up"
    (exec 3<>"/dev/tcp/127.0.0.1/$SIGNER_PORT") 2>/dev/null && return 0
    sleep 0.1
  done
  die "notary-signer did not listen on 127.0.0.1:$SIGNER_PORT within 10 s"
}

# ---------------------------------------------------------------------------------------------
# Per-scenario state: GUN, trust dir, output dir, step counter, manifest rows, versions seen.
begin_scenario() {
  SCEN=$1 GUN=$2
  SOUT=$WORK/out/$SCEN
  SWORK=$WORK/scen-$SCEN
  TRUST=$SWORK/trust
  mkdir -p "$SOUT/metadata" "$SOUT/private" "$SOUT/input" "$SOUT/payloads" "$SWORK" "$TRUST"
  printf '%s\n' "$GUN" >"$SOUT/gun.txt"
  cat >"$SWORK/notary.json" <<EOF
{ "trust_dir": "$TRUST", "remote_server": { "url": "$BASE", "root_ca": "$CA" } }
EOF
  STEP=0
  : >"$SWORK/files.tsv"
  : >"$SWORK/steps.tsv"
  : >"$SWORK/absent.tsv"
  unset LAST
  declare -gA LAST=()
  ROLES=(root targets snapshot timestamp)
  cd "$SOUT"
  log "scenario $SCEN ($GUN) on $BASE"
}

# The notary CLI, with this scenario's trust dir, server URL and CA; passphrases from the env.
nt() {
  NOTARY_ROOT_PASSPHRASE=$ROOT_PASS NOTARY_TARGETS_PASSPHRASE=$REPO_PASS \
    NOTARY_SNAPSHOT_PASSPHRASE=$REPO_PASS NOTARY_DELEGATION_PASSPHRASE=$REPO_PASS \
    notary -c "$SWORK/notary.json" -d "$TRUST" "$@"
}

# Shell-quotes only what needs it, so recorded commands stay readable.
show() {
  local a out=()
  for a in "$@"; do
    if [[ $a =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then out+=("$a"); else out+=("'${a//\'/\'\\\'\'}'"); fi
  done
  local s="${out[*]}"
  s=${s/#nt /notary }
  printf '%s' "$s"
}

# step <command...>: runs one CLI command (stdin from $STEP_STDIN or /dev/null), records it, then
# downloads every role version the server gained, attributing them to this command.
step() {
  STEP=$((STEP + 1))
  local shown
  shown=$(show "$@")
  printf '%s\t%s\n' "$STEP" "$shown" >>"$SWORK/steps.tsv"
  if ! "$@" <"${STEP_STDIN:-/dev/null}" >"$SWORK/step-$STEP.out" 2>&1; then
    cat "$SWORK/step-$STEP.out" >&2
    die "[$SCEN] step $STEP failed: $shown"
  fi
  sync_versions
  save_private_keys
}

# Keeps every key the trust dir ever held: the CLI deletes some (the local snapshot key after
# `key rotate snapshot -r`), and tests may want to re-sign old versions.
save_private_keys() {
  local k
  for k in "$TRUST"/private/*.key; do
    [[ -e $k && ! -e private/${k##*/} ]] && cp "$k" private/
  done
  return 0
}

# get <path under /v2/<gun>/_trust/tuf/> <dest>: prints the HTTP status.
get() {
  curl -sS --cacert "$CA" -o "$2" -w '%{http_code}' "$BASE/v2/$GUN/_trust/tuf/$1" ||
    die "[$SCEN] GET $1 failed (server down?)"
}

# Delegations appear in the snapshot meta once published; base roles are always probed.
known_roles() {
  local snap=$SWORK/current-snapshot.json st
  st=$(get snapshot.json "$snap")
  ROLES=(root targets snapshot timestamp)
  if [[ $st == 200 ]]; then
    mapfile -t -O 4 ROLES < <(jq -r '.signed.meta | keys[] | select(startswith("targets/"))' "$snap")
  fi
}

sync_versions() {
  known_roles
  local r st v n dest cur=$SWORK/current.json
  for r in "${ROLES[@]}"; do
    st=$(get "$r.json" "$cur")
    [[ $st == 404 ]] && continue
    [[ $st == 200 ]] || die "[$SCEN] GET $r.json answered $st"
    v=$(jq -e '.signed.version' "$cur") || die "[$SCEN] $r.json has no signed.version"
    ((v >= ${LAST[$r]:-0})) || die "[$SCEN] current $r went back from v${LAST[$r]} to v$v"
    # Probe every version up to the current one: the CLI skips some (init -p publishes targets v2).
    for ((n = ${LAST[$r]:-0} + 1; n <= v; n++)); do
      dest=metadata/$r.v$n.json
      mkdir -p "$(dirname "$dest")"
      st=$(get "$n.$r.json" "$dest")
      case $st in
        200) printf 'version\t%s\t%s\t%s\t%s\t%s\n' "$r" "$n" "$dest" "$n.$r.json" "$STEP" >>"$SWORK/files.tsv" ;;
        404) rm -f "$dest"; printf '%s\t%s\t%s\n' "$r" "$n" "$STEP" >>"$SWORK/absent.tsv" ;;
        *) die "[$SCEN] GET $n.$r.json answered $st" ;;
      esac
    done
    LAST[$r]=$v
  done
}

# Saves <role>.json (current) for every role, checks it is the newest version, the next version
# 404s, and writes capture.json.
end_scenario() {
  local r st v step meta=$SWORK/meta.json
  for r in "${!LAST[@]}"; do
    v=${LAST[$r]}
    st=$(get "$r.json" "metadata/$r.json")
    [[ $st == 200 ]] || die "[$SCEN] final GET $r.json answered $st"
    cmp -s "metadata/$r.json" "metadata/$r.v$v.json" ||
      die "[$SCEN] current $r.json differs from $v.$r.json (did something publish behind our back?)"
    st=$(get "$((v + 1)).$r.json" "$SWORK/next.json")
    [[ $st == 404 ]] || die "[$SCEN] $((v + 1)).$r.json answered $st, expected 404"
    step=$(awk -F'\t' -v r="$r" -v v="$v" '$1=="version" && $2==r && $3==v {print $6}' "$SWORK/files.tsv")
    printf 'current\t%s\t%s\t%s\t%s\t%s\n' "$r" "$v" "metadata/$r.json" "$r.json" "$step" >>"$SWORK/files.tsv"
  done
  sort -t $'\t' -k1,1r -k2,2 -k3,3n -o "$SWORK/files.tsv" "$SWORK/files.tsv"
  save_private_keys
  (cd "$TRUST/private" && ls -1 -- *.key) >"$SWORK/final-keys.txt"
  jq -n --arg scenario "$SCEN" --arg gun "$GUN" --arg description "$DESCRIPTION" \
    --arg server "$SERVER_DESC" --arg root "$ROOT_PASS" --arg repo "$REPO_PASS" \
    --argjson tools "$TOOLS" \
    '{scenario: $scenario, gun: $gun, description: $description, server: $server, tools: $tools,
      notaryInvocation: "notary -c <config: server URL and CA> -d <trust dir> <command>; passphrases from NOTARY_{ROOT,TARGETS,SNAPSHOT,DELEGATION}_PASSPHRASE",
      passphrases: {root: $root, repository: $repo}}' >"$meta"
  node "$HELPERS/manifest.mjs" "$SOUT" "$SWORK/files.tsv" "$SWORK/steps.tsv" "$SWORK/absent.tsv" "$meta" "$SWORK/final-keys.txt"
  rmdir --ignore-fail-on-non-empty input payloads
  cd "$WORK"
  log "scenario $SCEN: $(grep -c . "$SWORK/files.tsv") metadata files over $STEP commands"
}

# Openssl-made EC P-256 key + self-signed certificate (CA:FALSE), as `notary delegation add` takes.
make_ec_cert() {
  local name=$1 cn=$2
  openssl ecparam -name prime256v1 -genkey -noout -out "input/$name.key" 2>/dev/null
  openssl req -x509 -new -key "input/$name.key" -sha256 -days 3650 -subj "/CN=$cn" \
    -addext "basicConstraints=critical,CA:FALSE" -addext "keyUsage=critical,digitalSignature" \
    -out "input/$name.crt" 2>/dev/null
}

payload() { printf '%s\n' "$2" >"payloads/$1"; }

expect() { # expect <jq filter over a file> <file> <what>: dies unless the filter is true
  jq -e "$1" "$2" >/dev/null || die "[$SCEN] unexpected capture: $3 ($2)"
}

# ---------------------------------------------------------------------------------------------
scenario_ecdsa_root() {
  DESCRIPTION="notary init -p: ecdsa-x509 root, ecdsa targets, client-held snapshot; targets added (one named v2<&>, one non-ASCII, one with custom data); snapshot key rotated to the server (-r) so snapshot and timestamp are server-signed (ed25519); more targets published and one removed."
  begin_scenario ecdsa-root example.com/countersign/ecdsa-root
  payload v1.txt 'ecdsa-root v1'
  payload v2.txt 'ecdsa-root v2 <&>'
  payload v3.txt 'ecdsa-root v3'
  payload v4.txt 'ecdsa-root v4 with custom data'
  payload unicode.txt 'ecdsa-root unicode'
  # Keys sorted and no <>&: the client signs custom data as compacted raw JSON, so unsorted keys or
  # HTML characters there make the server's canonical re-encoding differ and reject the upload.
  printf '{"sbom": "https://example.com/sbom/v4.json", "tags": ["stable", "v4"]}' >payloads/v4-custom.json
  step nt init -p "$GUN"
  step nt add "$GUN" v1 payloads/v1.txt
  step nt add "$GUN" 'v2<&>' payloads/v2.txt
  step nt publish "$GUN"
  step nt key rotate "$GUN" snapshot -r
  step nt add -p "$GUN" v3 payloads/v3.txt
  step nt add -p "$GUN" 'ünïcødé-☃' payloads/unicode.txt
  step nt add -p "$GUN" v4 payloads/v4.txt --custom payloads/v4-custom.json
  step nt remove -p "$GUN" v1
  expect '.signed.keys[.signed.roles.root.keyids[0]].keytype == "ecdsa-x509"' metadata/root.v1.json 'root key is ecdsa-x509'
  expect '.signed.keys[.signed.roles.snapshot.keyids[0]].keytype == "ed25519"' "metadata/root.v${LAST[root]}.json" 'rotated snapshot key is the server'"'"'s ed25519'
  grep -q 'v2\\u003c\\u0026\\u003e' "metadata/targets.v${LAST[targets]}.json" || die "[$SCEN] target v2<&> is not stored HTML-escaped"
  capture_http
  sync_versions # the error requests above must not have changed anything
  end_scenario
}

# Reference HTTP exchanges (headers and body exactly as received) for our server's tests.
capture_http() {
  local h=http ts snap_sha mp targets=metadata/targets.v${LAST[targets]}.json
  mkdir -p "$h"
  jq -n '[]' >"$SWORK/http.json"
  ts=$SWORK/http-ts.json
  get timestamp.json "$ts" >/dev/null
  snap_sha=$(jq -r '.signed.meta.snapshot.hashes.sha256' "$ts" | base64 -d | od -An -tx1 -v | tr -d ' \n')
  http_get get-ping "/v2/"
  http_get get-health "/_notary_server/health"
  http_get get-current-timestamp "/v2/$GUN/_trust/tuf/timestamp.json"
  http_get get-current-targets "/v2/$GUN/_trust/tuf/targets.json"
  http_get get-current-root "/v2/$GUN/_trust/tuf/root.json"
  http_get get-by-checksum-snapshot "/v2/$GUN/_trust/tuf/snapshot.$snap_sha.json"
  http_get get-by-version-root "/v2/$GUN/_trust/tuf/1.root.json"
  http_get get-timestamp-key "/v2/$GUN/_trust/tuf/timestamp.key"
  http_get get-snapshot-key "/v2/$GUN/_trust/tuf/snapshot.key"
  http_get get-404-version "/v2/$GUN/_trust/tuf/$((LAST[targets] + 1)).targets.json"
  http_get get-404-unknown-gun "/v2/example.com/countersign/nothing-here/_trust/tuf/root.json"
  http_get get-404-delegation "/v2/$GUN/_trust/tuf/targets/nobody.json"

  # Uploads that must fail. Bodies are built by hand so the request bytes are reference data too.
  mp=0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab
  multipart() { # multipart <out> (<filename> <file>)...
    local out=$1
    shift
    : >"$out"
    while (($#)); do
      printf -- '--%s\r\nContent-Disposition: form-data; name="files"; filename="%s"\r\nContent-Type: application/octet-stream\r\n\r\n' \
        "$mp" "$1" >>"$out"
      cat "$2" >>"$out"
      printf '\r\n' >>"$out"
      shift 2
    done
    printf -- '--%s--\r\n' "$mp" >>"$out"
  }
  printf 'this is not JSON' >"$SWORK/garbage"
  multipart "$h/post-garbage-part.request" targets "$SWORK/garbage"
  http_post post-garbage-part "$h/post-garbage-part.request" "multipart/form-data; boundary=$mp"
  multipart "$h/post-invalid-role.request" foo "$targets"
  http_post post-invalid-role "$h/post-invalid-role.request" "multipart/form-data; boundary=$mp"
  printf '{"signed":{}}' >"$h/post-not-multipart.request"
  http_post post-not-multipart "$h/post-not-multipart.request" "application/json"
  # The current targets again: passes validation, then the storage refuses the same version.
  multipart "$h/post-stale-version.request" targets "$targets"
  http_post post-stale-version "$h/post-stale-version.request" "multipart/form-data; boundary=$mp"
  # The current targets with its version bumped: the signature no longer verifies.
  node -e 'const f=require("fs");const d=JSON.parse(f.readFileSync(process.argv[1]));d.signed.version++;f.writeFileSync(process.argv[2],JSON.stringify(d))' \
    "$targets" "$SWORK/bumped-targets.json"
  multipart "$h/post-bad-signature.request" targets "$SWORK/bumped-targets.json"
  http_post post-bad-signature "$h/post-bad-signature.request" "multipart/form-data; boundary=$mp"
  jq . "$SWORK/http.json" >"$h/index.json"
}

http_record() { # http_record <name> <method> <path> <request-content-type or ""> <request file or "">
  local status
  status=$(head -n 1 "http/$1.headers" | awk '{print $2}')
  jq --arg name "$1" --arg method "$2" --arg path "$3" --arg ct "$4" --arg req "$5" --argjson status "$status" \
    '. + [{name: $name, method: $method, path: $path, status: $status,
           requestContentType: (if $ct == "" then null else $ct end),
           requestBody: (if $req == "" then null else $req end),
           responseHeaders: ("http/" + $name + ".headers"), responseBody: ("http/" + $name + ".body")}]' \
    "$SWORK/http.json" >"$SWORK/http.tmp" && mv "$SWORK/http.tmp" "$SWORK/http.json"
}

http_get() {
  curl -sS --http1.1 --cacert "$CA" -D "http/$1.headers" -o "http/$1.body" "$BASE$2" ||
    die "[$SCEN] GET $2 failed"
  http_record "$1" GET "$2" "" ""
}

http_post() {
  curl -sS --http1.1 --cacert "$CA" -D "http/$1.headers" -o "http/$1.body" -H "Content-Type: $3" \
    --data-binary "@$2" "$BASE/v2/$GUN/_trust/tuf/" || die "[$SCEN] POST ($1) failed"
  http_record "$1" POST "/v2/$GUN/_trust/tuf/" "$3" "$2"
  local status
  status=$(head -n 1 "http/$1.headers" | awk '{print $2}')
  [[ $status == 4* ]] || die "[$SCEN] bad upload $1 answered $status, expected a 4xx"
}

scenario_delegation() {
  DESCRIPTION="Delegations whose keys are openssl-made x509 certificates (ecdsa-x509): targets/releases (v1, v2) and targets/alice (alice-only), plus top-level targets v1 and top-only. Docker resolves a tag in targets/releases first, then targets, and ignores targets/alice: v1 must resolve to the releases hash, top-only to targets, alice-only to nothing."
  begin_scenario delegation example.com/countersign/delegation
  make_ec_cert releases releases
  make_ec_cert alice alice
  payload top-v1.txt 'delegation: v1 as signed into targets'
  payload top-only.txt 'delegation: top-only'
  payload releases-v1.txt 'delegation: v1 as signed into targets/releases'
  payload releases-v2.txt 'delegation: v2 as signed into targets/releases'
  payload alice-only.txt 'delegation: alice-only'
  step nt init -p "$GUN"
  step nt delegation add -p "$GUN" targets/releases input/releases.crt --all-paths
  step nt key import input/releases.key -r targets/releases
  step nt delegation add -p "$GUN" targets/alice input/alice.crt --all-paths
  step nt key import input/alice.key -r targets/alice
  step nt add "$GUN" v1 payloads/top-v1.txt
  step nt add "$GUN" top-only payloads/top-only.txt
  step nt publish "$GUN"
  step nt add "$GUN" v1 payloads/releases-v1.txt -r targets/releases
  step nt add "$GUN" v2 payloads/releases-v2.txt -r targets/releases
  step nt publish "$GUN"
  step nt add -p "$GUN" alice-only payloads/alice-only.txt -r targets/alice
  [[ -n ${LAST[targets/releases]:-} && -n ${LAST[targets/alice]:-} ]] || die "[$SCEN] delegation files were not published"
  expect '[.signed.delegations.keys[].keytype] | all(. == "ecdsa-x509")' "metadata/targets.v${LAST[targets]}.json" 'delegation keys are ecdsa-x509'
  end_scenario
}

scenario_root_rotation() {
  DESCRIPTION="Root key rotated twice (notary key rotate <gun> root): root v1, v2, v3, each rotated root signed by the old and the new root key. The client ran with TZ=Asia/Kolkata, so client-signed expiries carry +05:30 while the server's stay in Z."
  begin_scenario root-rotation example.com/countersign/root-rotation
  payload v1.txt 'root-rotation v1'
  payload v2.txt 'root-rotation v2'
  export TZ=Asia/Kolkata
  step nt init -p "$GUN"
  step nt add -p "$GUN" v1 payloads/v1.txt
  STEP_STDIN=$WORK/yes step nt key rotate "$GUN" root
  STEP_STDIN=$WORK/yes step nt key rotate "$GUN" root
  step nt add -p "$GUN" v2 payloads/v2.txt
  export TZ=UTC
  ((LAST[root] == 3)) || die "[$SCEN] expected root v3 after two rotations, got v${LAST[root]}"
  expect '.signatures | length == 2' metadata/root.v2.json 'root v2 carries old and new signatures'
  expect '.signatures | length == 2' metadata/root.v3.json 'root v3 carries old and new signatures'
  expect '.signed.expires | endswith("+05:30")' metadata/root.v3.json 'client expiry in the client zone'
  end_scenario
}

scenario_rsa_root() {
  DESCRIPTION="notary init --rootkey/--rootcert with an openssl-made RSA 3072 root key (PKCS#8 encrypted with PBES2, aes-256-cbc, hmacWithSHA1; passphrase = the root passphrase) and a self-signed SHA-256 certificate with CN = the GUN and no basicConstraints extension: the root key is rsa-x509 and root signatures use rsapss."
  begin_scenario rsa-root example.com/countersign/rsa-root
  payload v1.txt 'rsa-root v1'
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$SWORK/rsa.plain.key" 2>/dev/null
  openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA1 -in "$SWORK/rsa.plain.key" \
    -out input/root-key.pkcs8.pem -passout "pass:$ROOT_PASS"
  printf '[req]\ndistinguished_name=dn\nprompt=no\n[dn]\nCN=%s\n[leaf]\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=codeSigning\n' \
    "$GUN" >"$SWORK/rsa-req.cnf"
  openssl req -x509 -new -key "$SWORK/rsa.plain.key" -sha256 -days 3650 -config "$SWORK/rsa-req.cnf" \
    -extensions leaf -out input/root-cert.pem
  openssl x509 -in input/root-cert.pem -noout -text | grep -q 'Basic Constraints' &&
    die "[$SCEN] the RSA root certificate must not carry basicConstraints"
  step nt init -p "$GUN" --rootkey input/root-key.pkcs8.pem --rootcert input/root-cert.pem
  step nt add -p "$GUN" v1 payloads/v1.txt
  expect '.signed.keys[.signed.roles.root.keyids[0]].keytype == "rsa-x509"' metadata/root.v1.json 'root key is rsa-x509'
  expect '[.signatures[].method] == ["rsapss"]' metadata/root.v1.json 'root signature method is rsapss'
  end_scenario
}

scenario_docker() {
  DESCRIPTION="Made the way docker makes a repository (docker CLI, no engine): docker trust key generate releaser; docker trust signer add on a new repository (server-held snapshot key, one POST of root+targets, roles targets/releaser and targets/releases in targets.json); then the tag latest signed into targets/releases by the notary CLI on docker's trust dir (sha256 only, like docker), and docker trust sign re-signing it into every signable delegation."
  begin_scenario docker docker.io/acme/app
  local dcfg=$SWORK/docker-config
  mkdir -p "$dcfg/tls/127.0.0.1:$PORT"
  cp "$CA" "$dcfg/tls/127.0.0.1:$PORT/ca.crt"
  TRUST=$dcfg/trust # the notary CLI works on docker's trust dir
  export DOCKER_CONFIG=$dcfg DOCKER_CONTENT_TRUST_SERVER=$BASE \
    DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE=$ROOT_PASS DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE=$REPO_PASS
  # A stand-in image manifest: the target is its digest and size, as docker push would sign.
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%064d","size":2},"layers":[]}' 0 \
    >payloads/manifest.json
  local digest size
  digest=$(sha256sum payloads/manifest.json | cut -c1-64)
  size=$(stat -c %s payloads/manifest.json)
  step docker trust key generate releaser --dir input
  step docker trust signer add --key input/releaser.pub releaser "$GUN"
  step nt addhash -p "$GUN" latest "$size" --sha256 "$digest" -r targets/releases
  step docker trust sign "$GUN:latest"
  docker trust inspect "$GUN" >docker-trust-inspect.json 2>"$SWORK/inspect.err" ||
    die "[$SCEN] docker trust inspect failed: $(cat "$SWORK/inspect.err")"
  unset DOCKER_CONFIG DOCKER_CONTENT_TRUST_SERVER DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE
  expect '.signed.keys[.signed.roles.snapshot.keyids[0]].keytype == "ed25519"' metadata/root.v1.json 'docker init used a server-held snapshot key'
  expect '.[0].SignedTags[0].Digest == "'"$digest"'"' docker-trust-inspect.json 'docker sees the signed tag'
  end_scenario
}

scenario_ecdsa_signer() {
  DESCRIPTION="As ecdsa-root, but notary-server uses notary-signer (trust_service remote, key_algorithm ecdsa, mutual TLS gRPC, memory storage): the server-held timestamp and snapshot keys are ecdsa (method ecdsa) instead of ed25519."
  begin_scenario ecdsa-signer example.com/countersign/ecdsa-signer
  payload v1.txt 'ecdsa-signer v1'
  payload v2.txt 'ecdsa-signer v2'
  payload v3.txt 'ecdsa-signer v3'
  step nt init -p "$GUN"
  step nt add -p "$GUN" v1 payloads/v1.txt
  step nt key rotate "$GUN" snapshot -r
  step nt add -p "$GUN" v2 payloads/v2.txt
  step nt add -p "$GUN" v3 payloads/v3.txt
  step nt remove -p "$GUN" v1
  local root=metadata/root.v${LAST[root]}.json
  expect '.signed.keys[.signed.roles.timestamp.keyids[0]].keytype == "ecdsa"' "$root" 'signer timestamp key is ecdsa'
  expect '.signed.keys[.signed.roles.snapshot.keyids[0]].keytype == "ecdsa"' "$root" 'signer snapshot key is ecdsa'
  expect '[.signatures[].method] == ["ecdsa"]' "metadata/timestamp.v${LAST[timestamp]}.json" 'timestamp signed with ecdsa'
  end_scenario
}

# ---------------------------------------------------------------------------------------------
TOOLS=$(jq -n --arg notary "$(dpkg-query -W -f='${Version}' notary 2>/dev/null || echo unknown)" \
  --arg docker "$(docker --version)" --arg openssl "$(openssl version)" \
  '{notaryDebianPackage: $notary, docker: $docker, openssl: $openssl}')
make_pki
started_local=
for s in "${SCENARIOS[@]}"; do
  if [[ $s == ecdsa-signer ]]; then
    start_signer
    start_server notary-server-remote "{ \"type\": \"remote\", \"hostname\": \"127.0.0.1\", \"port\": \"$SIGNER_PORT\", \"key_algorithm\": \"ecdsa\", \"tls_ca_file\": \"$WORK/pki/ca.crt\", \"tls_client_cert\": \"$WORK/pki/server.crt\", \"tls_client_key\": \"$WORK/pki/server.key\" }"
    SERVER_DESC="notary-server (Debian notary package) with notary-signer over mutual-TLS gRPC, key_algorithm ecdsa, memory storage for both"
  elif [[ -z $started_local ]]; then
    start_server notary-server '{ "type": "local", "key_algorithm": "ecdsa" }'
    started_local=$BASE
    SERVER_DESC="notary-server (Debian notary package), trust_service local (always ed25519), memory storage"
  else
    BASE=$started_local PORT=${BASE##*:}
    SERVER_DESC="notary-server (Debian notary package), trust_service local (always ed25519), memory storage"
  fi
  "scenario_${s//-/_}"
done

# Only now replace the committed fixtures, so a failed run leaves them untouched.
mkdir -p "$OUT"
for s in "${SCENARIOS[@]}"; do
  rm -rf "${OUT:?}/$s"
  cp -r "$WORK/out/$s" "$OUT/$s"
done
log "done: ${SCENARIOS[*]} → $OUT"
