#!/usr/bin/env bash
# Builds the Go servers and tools the local stack uses into $ONESTOP_CACHE/bin (outside the clone,
# so fresh clones and CI reuse them). Each is built only when missing. Usage: build-tools.sh [name...]
set -euo pipefail

CACHE="${ONESTOP_CACHE:-$HOME/.cache/onestop}"
BIN="$CACHE/bin"
mkdir -p "$BIN" "$CACHE/src"
export GOBIN="$BIN" GOFLAGS="${GOFLAGS:--trimpath}"

# name | Go package@version. Versions are pinned; see docs/design.md for the reasons.
declare -A PKG=(
  [grpcurl]=github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.4
  [buf]=github.com/bufbuild/buf/cmd/buf@v1.75.0
  [ghz]=github.com/bojand/ghz/cmd/ghz@v0.93.0
  [minio]=github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c
  [mc]=github.com/minio/mc@v0.0.0-20250313080218-cf909e1063a9
  [kustomize]=sigs.k8s.io/kustomize/kustomize/v5@v5.8.2
)
FERRETDB_VERSION=v1.24.0

build_ferretdb() {
  # `go install ...FerretDB/cmd/ferretdb@v1` fails here: the module proxy refuses the FerretDB v1
  # version *list* that go install reads for its deprecation check, while the module itself
  # downloads fine. So: download the module, copy it out of the read-only module cache, write the
  # version file its own build task would generate, and build cmd/ferretdb from it.
  local dir src="$CACHE/src/ferretdb-$FERRETDB_VERSION"
  dir=$(go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [ -n "$dir" ] || { echo "could not download FerretDB $FERRETDB_VERSION from the Go module proxy" >&2; return 1; }
  rm -rf "$src" && cp -r "$dir" "$src" && chmod -R u+w "$src"
  echo "$FERRETDB_VERSION" > "$src/build/version/version.txt"
  (cd "$src" && go build -o "$BIN/ferretdb" ./cmd/ferretdb)
}

tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(ferretdb minio grpcurl buf ghz kustomize)
for name in "${tools[@]}"; do
  if [ -x "$BIN/$name" ]; then continue; fi
  echo "building $name into $BIN (first time only; minio takes several minutes)"
  if [ "$name" = ferretdb ]; then
    build_ferretdb
  elif [ -n "${PKG[$name]:-}" ]; then
    go install "${PKG[$name]}"
  else
    echo "unknown tool: $name" >&2; exit 2
  fi
  [ -x "$BIN/$name" ] || { echo "building $name failed: $BIN/$name is missing" >&2; exit 1; }
done
