# The Teams bot for teams that host it themselves (the stack hosts it on Lambda by default).
# It runs the SAME production bundle as the stack's bot function: build first, then the image:
#
#   npm run build                      # esbuild -> dist/bot/main.js + dist/bot/aws-sdk.js (self-contained, AWS SDK included)
#   docker build -t jit-access-bot .
#   docker run -p 3978:3978 --env-file bot.env jit-access-bot
#
# Configuration: the environment variables of bot/config.ts (infra/README.md, "Hosting the bot
# yourself"). Credentials come from Secrets Manager (JIT_BOT_CREDENTIALS_SECRET_ARN), read with the
# container's AWS credentials (task role); never put the client secret into the environment.

# Node.js 24: the same major as the Lambda runtime and the bundle's esbuild target (node24).
FROM node:24-slim

ENV NODE_ENV=production \
    JIT_BOT_HOST=0.0.0.0 \
    JIT_BOT_PORT=3978

WORKDIR /app
# Only the bundle, the AWS SDK chunk it requires when its configuration needs the SDK
# (scripts/build.ts), and their source maps: no sources, no node_modules, no tsx.
COPY --chown=root:root dist/bot/main.js dist/bot/main.js.map dist/bot/aws-sdk.js dist/bot/aws-sdk.js.map ./dist/bot/

# The official image's unprivileged user (uid 1000); the files stay root-owned and read-only to it.
USER node

EXPOSE 3978
# GET /healthz (bot/server.ts); node:*-slim has no curl, so node's fetch does the probe.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.JIT_BOT_PORT||3978)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# SIGTERM (docker stop) closes the server cleanly (bot/main.ts).
CMD ["node", "--enable-source-maps", "dist/bot/main.js"]
