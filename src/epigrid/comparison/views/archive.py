"""(being written)"""


def arrival_list(request, **kwargs):
    raise NotImplementedError


def dossier(request, **kwargs):
    raise NotImplementedError
