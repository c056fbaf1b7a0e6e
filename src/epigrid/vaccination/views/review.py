"""(being written)"""


def self_reports(request, **kwargs):
    raise NotImplementedError


def self_report_detail(request, **kwargs):
    raise NotImplementedError


def self_report_certificate(request, **kwargs):
    raise NotImplementedError
