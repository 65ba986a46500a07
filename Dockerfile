# The SpawnAI service (web, worker and bot processes share this image; the command picks one).
FROM node:26-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY .npmrc ./
# The lockfile records every platform's optional packages, so the image installs exactly it.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/source-stamp.mjs ./scripts/
COPY src ./src
COPY adapters ./adapters
COPY bots ./bots
RUN npm run build && npm prune --omit=dev

FROM node:26-slim
ENV NODE_ENV=production
WORKDIR /app
# bubblewrap sandboxes local apps; it needs user namespaces from the container runtime
# (`spawnai doctor` says whether they work here).
RUN apt-get update && apt-get install -y --no-install-recommends bubblewrap \
  && rm -rf /var/lib/apt/lists/*
RUN groupadd --system spawnai && useradd --system --gid spawnai --home /app spawnai \
  && mkdir -p /app/.spawnai && chown spawnai:spawnai /app/.spawnai
COPY --from=build --chown=spawnai:spawnai /app/node_modules ./node_modules
COPY --from=build --chown=spawnai:spawnai /app/dist ./dist
COPY --chown=spawnai:spawnai package.json ./
COPY --chown=spawnai:spawnai src/db/migrations ./src/db/migrations
COPY --chown=spawnai:spawnai adapters/web/public ./adapters/web/public
COPY --chown=spawnai:spawnai src/admin/public ./src/admin/public
USER spawnai
EXPOSE 3000 3001
HEALTHCHECK --interval=30s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["start"]
