# The production image: one image for web, worker and beat.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml ./
COPY kpi_dashboard ./kpi_dashboard
COPY funnel ./funnel
COPY integrations ./integrations
RUN pip install --no-cache-dir .
COPY . .
RUN SECRET_KEY=build-only DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    python manage.py collectstatic --noinput -v0
EXPOSE 8000
CMD ["gunicorn", "kpi_dashboard.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
