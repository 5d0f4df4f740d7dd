# Herald hub image: `herald start` on 0.0.0.0, as user 10001, on a read-only root filesystem.
#
#   podman build --format docker -t herald .        (docker build -t herald . works the same)
#   podman run --read-only -p 3000:3000 herald
#
# Configure it with PORT or HERALD_PORT and the other HERALD_* variables (docs/operations.md,
# "Container"). `--format docker` keeps the HEALTHCHECK, which the OCI format has no field for.
#
# The build stage needs Node.js 20 with npm, Python, make and a C++ compiler (for better-sqlite3
# where no prebuilt binary can be downloaded): the official `node:20-bookworm` image has them.
# Where no registry is reachable, `scripts/container-base.sh` makes one from Debian's packages and
# this machine's Node.js: build with `--build-arg NODE_IMAGE=localhost/herald-node-build:20`.
ARG NODE_IMAGE=docker.io/library/node:20-bookworm

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# The dependencies first, from the manifests alone, so that a change of source reuses this layer
# (a new workspace needs its line here). The install scripts (better-sqlite3's native build,
# esbuild's binary) run in `npm rebuild`; the root `prepare` (the build) waits for the sources.
COPY package.json package-lock.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/server/package.json packages/server/
COPY packages/redis/package.json packages/redis/
COPY packages/sqlite/package.json packages/sqlite/
COPY packages/nats/package.json packages/nats/
COPY packages/client/package.json packages/client/
COPY packages/backend/package.json packages/backend/
COPY packages/react/package.json packages/react/
COPY packages/testkit/package.json packages/testkit/
COPY packages/herald/package.json packages/herald/
COPY apps/demo/package.json apps/demo/
RUN npm ci --ignore-scripts --no-audit --no-fund && npm rebuild --no-audit --no-fund
COPY . .
# Build, then keep only the production dependencies of what is shipped: the test kit (private, not
# shipped) leaves the workspace first, or its peers (vitest, vite, jsdom: 60 MB) would stay.
RUN npm run build \
 && node -e "const f='package.json',p=JSON.parse(require('fs').readFileSync(f));p.workspaces=p.workspaces.filter(w=>w!=='packages/testkit');require('fs').writeFileSync(f,JSON.stringify(p,null,2))" \
 && npm prune --omit=dev --no-audit --no-fund
RUN container/assemble-rootfs.sh /rootfs

# The runtime: nothing but node, its shared libraries, the app and a passwd entry; no shell.
FROM scratch
COPY --from=build /rootfs/ /
ENV NODE_ENV=production \
    PORT=3000
WORKDIR /app
USER 10001:10001
EXPOSE 3000
# Liveness only: /readyz fails while Redis is down, and a container restarted for that would not
# bring Redis back. Load balancers check /readyz themselves.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/node", "/app/container/healthcheck.mjs"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/node", "/app/packages/herald/bin/herald.js"]
# --host 0.0.0.0 as a flag, not HERALD_HOST: a HERALD_* variable selects the production profile.
CMD ["start", "--host", "0.0.0.0"]
