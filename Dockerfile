# Incident Management: the service image (web app + scheduler in one process).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 im
WORKDIR /srv/incident-management

COPY pyproject.toml README.md ./
COPY collector ./collector
COPY classifier ./classifier
COPY router ./router
COPY storage ./storage
COPY web ./web
COPY app ./app
COPY emulator ./emulator
COPY config.yaml ./config.yaml
RUN pip install . && mkdir -p var && chown -R im:im var

USER im
EXPOSE 8080
ENV IM_CONFIG=/srv/incident-management/config.yaml

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4).status != 200)"

CMD ["incident-management", "run", "--host", "0.0.0.0"]
