"""(being written)"""


def vaccines(request, **kwargs):
    raise NotImplementedError


def vaccine_detail(request, **kwargs):
    raise NotImplementedError


def sites(request, **kwargs):
    raise NotImplementedError


def site_detail(request, **kwargs):
    raise NotImplementedError
