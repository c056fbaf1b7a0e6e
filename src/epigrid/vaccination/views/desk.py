"""(being written)"""


def desk(request, **kwargs):
    raise NotImplementedError


def desk_person(request, **kwargs):
    raise NotImplementedError


def aefi_new(request, **kwargs):
    raise NotImplementedError
