#!/usr/bin/env bash
# Tools the tests drive: headless Chromium (Debian package), Graphviz, mermaid.js (npm) for the
# rendering tests, Tellescope's own JavaScript SDK (npm, pinned) for tests/sandbox/test_sdk.py,
# and nginx (the TLS-terminating gRPC proxy of tests/test_temporal_tls.py) and openssl.
# Installed once; later runs find them and do nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
# promtool (Debian package prometheus): tests/docker/test_metrics_wiring.py checks the alert rules.
command -v promtool >/dev/null || missing+=(prometheus)
command -v chromium >/dev/null || missing+=(chromium)
command -v dot >/dev/null || missing+=(graphviz)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v openssl >/dev/null || missing+=(openssl)
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "note: not root, cannot install ${missing[*]}; the tests needing them will say they skipped" >&2
  fi
fi

if [ ! -f .cache/node/node_modules/mermaid/dist/mermaid.min.js ] && command -v npm >/dev/null; then
  npm install --prefix .cache/node --silent --no-audit --no-fund mermaid@11 >/dev/null
fi

# The exact SDK release tests/sandbox/test_sdk.py drives the sandbox with (bump deliberately).
TELLESCOPE_SDK_VERSION=1.174.0
sdk_package=.cache/node/node_modules/@tellescope/sdk/package.json
if ! grep -q "\"version\": \"$TELLESCOPE_SDK_VERSION\"" "$sdk_package" 2>/dev/null && command -v npm >/dev/null; then
  npm install --prefix .cache/node --silent --no-audit --no-fund --save-exact \
    "@tellescope/sdk@$TELLESCOPE_SDK_VERSION" >/dev/null
fi
