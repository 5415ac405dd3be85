# newsmon's worker and CLI. The broker is not in this image: docker-compose.yml runs apache/kafka
# next to it and sets KAFKA_BOOTSTRAP_SERVERS, so no Java or Maven is needed here.
#
# PYTHON_IMAGE: the base image, the official Python 3.11 slim image by default. Any image with
# Python 3.11+ and pip on PATH and groupadd/useradd works; `make compose-test` builds one from
# Debian's packages for machines that cannot pull (tests/compose/python-image).
ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 newsmon \
 && useradd --system --uid 10001 --gid newsmon --create-home --home-dir /home/newsmon \
        --shell /usr/sbin/nologin newsmon

# Install the project as a regular (non-editable) package; the sources are not kept.
COPY pyproject.toml README.md /tmp/src/
COPY streams/ /tmp/src/streams/
COPY agents/ /tmp/src/agents/
RUN pip install /tmp/src && rm -rf /tmp/src

# Data only: the seed articles (`newsmon replay seeds/` from /app) and the theme file.
WORKDIR /app
COPY --chown=root:root seeds/ /app/seeds/
COPY --chown=root:root themes/ /app/themes/
COPY --chown=root:root feeds/ /app/feeds/

# The settings' defaults point into the source tree, which an installed package does not have:
# name the state directory and the theme file explicitly (both are settings, see docs/configuration.md).
RUN mkdir -p /var/lib/newsmon && chown newsmon:newsmon /var/lib/newsmon
ENV NEWSMON_STATE_DIR=/var/lib/newsmon \
    NEWSMON_THEMES_FILE=/app/themes/themes.toml \
    NEWSMON_FEEDS_FILE=/app/feeds/feeds.toml

USER newsmon

# The worker's web server (NEWSMON_WEB_PORT); it binds to loopback unless NEWSMON_WEB_BIND says otherwise.
EXPOSE 6066

ENTRYPOINT ["newsmon"]
CMD ["worker"]
