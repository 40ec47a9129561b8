#!/usr/bin/env bash
# Tools the rendering tests drive: headless Chromium (Debian package), Graphviz, and mermaid.js
# (npm). Installed once; later runs find them and do nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v dot >/dev/null || missing+=(graphviz)
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "note: not root, cannot install ${missing[*]}; the rendering tests will say they skipped" >&2
  fi
fi

if [ ! -f .cache/node/node_modules/mermaid/dist/mermaid.min.js ] && command -v npm >/dev/null; then
  npm install --prefix .cache/node --silent --no-audit --no-fund mermaid@11 >/dev/null
fi
