#!/usr/bin/env bash
# `npm run bundle`: an offline bundle, bundle/tagwire-<version>-linux-<arch>.tar.gz, for a PC with
# no network and no Node: the built app, its production dependencies with their native parts
# already built (sqlite3, serialport: both N-API, so one build loads on every Node >= 20), and a
# Node runtime from the node-linux-<arch> npm package. Unpacked, ./tagwire/bin/tagwire runs it.
#
# Layout inside:  tagwire/bin/tagwire   shell launcher: the bundled node, never one from PATH
#                 tagwire/node/bin/node the runtime (NODE_VERSION, the Node 22 LTS line by default)
#                 tagwire/lib/          the npm package (dist, mappings, demo config) + node_modules
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_VERSION="${NODE_VERSION:-22.23.5}"
version="$(node -p "require('./package.json').version")"
case "$(node -p process.arch)" in
  x64) arch=x64 ;;
  arm64) arch=arm64 ;;
  *) echo "bundle: no node-linux package for $(node -p process.arch)" >&2; exit 1 ;;
esac
out="$PWD/bundle"
stage="$out/stage"
cache="$out/.cache"
name="tagwire-$version-linux-$arch"
rm -rf "$stage"
mkdir -p "$stage/tagwire" "$cache"

echo "bundle: building and packing tagwire $version"
npm run build --silent
# prepare is a no-op here (dist is built); --ignore-scripts keeps npm pack from building again.
tarball="$(npm pack --ignore-scripts --silent --pack-destination "$stage")"
tar -xzf "$stage/$tarball" -C "$stage"
mv "$stage/package" "$stage/tagwire/lib"
rm "$stage/$tarball"
cp package-lock.json "$stage/tagwire/lib/"

echo "bundle: production dependencies"
# From the npm cache where it has them. Install scripts are skipped: the native parts are put in
# below from this checkout's own build, so nothing is compiled or downloaded here.
(cd "$stage/tagwire/lib" && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error)
sqlite_built="node_modules/sqlite3/build/Release/node_sqlite3.node"
if [ ! -f "$sqlite_built" ]; then
  echo "bundle: $sqlite_built missing: run npm install (it builds sqlite3) first" >&2
  exit 1
fi
mkdir -p "$stage/tagwire/lib/node_modules/sqlite3/build/Release"
cp "$sqlite_built" "$stage/tagwire/lib/node_modules/sqlite3/build/Release/"
# What the runtime never reads: sqlite3's C sources, other platforms' serialport binaries, docs.
rm -rf "$stage/tagwire/lib/node_modules/sqlite3/deps" "$stage/tagwire/lib/node_modules/sqlite3/src"
find "$stage/tagwire/lib/node_modules/@serialport/bindings-cpp/prebuilds" -mindepth 1 -maxdepth 1 \
  ! -name "linux-$arch" -exec rm -rf {} +
find "$stage/tagwire/lib/node_modules" \( -name '*.md' -o -name '*.map' -o -name '*.ts' ! -name '*.d.ts' \) \
  -type f -delete
find "$stage/tagwire/lib/node_modules" -name '*.d.ts' -type f -delete
rm -f "$stage/tagwire/lib/package-lock.json"

echo "bundle: Node $NODE_VERSION runtime"
# npm pack names it node-linux-<arch>-<version>.tgz; kept in the cache for the next bundle.
runtime="$cache/node-linux-$arch-$NODE_VERSION.tgz"
[ -f "$runtime" ] || (cd "$cache" && npm pack "node-linux-$arch@$NODE_VERSION" --silent >/dev/null)
mkdir -p "$stage/node-package"
tar -xzf "$runtime" -C "$stage/node-package"
mkdir -p "$stage/tagwire/node/bin"
cp "$stage/node-package/package/bin/node" "$stage/tagwire/node/bin/node"
cp "$stage/node-package/package/LICENSE" "$stage/tagwire/node/LICENSE" 2>/dev/null || true
rm -rf "$stage/node-package"

mkdir -p "$stage/tagwire/bin"
cat >"$stage/tagwire/bin/tagwire" <<'LAUNCHER'
#!/bin/sh
# tagwire from the offline bundle: always its own Node, wherever the bundle was unpacked or linked.
self="$(readlink -f "$0")"
root="$(dirname "$(dirname "$self")")"
exec "$root/node/bin/node" "$root/lib/dist/src/cli.js" "$@"
LAUNCHER
chmod 755 "$stage/tagwire/bin/tagwire"

# Smoke test before packing: the bundled node loads the CLI and both native modules.
"$stage/tagwire/bin/tagwire" --version >/dev/null
(cd "$stage/tagwire/lib" && ../node/bin/node -e "require('sqlite3'); require('@serialport/bindings-cpp')")

echo "bundle: packing $name.tar.gz"
tar -czf "$out/$name.tar.gz" -C "$stage" tagwire
rm -rf "$stage"
size="$(du -m "$out/$name.tar.gz" | cut -f1)"
echo "bundle: $out/$name.tar.gz (${size} MB)"
