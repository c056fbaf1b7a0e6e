"""(being written)"""


def review_queue(request, **kwargs):
    raise NotImplementedError


def review_row(request, **kwargs):
    raise NotImplementedError
