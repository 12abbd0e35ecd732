"""ReportCommentary moved here from kpi_dashboard: the table stays (state only)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("kpi_dashboard", "0003_report_commentary"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="ReportCommentary",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("period", models.CharField(help_text="e.g. FY2026Q1", max_length=40, verbose_name="period")),
                        ("department", models.CharField(choices=[("marketing", "Marketing"), ("sales", "Sales")], max_length=20, verbose_name="department")),
                        ("text", models.TextField(verbose_name="text")),
                        ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
                        ("author", models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="report_commentaries", to=settings.AUTH_USER_MODEL, verbose_name="author")),
                    ],
                    options={
                        "verbose_name": "report commentary",
                        "verbose_name_plural": "report commentaries",
                        "db_table": "kpi_dashboard_reportcommentary",
                        "constraints": [models.UniqueConstraint(fields=("period", "department"), name="reportcommentary_unique_period_department"), models.CheckConstraint(condition=models.Q(("department__in", ["marketing", "sales"])), name="reportcommentary_department_valid")],
                    },
                ),
            ],
        ),
    ]
