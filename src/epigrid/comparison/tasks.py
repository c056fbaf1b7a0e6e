"""Background jobs of comparison: processing uploaded lists, and the comparisons that run on a schedule."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django_tasks import task

from epigrid.comparison.services import imports
from epigrid.comparison.services.comparisons import SCHEDULE_TICK, rules_run_due
from epigrid.core.periodic import register_periodic

# --- list imports


@task()
def process_list_import(list_import_id: int) -> int:
    """Process an uploaded list's waiting rows (resumable); returns the rows processed in all.

    No language is forced: the rows' problems are stored in the language active where the task runs (a
    worker: the site's; the immediate backend: the request's, which is who reads them first)."""
    try:
        return imports.import_process(list_import_id=list_import_id).processed_rows
    except Exception as err:
        imports.import_fail(list_import_id=list_import_id, message=f"{type(err).__name__}: {err}")
        raise


# --- comparisons on a schedule


@task()
def run_scheduled_comparisons() -> int:
    """Run the comparison rules whose schedule (hourly, daily) is due; returns how many ran."""
    # No reader: the runs' stored reasons and the tasks' titles are in the site's language.
    with translation.override(settings.LANGUAGE_CODE):
        return len(rules_run_due())


register_periodic("comparison_scheduled_rules", run_scheduled_comparisons, every=SCHEDULE_TICK)
