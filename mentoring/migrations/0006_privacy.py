from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("mentoring", "0005_programme_has_session_topics"),
    ]

    operations = [
        migrations.AddField(
            model_name="person",
            name="erased_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="programme",
            name="retention_months",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="Months after a mentee's or mentor's closure before their record is erased; "
                "empty: the TANDEM_RETENTION_MONTHS setting (24).",
                null=True,
                validators=[MinValueValidator(1), MaxValueValidator(240)],
            ),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="action",
            field=models.CharField(
                choices=[
                    ("read", "Read"),
                    ("create", "Create"),
                    ("update", "Update"),
                    ("denied", "Denied"),
                    ("export", "Export"),
                    ("erase", "Erase"),
                ],
                max_length=10,
            ),
        ),
    ]
