"""(being written)"""


def import_list(request, **kwargs):
    raise NotImplementedError


def import_detail(request, **kwargs):
    raise NotImplementedError


def import_progress(request, **kwargs):
    raise NotImplementedError


def import_rows_export(request, **kwargs):
    raise NotImplementedError


def row_correct(request, **kwargs):
    raise NotImplementedError


def sources(request, **kwargs):
    raise NotImplementedError
