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
  [kubeconform]=github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0
  # The partner kit (buf.gen.yaml, `make stubs`, `make docs`).
  [protoc-gen-go]=google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
  [protoc-gen-go-grpc]=google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1
  [protoc-gen-doc]=github.com/pseudomuto/protoc-gen-doc/cmd/protoc-gen-doc@v1.5.1
  # The REST gateway's OpenAPI document (`make openapi`) from the google.api.http options.
  [protoc-gen-openapiv2]=github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@v2.33.0
)
# protoc itself, for buf's built-in Java and Python generators (`make stubs` only): Google's release
# binary from Maven Central (a registry package, fetched by mvn), pinned to the libprotoc of the
# pinned Python protobuf (7.36.x: libprotoc 36).
PROTOC_ARTIFACT=com.google.protobuf:protoc:4.36.2:exe:linux-x86_64
# Java's gRPC service stubs: grpc-java's plugin binary, from Maven Central the same way.
GRPC_JAVA_ARTIFACT=io.grpc:protoc-gen-grpc-java:1.76.0:exe:linux-x86_64
# ts-proto, buf.gen.yaml's TypeScript plugin: npm ci of deploy/partner-kit/package-lock.json.
PARTNER_KIT="$(cd "$(dirname "$0")/../partner-kit" && pwd)"
TS_PROTO="$CACHE/ts-proto"
FERRETDB_VERSION=v1.24.0
# Our fixes to FerretDB, applied in name order (see deploy/local/patches/README.md).
FERRETDB_PATCHES=("$(cd "$(dirname "$0")" && pwd)"/patches/ferretdb-"$FERRETDB_VERSION"-*.patch)

# What a FerretDB build is made of: the version and the patches' contents. A cached binary built
# from anything else is rebuilt, so a new patch reaches every machine through `make tools`.
ferretdb_stamp() { { echo "$FERRETDB_VERSION"; cat "${FERRETDB_PATCHES[@]}"; } | sha256sum | cut -c1-16; }

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
  local patch
  for patch in "${FERRETDB_PATCHES[@]}"; do
    # git (always there: CI clones the repo) rather than patch(1), which a minimal Debian lacks.
    (cd "$src" && git apply -p1 "$patch") || { echo "patch $patch does not apply to FerretDB $FERRETDB_VERSION" >&2; return 1; }
  done
  (cd "$src" && go build -o "$BIN/ferretdb" ./cmd/ferretdb)
  ferretdb_stamp > "$BIN/ferretdb.stamp"
}

# kubeconform's schemas: from the PyPI package kubernetes-validate (a registry package, pinned in
# deploy/k8s/schemas.py), made standalone once into $CACHE/k8s-schemas; never fetched at run time.
K8S_SCHEMAS="$CACHE/k8s-schemas"
K8S_DIR="$(cd "$(dirname "$0")/../k8s" && pwd)"
# What the schemas are made from: the PyPI package and the Go modules with CRDs (schemas.py pins them).
SCHEMAS_PACKAGE=$(cd "$K8S_DIR" && python3 -c "import schemas; print(schemas.PACKAGE, *schemas.CRD_MODULES)")
build_k8s_schemas() {
  local wheels module dir crd
  wheels=$(mktemp -d)
  python3 -m pip download -q --no-deps --only-binary=:all: -d "$wheels" "${SCHEMAS_PACKAGE%% *}"
  rm -rf "$K8S_SCHEMAS.tmp" && python3 "$K8S_DIR/schemas.py" "$wheels"/*.whl "$K8S_SCHEMAS.tmp"
  for module in $(cd "$K8S_DIR" && python3 -c "import schemas; print(*schemas.CRD_MODULES)"); do
    dir=$(go mod download -json "$module" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
    [ -n "$dir" ] || { echo "could not download $module from the Go module proxy" >&2; return 1; }
    for crd in $(cd "$K8S_DIR" && python3 -c "import schemas; print(*schemas.CRD_MODULES['$module'])"); do
      python3 "$K8S_DIR/schemas.py" --crd "$dir/$crd" "$K8S_SCHEMAS.tmp"
    done
  done
  rm -rf "$K8S_SCHEMAS" "$wheels" && mv "$K8S_SCHEMAS.tmp" "$K8S_SCHEMAS"
  echo "$SCHEMAS_PACKAGE" > "$K8S_SCHEMAS/PACKAGE"
}

tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(ferretdb minio grpcurl buf ghz kustomize kubeconform k8s-schemas \
                                 protoc-gen-go protoc-gen-go-grpc protoc-gen-doc protoc-gen-openapiv2)
for name in "${tools[@]}"; do
  if [ "$name" = protoc ] || [ "$name" = protoc-gen-grpc-java ]; then
    artifact=$PROTOC_ARTIFACT; [ "$name" = protoc ] || artifact=$GRPC_JAVA_ARTIFACT
    [ "$(cat "$BIN/$name.artifact" 2>/dev/null)" = "$artifact" ] && [ -x "$BIN/$name" ] && continue
    echo "fetching $name ($artifact) from Maven Central with mvn (first time only)"
    command -v mvn >/dev/null || { echo "$name needs mvn (Debian: apt-get install maven)" >&2; exit 1; }
    rm -rf "$CACHE/src/$name" && mvn -q dependency:copy -Dartifact="$artifact" -DoutputDirectory="$CACHE/src/$name"
    install -m 0755 "$CACHE/src/$name"/*.exe "$BIN/$name" && echo "$artifact" > "$BIN/$name.artifact"
    continue
  fi
  if [ "$name" = ts-proto ]; then
    cmp -s "$PARTNER_KIT/package-lock.json" "$TS_PROTO/package-lock.json" && \
      [ -x "$TS_PROTO/node_modules/.bin/protoc-gen-ts_proto" ] && continue
    echo "installing ts-proto into $TS_PROTO with npm ci (first time only)"
    rm -rf "$TS_PROTO" && mkdir -p "$TS_PROTO" && cp "$PARTNER_KIT"/package.json "$PARTNER_KIT"/package-lock.json "$TS_PROTO"/
    (cd "$TS_PROTO" && npm ci --no-audit --no-fund --silent)
    continue
  fi
  if [ "$name" = k8s-schemas ]; then
    [ "$(cat "$K8S_SCHEMAS/PACKAGE" 2>/dev/null)" = "$SCHEMAS_PACKAGE" ] && continue
    echo "making kubeconform's Kubernetes schemas into $K8S_SCHEMAS (first time only)"
    build_k8s_schemas
    continue
  fi
  if [ -x "$BIN/$name" ]; then
    [ "$name" != ferretdb ] && continue
    [ "$(cat "$BIN/ferretdb.stamp" 2>/dev/null)" = "$(ferretdb_stamp)" ] && continue
    echo "rebuilding ferretdb: its version or patches changed (a running one keeps the old build until 'make stop')"
  fi
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
