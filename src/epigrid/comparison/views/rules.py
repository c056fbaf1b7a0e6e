"""(being written)"""


def rule_list(request, **kwargs):
    raise NotImplementedError


def rule_detail(request, **kwargs):
    raise NotImplementedError


def run_detail(request, **kwargs):
    raise NotImplementedError


def run_tasks(request, **kwargs):
    raise NotImplementedError


def run_export(request, **kwargs):
    raise NotImplementedError
