"""``epigrid manage train_linkage``: train the district's record-linkage model again now (after a large list
or a change in the register), instead of waiting for the next list to find the model missing."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from epigrid.comparison.services import linkage
from epigrid.core.selectors import district_code


class Command(BaseCommand):
    help = "Train the record-linkage model of the district from its persons and its linked list rows."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--district", default="", help="district code (default: the jurisdiction's)")

    def handle(self, *args, **options) -> None:
        district = options["district"] or district_code()
        model = linkage.model_train(actor=None, district=district)
        meta = model.meta
        self.stdout.write(
            f"district {district}: trained on {meta.get('persons')} persons and {meta.get('rows')} rows "
            f"({meta.get('labelled')} labelled, m from {meta.get('m_source')}) in {meta.get('seconds')} s"
        )
