# Stand-in for python:3.11-slim on machines that reach no image registry: Debian bookworm's
# own Python 3.11. Built by scripts/local-docker.sh bases.
ARG DEBIAN=wise-al-local/debian:bookworm
FROM ${DEBIAN}
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates passwd \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /usr/bin/python3 /usr/local/bin/python
CMD ["python3"]
