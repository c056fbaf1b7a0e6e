from django.db import migrations


def seed(apps, schema_editor):
    from django.utils import timezone

    from epigrid.healthcode.seeding import seed_rule_sets

    RuleSet = apps.get_model("healthcode", "RuleSet")
    seed_rule_sets(RuleSet, apps.get_model("core", "PolicyVersion"))
    RuleSet.objects.filter(activated_at__isnull=True, is_active=True).update(activated_at=timezone.now())


class Migration(migrations.Migration):
    dependencies = [("healthcode", "0001_initial"), ("core", "0006_alter_user_role")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
