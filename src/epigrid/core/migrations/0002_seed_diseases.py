from django.db import migrations


def seed(apps, schema_editor):
    from epigrid.core.seeding import seed_diseases

    seed_diseases(apps.get_model("core", "DiseaseProfile"), apps.get_model("core", "PolicyVersion"))


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
