# syntax=docker/dockerfile:1
#
# Botgate gateway image. The app runs its TypeScript directly through tsx (a
# production dependency, registered by bin/botgate.js), so there is no build step:
# the image is production node_modules plus the sources.
#
#   docker build -t botgate .
#   docker run --init -p 3000:3000 -v botgate-data:/data botgate
#
# Operator commands go through the running gateway, inside the same container:
#   docker exec <container> node bin/botgate.js tenant create acme
# Do not run a second container on the same /data volume while the gateway runs:
# the embedded database's lock records a pid, which means nothing across containers.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS base
WORKDIR /app
ENV NODE_ENV=production

# Production dependencies only. Same base as the final stage, so the platform
# packages npm picks (esbuild for tsx, @node-rs/argon2) match glibc and the arch.
FROM base AS deps
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --no-audit --no-fund

FROM base AS runtime
# Sources stay owned by root: the node user can read them, not change them.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY bin ./bin
COPY db ./db
COPY src ./src

# The embedded PGlite database, the secret key and the operator credential live here.
RUN mkdir -p /data && chown node:node /data && chmod 700 /data
ENV DATA_DIR=/data \
    HOST=0.0.0.0 \
    PORT=3000
VOLUME ["/data"]

USER node
EXPOSE 3000

# No curl in the slim image: node's fetch does the check. PGlite takes a few
# seconds to start and migrate, hence the start period.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# `serve` handles SIGTERM and SIGINT (drains, then closes the database), so node
# can run as PID 1; `docker run --init` adds tini for zombie reaping and for
# signals that arrive before the handlers are installed during startup.
ENTRYPOINT ["node", "bin/botgate.js"]
CMD ["serve"]
