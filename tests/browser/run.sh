#!/usr/bin/env bash
# run.sh - the `browser` test: checks its prerequisites (each missing one
# FAILS the test, named), installs playwright-core from package-lock.json
# with `npm ci` when node_modules is missing (no browser download: the test
# drives Debian's /usr/bin/chromium), then runs dashboard.test.mjs.
#   tests/browser/run.sh SERVER_BIN_DIR SIM_BIN_DIR OUT_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 3 ] || { echo "usage: $0 SERVER_BIN_DIR SIM_BIN_DIR OUT_DIR" >&2; exit 2; }
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
missing=()
command -v node >/dev/null || missing+=("node (Debian package nodejs)")
command -v npm >/dev/null || missing+=("npm (Debian package npm)")
[ -x "$CHROMIUM" ] || missing+=("$CHROMIUM (Debian package chromium)")
if [ ${#missing[@]} -ne 0 ]; then
  echo "browser test: FAILED: missing ${missing[*]}; scripts/bootstrap installs them" >&2
  exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 18 ]; then
  echo "browser test: FAILED: node $(node --version) is older than 18 (playwright-core needs 18)" >&2
  exit 1
fi
if [ ! -f "$here/node_modules/playwright-core/package.json" ]; then
  echo "browser test: npm ci (playwright-core, from package-lock.json) in $here"
  # one install at a time (the plain and asan builds share this folder)
  if ! PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 flock "$here/package.json" \
       npm ci --prefix "$here" --no-audit --no-fund; then
    echo "browser test: FAILED: playwright-core is missing and npm ci could not install it" >&2
    exit 1
  fi
fi
exec node "$here/dashboard.test.mjs" "$@"
