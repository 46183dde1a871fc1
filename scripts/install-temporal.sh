#!/usr/bin/env bash
# Installs the Temporal CLI (the real Temporal server with SQLite and the Web UI: `temporal server start-dev`)
# at a pinned version, built from source with Go, and prints the binary's path as its last line.
#
#   scripts/install-temporal.sh            # builds once; later runs find the binary and build nothing
#   VIGIL_TEMPORAL_HOME=/opt/vigil scripts/install-temporal.sh
#
# Why a source build: the prebuilt downloads (temporal.download, the SDK's own fetch) are not reachable on every
# machine, while the Go module proxy is. v1.5.1 (Temporal server v1.29.1) is the newest release that `go install`
# accepts: later go.mod files carry a `replace` directive, which `go install` refuses.
# Without Go, install the CLI your usual way (https://docs.temporal.io/cli, `brew install temporal`) and put it
# on PATH, or set VIGIL_TEMPORAL_CLI to its path: Vigil's scripts take it from there.
set -euo pipefail

VERSION="1.5.1"
# A `go install` build has no release stamp (it says "temporal version 0.0.0-DEV"), so the server version inside
# it identifies the build: CLI 1.5.1 carries server 1.29.1.
SERVER_VERSION="1.29.1"
HOME_DIR="${VIGIL_TEMPORAL_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/vigil/temporal-cli}"
BIN_DIR="$HOME_DIR/v$VERSION"
BIN="$BIN_DIR/temporal"

say() { echo "install-temporal: $*" >&2; }

if [[ -x "$BIN" ]] && "$BIN" --version 2>/dev/null | grep -q "Server $SERVER_VERSION"; then
  say "Temporal CLI $VERSION is already installed"
  echo "$BIN"
  exit 0
fi

# Go's own installer puts it in /usr/local/go/bin, which not every shell has on PATH.
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
  PATH="/usr/local/go/bin:$PATH"
fi
if ! command -v go >/dev/null 2>&1; then
  say "Go is not installed, so the Temporal CLI cannot be built here."
  say "Install Go 1.24 or newer (https://go.dev/dl) and run this again, or install the CLI itself"
  say "(https://docs.temporal.io/cli, e.g. 'brew install temporal') and set VIGIL_TEMPORAL_CLI to its path."
  exit 1
fi

mkdir -p "$BIN_DIR"
say "building the Temporal CLI $VERSION with $(go version | cut -d' ' -f3) (the first build takes 5-15 minutes; the module cache keeps it)"
# cgo off: the CLI's SQLite is pure Go, and no C toolchain is needed.
CGO_ENABLED=0 GOBIN="$BIN_DIR" go install "github.com/temporalio/cli/cmd/temporal@v$VERSION"
"$BIN" --version >&2
echo "$BIN"
