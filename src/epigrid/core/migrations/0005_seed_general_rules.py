from django.db import migrations


def seed(apps, schema_editor):
    from epigrid.core.seeding import seed_diseases

    seed_diseases(apps.get_model("core", "DiseaseProfile"), apps.get_model("core", "PolicyVersion"))


class Migration(migrations.Migration):
    """Adds the 'general' rules (venue stays, retention, door rules) to databases seeded before they existed."""

    dependencies = [("core", "0004_signing_key")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
