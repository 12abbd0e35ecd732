"""UserPreference moved to accounts, ReportCommentary to reports: their tables stay."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("kpi_dashboard", "0003_report_commentary"),
        ("accounts", "0001_initial"),
        ("reports", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name="UserPreference"),
                migrations.DeleteModel(name="ReportCommentary"),
            ],
        ),
    ]
