# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Keep doc/support-matrix.ini honest.

The matrix, Nova's conformance suite and tests/conformance/allowed_missing.py
must agree, and the rendered doc/support-matrix.md must be current.
"""

import ast
import importlib.util
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
INI = ROOT / 'doc' / 'support-matrix.ini'
MARKDOWN = ROOT / 'doc' / 'support-matrix.md'
IMPLEMENTED = ('complete', 'partial')


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules.
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


renderer = _load('render_support_matrix',
                 ROOT / 'doc' / 'tools' / 'render_support_matrix.py')
# Loaded by path: tests/ and tests/conformance/ have no __init__.py yet.
allowed_missing = _load('allowed_missing',
                        ROOT / 'tests' / 'conformance' / 'allowed_missing.py')


@pytest.fixture(scope='module')
def matrix():
    return renderer.load_matrix(INI)


def _conformance_test_names():
    # Importing nova's test module needs monkey_patch.patch() first, and so
    # does find_spec() of that dotted name (it imports nova.tests.unit,
    # which patches eventlet in). Locate 'nova' alone and parse the source.
    # origin is nova/__init__.py of the installed package, never the
    # nova/ shim directory (a namespace package) of this repository.
    spec = importlib.util.find_spec('nova')
    assert spec and spec.origin, 'nova is not installed'
    source = (pathlib.Path(spec.origin).parent
              / 'tests' / 'unit' / 'virt' / 'test_virt_drivers.py')
    tree = ast.parse(source.read_text(encoding='utf-8'))
    for node in tree.body:
        if (isinstance(node, ast.ClassDef)
                and node.name == '_VirtDriverTestCase'):
            return {item.name for item in node.body
                    if isinstance(item, (ast.FunctionDef,
                                         ast.AsyncFunctionDef))
                    and item.name.startswith('test_')}
    pytest.fail(f'no class _VirtDriverTestCase in {source}')


def _implemented_but_allowed_missing(features, by_driver):
    """(feature, driver, test) for each claim the conformance run denies."""
    return [(f.id, driver, test)
            for f in features
            for driver, status in f.statuses.items() if status in IMPLEMENTED
            for test in f.conformance if test in by_driver.get(driver, ())]


def test_driver_columns_match_allowed_missing(matrix):
    columns = {d.name for d in matrix.drivers}
    assert columns == set(allowed_missing.BY_DRIVER), (
        'driver columns of doc/support-matrix.ini and keys of '
        'tests/conformance/allowed_missing.BY_DRIVER differ')


def test_implemented_features_pass_their_conformance_tests(matrix):
    problems = _implemented_but_allowed_missing(matrix.features,
                                                allowed_missing.BY_DRIVER)
    assert not problems, '\n'.join(
        f'{feature} is marked implemented for {driver}, but {test} is in '
        f'allowed_missing for {driver}' for feature, driver, test in problems)


def test_implemented_check_catches_a_denied_claim():
    # Today every status is 'missing', so the check above passes vacuously;
    # prove it would catch a contradiction.
    feature = renderer.Feature(
        id='operation.launch', title='Launch instance', status='mandatory',
        notes='', cli=(), conformance=('test_spawn',),
        statuses={'ibmz-zvm': 'complete'}, driver_notes={})
    assert _implemented_but_allowed_missing(
        [feature], {'ibmz-zvm': frozenset({'test_spawn'})}) == [
        ('operation.launch', 'ibmz-zvm', 'test_spawn')]


def test_conformance_names_exist_in_nova(matrix):
    known = _conformance_test_names()
    unknown = [(f.id, name) for f in matrix.features
               for name in f.conformance if name not in known]
    assert not unknown, '\n'.join(
        f'[{feature}] conformance: {name} is not a test of '
        f'_VirtDriverTestCase' for feature, name in unknown)


def test_markdown_is_current(matrix):
    expected = renderer.render_markdown(matrix)
    actual = MARKDOWN.read_text(encoding='utf-8') if MARKDOWN.exists() else ''
    assert actual == expected, (
        'doc/support-matrix.md is stale: run `make docs`')


_BAD_INI = """\
[driver.a]
title=A

[driver.b]
title=B

[operation.launch]
title=Launch instance
status=mandatory
driver.a=complete
{extra}
"""


@pytest.mark.parametrize('extra, message', [
    ('driver.b=done', r"\[operation\.launch\].*'done'"),
    ('', r"\[operation\.launch\].*'b'"),
], ids=['unknown-status', 'missing-status'])
def test_loader_rejects_bad_driver_status(tmp_path, extra, message):
    ini = tmp_path / 'matrix.ini'
    ini.write_text(_BAD_INI.format(extra=extra), encoding='utf-8')
    with pytest.raises(ValueError, match=message):
        renderer.load_matrix(ini)
