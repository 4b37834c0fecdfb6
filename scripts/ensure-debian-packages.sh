#!/usr/bin/env bash
# Installs the Debian packages the tests drive (scripts/debian-packages.txt) when any is missing.
# Runs as root on the CI machine; elsewhere it prints the apt-get line to run and fails, because
# a test that needs a peer that is missing must fail loudly, never skip.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
missing=()
while read -r pkg probe; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  if [[ "$probe" == /* ]]; then [[ -e "$probe" ]] && continue; else command -v "$probe" >/dev/null 2>&1 && continue; fi
  missing+=("$pkg")
done < "$here/debian-packages.txt"
[[ ${#missing[@]} -eq 0 ]] && exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "installing Debian packages the tests need: ${missing[*]}" >&2
if [[ $(id -u) -ne 0 ]]; then
  echo "not root: run  apt-get install -y ${missing[*]}  and try again" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q "${missing[@]}" >&2 || { apt-get update -q >&2 && apt-get install -y -q "${missing[@]}" >&2; }
