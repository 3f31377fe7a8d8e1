# Stand-in for postgres:16 (Debian bookworm's PostgreSQL 15) that honours the official
# image's POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB and PGDATA on first start.
ARG DEBIAN=wise-al-local/debian:bookworm
FROM ${DEBIAN}
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql \
 && rm -rf /var/lib/apt/lists/*
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PGDATA=/var/lib/postgresql/data PATH=/usr/lib/postgresql/15/bin:$PATH
EXPOSE 5432
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
