# The Vigil worker, as docker-compose.yml runs it: `npm run worker` (`vigil worker`), configured by the
# environment (src/config.ts). It runs the TypeScript with tsx, as in development, so there is no build step.
FROM node:20-slim

WORKDIR /app

# Dependencies before the source, so a source change reuses the installed layer. `npm install` rather than
# `npm ci`, for the reason in .ci/run.
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund

COPY tsconfig.json ./
COPY src ./src

# Nothing here needs root.
USER node

CMD ["npm", "run", "worker"]
