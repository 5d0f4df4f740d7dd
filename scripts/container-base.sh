#!/bin/sh
# Builds the local base image `localhost/herald-node-build:20` that the Dockerfile's build stage can
# use where no registry of base images is reachable (no `node:20-bookworm` to pull): a Debian
# bookworm made by debootstrap from Debian's mirror, with a compiler and Python (for
# better-sqlite3's node-gyp build) and this machine's Node.js 20 (the files of its `nodejs` package,
# headers included, and its npm) and CA bundle copied in. Needs root, debootstrap and podman. The root filesystem is made in
# $HERALD_CONTAINER_TMP (default /var/tmp/herald-container), never in the repository.
#
# Usage: scripts/container-base.sh [--force]
set -eu

IMAGE=localhost/herald-node-build:20
WORK=${HERALD_CONTAINER_TMP:-/var/tmp/herald-container}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if [ "${1:-}" != "--force" ] && podman image exists "$IMAGE"; then
  echo "container-base: $IMAGE exists (--force to rebuild)"
  exit 0
fi
for tool in debootstrap podman node; do
  command -v "$tool" >/dev/null || { echo "container-base: $tool is missing (apt-get install debootstrap podman)" >&2; exit 1; }
done
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" = 20 ] || { echo "container-base: this machine's Node.js is $(node --version), the image needs 20" >&2; exit 1; }
dpkg -s nodejs >/dev/null 2>&1 || { echo "container-base: Node.js must come from a Debian package (nodejs) to be copied" >&2; exit 1; }

rootfs="$WORK/rootfs"
rm -rf "$rootfs"
mkdir -p "$rootfs"
# The Debian part is kept as a tarball: a rebuild (--force) reuses it.
debian="$WORK/debian-bookworm.tar"
if [ ! -f "$debian" ]; then
  echo "container-base: debootstrap bookworm (a few minutes)"
  debootstrap --variant=minbase --include=ca-certificates,python3,make,g++,binutils bookworm "$rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
    { tail -20 "$WORK/debootstrap.log" >&2; exit 1; }
  # Leaner: no apt lists, caches or docs.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/*
  tar -C "$rootfs" -cf "$debian.part" . && mv "$debian.part" "$debian"
else
  tar -C "$rootfs" -xf "$debian"
fi

# This machine's Node.js: every regular file and link of the nodejs package (node, headers), and
# npm as it is installed now (it may have been upgraded past the package's).
{
  dpkg -L nodejs | while read -r path; do
    if [ -f "$path" ] || [ -L "$path" ]; then printf '%s\n' "$path"; fi
  done | grep -v '^/usr/lib/node_modules/npm/'
  find /usr/lib/node_modules/npm
} | tar -C / --no-recursion -cf - -T - | tar -C "$rootfs" -xf -
# This machine's CA bundle, for npm in the build stage: the registry may be reached through a proxy
# that this machine trusts. Only the build stage has it; the runtime image copies nothing of it.
cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"

tar -C "$rootfs" -cf - . | podman import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV npm_config_nodedir=/usr' \
  --change 'ENV npm_config_cafile=/etc/ssl/certs/ca-certificates.crt' \
  --change 'CMD ["node"]' \
  - "$IMAGE"
rm -rf "$rootfs"
echo "container-base: built $IMAGE ($(node --version))"
