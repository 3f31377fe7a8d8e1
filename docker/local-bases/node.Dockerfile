# Stand-in for node:20-slim (Debian bookworm's Node.js 18 and npm): it only runs `npm ci`.
ARG DEBIAN=wise-al-local/debian:bookworm
FROM ${DEBIAN}
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm ca-certificates \
 && rm -rf /var/lib/apt/lists/*
CMD ["node"]
