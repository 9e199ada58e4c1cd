"""PostgreSQL: TRUNCATE of the audit trail is rejected too (row triggers do not fire on TRUNCATE).

Test and benchmark databases that must empty every table between runs opt in per connection with the setting
`mlgov.allow_audit_truncate = on` (config/settings_test.py sets it as a connection option); production
connections never set it, and the hash chain would still reveal a truncated trail to `audit_verify`."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION mlgov_audit_reject_truncate() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('mlgov.allow_audit_truncate', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'audit events are append-only (TRUNCATE rejected)';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER governance_auditevent_no_truncate
    BEFORE TRUNCATE ON governance_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION mlgov_audit_reject_truncate();
"""
DROP = """
DROP TRIGGER IF EXISTS governance_auditevent_no_truncate ON governance_auditevent;
DROP FUNCTION IF EXISTS mlgov_audit_reject_truncate();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=())


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=())


class Migration(migrations.Migration):
    dependencies = [("governance", "0007_audit_request_id")]
    operations = [migrations.RunPython(forwards, backwards)]
