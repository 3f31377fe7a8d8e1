# Stand-in for redis:7 (Debian bookworm's Redis 7.0). Like the official image it serves
# other containers: protected mode off, data in /data.
ARG DEBIAN=wise-al-local/debian:bookworm
FROM ${DEBIAN}
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* \
 && printf '#!/bin/sh\nexec /usr/bin/redis-server "$@" --protected-mode no\n' > /usr/local/bin/redis-server \
 && chmod +x /usr/local/bin/redis-server \
 && mkdir -p /data
WORKDIR /data
EXPOSE 6379
CMD ["redis-server"]
