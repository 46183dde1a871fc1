# Vigil's image: the `vigil` CLI installed as an app installs it (the npm package, compiled), running as a
# non-root user. docker-compose.yml runs it twice: `vigil worker --demo-without-key` and `vigil gateway`.
#
# Two stages. The first compiles and packs Vigil exactly as `npm pack` publishes it. The second installs that
# package with its production dependencies only, and no install scripts: nothing in it needs a compiler, so the
# slim image (which has none) is enough, and dev-only native modules (node-pty, for the tests) never come in.
# test/package/package.test.ts runs the second stage's install command in a clean folder with no build tools on
# PATH, then its worker, as a check.

FROM node:20-slim AS build
WORKDIR /src
# Dependencies before the source, so a source change reuses the installed layer. No install scripts: the build
# needs none, and node-pty's (a test dependency) would need a compiler. `npm install` rather than `npm ci`, for
# the reason in .ci/run; it installs the locked versions.
COPY package.json package-lock.json ./
COPY packages/temporal-test-server/package.json packages/temporal-test-server/
RUN npm install --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json README.md ./
COPY packages/temporal-test-server packages/temporal-test-server
COPY bin bin
COPY docs docs
COPY src src
# `npm pack` builds first (prepack) and writes vigil-<version>.tgz.
RUN npm pack --silent && mv vigil-*.tgz vigil.tgz

FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/vigil.tgz /tmp/vigil.tgz
# An app folder of its own, owned by root and read-only to the user that runs Vigil.
RUN echo '{"name":"vigil-app","private":true}' > package.json \
  && npm install --omit=dev --ignore-scripts --no-audit --no-fund /tmp/vigil.tgz \
  && rm /tmp/vigil.tgz \
  && npm cache clean --force \
  && mkdir -p /app/.vigil && chown node:node /app/.vigil
ENV PATH=/app/node_modules/.bin:$PATH
USER node
# For the gateway, whose port it is; the worker has no port, and Compose turns the check off for it.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=6 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.VIGIL_GATEWAY_PORT || 8787) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["vigil", "worker"]
