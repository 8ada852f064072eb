FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY bot ./bot
COPY storage ./storage
COPY escalation ./escalation
COPY alembic ./alembic
RUN pip install --no-cache-dir -e .
USER nobody
EXPOSE 8080
CMD ["tocsin", "serve", "--host", "0.0.0.0"]
