"""A pytest plugin that does nothing but exist."""


def pytest_report_header(config):
    return "stilton: blue"
