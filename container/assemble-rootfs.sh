#!/bin/sh
# Run by the Dockerfile's build stage, in /src after `npm ci` (which builds) and
# `npm prune --omit=dev`: copies into $1 only what the hub runs on (the node binary and the shared
# libraries it and the native modules load, the built packages and their production dependencies,
# the health check) and a passwd entry for the unprivileged user `herald` (10001).
set -eu
root=$1
node=$(command -v node)
mkdir -p "$root/app" "$root/usr/local/bin" "$root/etc" "$root/tmp"
chmod 1777 "$root/tmp"

cp "$node" "$root/usr/local/bin/node"
strip --strip-unneeded "$root/usr/local/bin/node" 2>/dev/null || true

cp -a package.json "$root/app/"
for dir in packages/* apps/demo; do
  [ "$dir" = packages/testkit ] && continue
  mkdir -p "$root/app/$dir"
  cp -a "$dir/package.json" "$root/app/$dir/"
  for part in dist bin public; do
    if [ -e "$dir/$part" ]; then cp -a "$dir/$part" "$root/app/$dir/"; fi
  done
done
cp -a node_modules "$root/app/"
# Workspace links to what is not shipped (testkit), and what a native build leaves behind.
find "$root/app/node_modules" -xtype l -delete
sqlite="$root/app/node_modules/better-sqlite3"
if [ -d "$sqlite" ]; then
  rm -rf "$sqlite/deps" "$sqlite/src" "$sqlite/build/Release/obj" "$sqlite/build/Release/obj.target" \
    "$sqlite/build/Release/.deps" "$sqlite/build/Release/test_extension.node" "$sqlite/build/Release/"*.a "$sqlite/build/deps"
fi
find "$root/app" \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.tsbuildinfo' \) -type f -delete
mkdir -p "$root/app/container"
cp container/healthcheck.mjs "$root/app/container/"

# Shared libraries: those of node and of every native module, with the dynamic loader.
for binary in "$root/usr/local/bin/node" $(find "$root/app/node_modules" -name '*.node' -type f); do
  ldd "$binary" | awk '/=>/ { print $3 } /^\s*\/lib/ { print $1 }'
done | sort -u | while read -r lib; do
  [ -n "$lib" ] || continue
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
# The loader's canonical path (/lib64 is a link on Debian).
loader=$(ldd "$node" | awk '/ld-linux/ { print $1 }')
mkdir -p "$root$(dirname "$loader")"
cp -L "$loader" "$root$loader"

printf 'root:x:0:0:root:/root:/sbin/nologin\nherald:x:10001:10001:herald:/nonexistent:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nherald:x:10001:\n' >"$root/etc/group"
