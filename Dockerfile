# The pegasus-log server image: `pegasus-log meta|replica|shell ...` (docs/deploy.md).
#
#   docker build -t pegasus-log:0.1.0 .
#   docker run --rm pegasus-log:0.1.0 replica --help
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The git commit the servers report in server-info: the build context has no .git, so it
# is passed in (docker build --build-arg GIT_COMMIT=$(git rev-parse HEAD) ...).
ARG GIT_COMMIT=unknown
ENV PEGASUS_LOG_GIT_COMMIT=${GIT_COMMIT}

# An unprivileged user with a fixed uid, owning the replica data folder; a named volume
# mounted there starts with this ownership.
RUN groupadd --system --gid 10001 pegasus \
    && useradd --system --uid 10001 --gid pegasus --home-dir /var/lib/pegasus \
        --shell /usr/sbin/nologin pegasus \
    && mkdir -p /var/lib/pegasus/data \
    && chown -R pegasus:pegasus /var/lib/pegasus

# The package from this source tree (.dockerignore keeps the context to these files).
COPY pyproject.toml README.md /src/
COPY pegasus_log /src/pegasus_log
RUN pip install /src && rm -rf /src

USER pegasus
WORKDIR /var/lib/pegasus
# Meta servers listen from 34601, replica servers from 34801 (upstream's ports).
EXPOSE 34601 34801
ENTRYPOINT ["pegasus-log"]
CMD ["--help"]
