"""Two fewer indexes on audit events, for appends at the bulk-insert rate (issue 6): none on
``hash`` (random keys, never looked up), and none on ``object_type`` or ``object_id`` alone
(history is looked up by both, which the composite index serves).

On SQLite, altering a field rebuilds the table, which drops its triggers: the append-only
trigger of ``0003_audit_append_only`` is dropped first and created again afterwards, so the
table is never left without it. PostgreSQL alters in place and keeps its trigger.
"""

from django.db import migrations, models



def sqlite_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS core_auditevent_no_update;")


def sqlite_create(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(
            """CREATE TRIGGER IF NOT EXISTS core_auditevent_no_update
               BEFORE UPDATE ON core_auditevent
               BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;"""
        )


class Migration(migrations.Migration):
    dependencies = [("core", "0004_import_job")]

    operations = [
        migrations.RunPython(sqlite_drop, sqlite_create),
        migrations.AlterField(
            model_name="auditevent", name="hash", field=models.CharField(max_length=64)
        ),
        migrations.AlterField(
            model_name="auditevent", name="object_type", field=models.CharField(max_length=100)
        ),
        migrations.AlterField(
            model_name="auditevent", name="object_id", field=models.CharField(max_length=64)
        ),
        migrations.RunPython(sqlite_create, sqlite_drop),
    ]
