# One image for every Herald service; docker-compose.yml and deploy/k8s pick
# the service with `command`. Sources run as TypeScript through
# tools/register.js (SWC), so there is no build step, only the production
# dependencies. The preload (libs/observability/src/preload.ts) starts
# OpenTelemetry before gRPC and HTTP load and switches logs to JSON.
#   docker build -t herald:dev .

# Only the package.json files of the workspaces: `npm ci` needs them, and
# keeping them apart means a source change does not reinstall dependencies.
FROM node:20-slim AS manifests
WORKDIR /app
COPY libs libs
COPY services services
RUN find libs services -mindepth 2 -maxdepth 2 ! -name package.json -exec rm -rf {} +

FROM node:20-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=manifests /app/ ./
RUN npm ci --omit=dev --no-audit --no-fund

# The portal (React, Vite) built once here: the image serves the files with
# HERALD_PORTAL_DIR and never builds at run time (its root file system is read-only).
FROM node:20-slim AS portal
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=manifests /app/ ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json ./
COPY tools tools
COPY libs libs
COPY services services
RUN node -r ./tools/register.js services/gateway/src/portal/build-cli.ts --out /portal

FROM node:20-slim
# python3 runs the campaign owners' strategies (services/strategies, standard library only).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 herald \
 && useradd --system --uid 10001 --gid herald --create-home --home-dir /home/herald herald
ENV NODE_ENV=production \
    HERALD_LOG_FORMAT=json \
    HERALD_PORTAL_DIR=/app/portal \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY package.json tsconfig.base.json ./
COPY tools tools
COPY proto proto
COPY libs libs
COPY services services
COPY --from=portal /portal portal
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 10001
EXPOSE 3000 9464
CMD ["node", "-r", "./tools/register.js", "-r", "./libs/observability/src/preload.ts", "services/gateway/src/main.ts"]
