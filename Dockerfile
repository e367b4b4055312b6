# syntax=docker/dockerfile:1
#
# One image for the four Nunchi services and the `nunchi` CLI. The command picks what runs:
#
#   docker build -t nunchi:dev .
#   docker run --rm nunchi:dev node dist/apps/ingestion/src/main.js     # or context | decision | analytics
#   docker run --rm nunchi:dev node dist/apps/cli/src/main.js migrate   # apply cql/ migrations
#
# Configuration comes from the environment (README, "Configuration"). The image sets NODE_ENV=production,
# so NUNCHI_IDENTITY_SECRET (16+ characters) is required, and NUNCHI_HTTP_HOST=0.0.0.0 so probes and
# Services reach the HTTP port. See docs/deployment.md.

# The base image: Node 24, a maintained LTS line (Node 20 reached its end of life in April 2026), named by an
# exact version so that a rebuild of one commit does not move to another Node. It is not yet pinned by digest:
# the machines this project is developed and tested on reach no container registry to resolve one. Where docker
# reaches one, `npm run images:pin` writes the digest here (node:24.21.0-bookworm-slim@sha256:…), and
# `npm run images:check` (run by CI) refuses a floating tag. To move to a newer Node: change the version below,
# then run images:pin. See docs/deployment.md, "Base image".
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

# ---- build: all dependencies, compile, then drop the dev dependencies ------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV npm_config_fund=false \
    npm_config_audit=false \
    npm_config_update_notifier=false \
    SCARF_ANALYTICS=false

# Dependencies first, so that a source change reuses this layer. --ignore-scripts: the root "prepare"
# script would build before the sources are copied, and no dependency needs an install script.
COPY package.json package-lock.json .npmrc ./
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts

# Sources (filtered by .dockerignore), the same build as `npm run build`: tsc + tsc-alias into dist/.
COPY . .
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts \
 && test -f dist/apps/ingestion/src/main.js \
 && test -f dist/apps/context/src/main.js \
 && test -f dist/apps/decision/src/main.js \
 && test -f dist/apps/analytics/src/main.js \
 && test -f dist/apps/cli/src/main.js

# ---- runtime: compiled code, production node_modules, migrations and example campaigns -------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    NUNCHI_HTTP_HOST=0.0.0.0 \
    npm_config_update_notifier=false
WORKDIR /app

# Owned by root and read-only for the service user: the services write nothing to disk.
# dist/ and cql/ must stay siblings under /app: projectPath() resolves cql/ four levels above
# dist/libs/config/src/paths.js.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/cql ./cql
COPY --from=build /app/campaigns ./campaigns
COPY --from=build /app/bin ./bin
COPY --from=build /app/slo/slo.yaml ./slo/slo.yaml

# The "node" user of the official image (uid/gid 1000), numeric so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000

# ingestion 3001, context 3002, decision 3003, analytics 3004 (NUNCHI_<SERVICE>_PORT)
EXPOSE 3001 3002 3003 3004

# No default service: say which one to run. Without a command the image prints the CLI's help.
CMD ["node", "dist/apps/cli/src/main.js", "--help"]
