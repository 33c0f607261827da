#!/usr/bin/env bash
# Runs two KSeF clients we did not write through the whole KSeF 2.0 flow against `ksef-gateway emulator`:
# PyPI ksef-client 0.20.0 (driven by ../shared/conformance/peer_flow.py in several variants, through batch
# sessions by scripts/peer_batch.py, through XAdES certificate login, certificates, tokens and test data by
# scripts/peer_xades.py, and through the Latarnia by scripts/peer_lighthouse.py) and, where a Python >= 3.12 exists, the stricter ksef2 1.1.0 (driven by
# scripts/peer_ksef2.py, and with XAdES login by scripts/peer_ksef2_xades.py).
#
#   bash scripts/conformance.sh            (from the repository root; needs ../shared and PyPI)
#
# Without ../shared it skips, except under CI=true, where it fails.
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${KSEF_SHARED_DIR:-../shared}"
if [ ! -f "$shared/conformance/peer_flow.py" ]; then
  if [ "${CI:-}" = "true" ]; then echo "conformance: FAIL: $shared/conformance is missing" >&2; exit 1; fi
  echo "conformance: SKIP: $shared/conformance is missing (it ships beside the repository in CI)"
  exit 0
fi
# The drivers date their invoices with the machine's local date, as a client in Poland would with its own: on a
# UTC machine between 23:00 and 24:00 UTC that date is already yesterday in Poland, and an invoice issued
# "yesterday" falls outside a search from a few minutes ago by issue date.
export TZ=Europe/Warsaw
target="${CARGO_TARGET_DIR:-target}"
cargo build --quiet --bin ksef-gateway
bin="$target/debug/ksef-gateway"

venv="$target/peerclients"
bash "$shared/conformance/setup.sh" "$venv" >/dev/null

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# ksef-client refuses pre-signed URLs on loopback, so the emulator hands them out under a DNS name that the
# driver maps back to 127.0.0.1 (--resolve).
"$bin" emulator --listen "127.0.0.1:$port" --data-dir "$work/emulator" \
  --public-url "http://storage.ksef-emu.test:{port}" >"$work/emulator.out" 2>"$work/emulator.log" &
emulator_pid=$!
trap 'kill $emulator_pid 2>/dev/null || true; wait $emulator_pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do [ -f "$work/emulator/demo-token.json" ] && break; sleep 0.1; done
token=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$work/emulator/demo-token.json")
nip=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["nip"])' "$work/emulator/demo-token.json")

run() {
  echo "conformance: peer_flow.py $*"
  "$venv/bin/python" "$shared/conformance/peer_flow.py" --base-url "http://127.0.0.1:$port" --nip "$nip" \
    --token "$token" --resolve storage.ksef-emu.test=127.0.0.1 "$@"
}
status=0
run || status=1
run --skip-xsd --compression TarGz --date-type Invoicing || status=1
run --skip-xsd --compression Zip --date-type Issue || status=1
# Batch sessions through the same client: a multi-part ZIP with one bad invoice, then one tar.gz part.
batch() {
  echo "conformance: peer_batch.py $*"
  "$venv/bin/python" scripts/peer_batch.py --base-url "http://127.0.0.1:$port" --nip "$nip" --token "$token" \
    --resolve storage.ksef-emu.test=127.0.0.1 "$@"
}
batch || status=1
batch --compression TarGz --part-size library --invoices 5 || status=1
# The Latarnia (KSeF's announced maintenance and failures) through the same client's own Latarnia client.
echo "conformance: peer_lighthouse.py"
"$venv/bin/python" scripts/peer_lighthouse.py --base-url "http://127.0.0.1:$port" || status=1
# XAdES (certificate) login through the same client: self-signed seals for $nip, RSA and EC; its signer needs
# python-xmlsec (the library's "xml" extra).
"$venv/bin/python" -m pip install -q --disable-pip-version-check "ksef-client[xml]==0.20.0"
xades() {
  echo "conformance: peer_xades.py $*"
  "$venv/bin/python" scripts/peer_xades.py --base-url "http://127.0.0.1:$port" --nip "$nip" \
    --resolve storage.ksef-emu.test=127.0.0.1 "$@"
}
xades --key rsa || status=1
xades --key ec --schema 2.0 --verify-chain false || status=1
# ksef2 needs Python >= 3.12; the machine's default python3 may be older, pyenv may have a newer one.
py312=""
for candidate in python3.13 python3.12 /root/.pyenv/versions/3.1[2-9]*/bin/python3; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then
    py312=$(command -v "$candidate"); break
  fi
done
if [ -n "$py312" ]; then
  venv2="$target/peerclients-ksef2"
  [ -x "$venv2/bin/python" ] || "$py312" -m venv "$venv2"
  "$venv2/bin/python" -m pip install -q --disable-pip-version-check "ksef2==1.1.0"
  for variant in "" "--compression TarGz --date-type Invoicing"; do
    echo "conformance: peer_ksef2.py $variant"
    # shellcheck disable=SC2086
    "$venv2/bin/python" scripts/peer_ksef2.py --base-url "http://127.0.0.1:$port" --nip "$nip" --token "$token" \
      --resolve storage.ksef-emu.test=127.0.0.1 $variant || status=1
  done
  for variant in "--key rsa" "--key ec"; do
    echo "conformance: peer_ksef2_xades.py $variant"
    # shellcheck disable=SC2086
    "$venv2/bin/python" scripts/peer_ksef2_xades.py --base-url "http://127.0.0.1:$port" --nip "$nip" \
      --resolve storage.ksef-emu.test=127.0.0.1 $variant || status=1
  done
else
  echo "conformance: SKIP ksef2: no Python >= 3.12 on this machine"
fi

if [ $status -ne 0 ]; then
  echo "conformance: FAIL; emulator log follows" >&2
  tail -n 50 "$work/emulator.log" >&2
fi
exit $status
