"""(being written)"""


def coverage(request, **kwargs):
    raise NotImplementedError


def coverage_export(request, **kwargs):
    raise NotImplementedError


def overdue(request, **kwargs):
    raise NotImplementedError


def overdue_export(request, **kwargs):
    raise NotImplementedError


def overdue_tasks(request, **kwargs):
    raise NotImplementedError


def person_vaccinations(request, **kwargs):
    raise NotImplementedError
