"""(being written)"""


def arrival_report(request, **kwargs):
    raise NotImplementedError


def arrival_done(request, **kwargs):
    raise NotImplementedError
