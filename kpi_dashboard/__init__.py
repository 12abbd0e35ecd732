"""KPI Bridge's Django project.

The Celery app lives in kpi_dashboard/celery.py (`celery -A kpi_dashboard` finds it there)
and is imported by the tasks that use it, not here: commands such as `kpis` start without
loading Celery.
"""
