# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""One side per pytest process: a run of tests/ (or of plain `pytest`)
is the Nova side and leaves tests/neutron out; `pytest tests/neutron` runs
the Neutron side; a run that names both is refused.  Nova's threading
mode refuses eventlet, which Neutron's WSGI layer imports, and both
register options on the global oslo CONF.  This file imports neither."""

import pathlib

import pytest

NEUTRON_SIDE = pathlib.Path(__file__).parent / 'neutron'
HOW = 'run `pytest tests/neutron` apart (make test runs both sides)'


def _neutron_side_args(config):
    """(arguments under tests/neutron, all arguments), as paths."""
    paths = [pathlib.Path(arg.split('::')[0]).resolve()
             for arg in config.args]
    return [p for p in paths if p.is_relative_to(NEUTRON_SIDE)], paths


def pytest_configure(config):
    neutron, paths = _neutron_side_args(config)
    if neutron and len(neutron) != len(paths):
        raise pytest.UsageError(
            f'tests/neutron runs in a pytest process of its own: {HOW}')


def pytest_ignore_collect(collection_path, config):
    if collection_path == NEUTRON_SIDE:
        return not _neutron_side_args(config)[0]
    return None


def pytest_report_header(config):
    if not _neutron_side_args(config)[0]:
        return f'tests/neutron is left out: {HOW}'
    return None
