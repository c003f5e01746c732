"""Dates outside 1900-01-01 to 2200-12-31 (kehu.core.moments) are moved into that range.

Before input was bounded, an interaction, follow-up or task could be stored at year 1 or
9999; converting it to the server's time zone then failed on every page that showed it.
Each such value is set to the first or last moment of the range; the counts are printed.
"""

import datetime as dt
from typing import Any

from django.db import migrations
from django.utils import timezone

FIELDS = {
    "Interaction": ("occurred_at",),
    "FollowUp": ("due_at", "done_at", "remind_at"),
    "Task": ("due_at", "done_at", "remind_at"),
}


def bounds() -> tuple[dt.datetime, dt.datetime]:
    # The same as kehu.core.moments, written out: a migration does not follow later code.
    return (timezone.make_aware(dt.datetime(1900, 1, 1)),
            timezone.make_aware(dt.datetime(2200, 12, 31, 23, 59, 59)))


def clamp_dates(apps: Any, schema_editor: Any) -> None:
    low, high = bounds()
    for model_name, fields in FIELDS.items():
        model = apps.get_model("activities", model_name)
        for field in fields:
            rows = model.objects.using(schema_editor.connection.alias)
            early = rows.filter(**{f"{field}__lt": low}).update(**{field: low})
            late = rows.filter(**{f"{field}__gt": high}).update(**{field: high})
            if early or late:
                print(f"\n  activities.{model_name}.{field}: {early} value(s) before "
                      f"{low.isoformat()} and {late} after {high.isoformat()} clamped into "
                      "the range.")


class Migration(migrations.Migration):

    dependencies = [
        ("activities", "0002_platform_apps"),
    ]

    operations = [
        migrations.RunPython(clamp_dates, migrations.RunPython.noop),
    ]
