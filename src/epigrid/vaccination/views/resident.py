"""(being written)"""


def my(request, **kwargs):
    raise NotImplementedError


def book(request, **kwargs):
    raise NotImplementedError


def book_slots(request, **kwargs):
    raise NotImplementedError


def booking_detail(request, **kwargs):
    raise NotImplementedError


def self_report_new(request, **kwargs):
    raise NotImplementedError
