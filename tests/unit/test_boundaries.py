# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The process boundaries of doc/architecture.md, checked two ways.

BOUNDARIES says, per group of packages, which modules they must never
import and why.  Each boundary is checked:

- statically: the imports of every module of the packages, read with ast
  (also those inside functions, so a lazy import is caught, and
  importlib.import_module / __import__ of a literal name), and of every
  module of this repository they reach, directly or through others; a
  violation names the chain of imports that leads to it;
- dynamically: a fresh interpreter imports every module of the packages
  (and every name in a module's __all__, which is how the nova/virt/ibmz
  shim loads the drivers) and reports each forbidden module it tried to
  import, found or not, with the module that asked for it.

The static check follows our own modules only; the dynamic one also sees
what third-party libraries import on our behalf.

What both Nova and Neutron need of the HMC or the Cloud Connector must
live in a layer that imports neither: that follows from the two
boundaries below, since such a module is reached from both sides.

A boundary whose packages do not exist yet (nova_ibmz/neutron) is checked
as soon as they do: the cases are made from the tree at collection.
"""

import ast
import dataclasses
import json
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
# Where our modules live: (directory, the module name it has).
SOURCES = (('nova_ibmz', 'nova_ibmz'), ('nova/virt/ibmz', 'nova.virt.ibmz'))
SCAFFOLDING = ('nova_ibmz.sim', 'nova_ibmz.sandbox')


@dataclasses.dataclass(frozen=True)
class Boundary:
    packages: tuple     # module names; each with every module under it
    forbidden: tuple    # module names; each with every module under it
    why: str


BOUNDARIES = (
    Boundary(
        packages=('nova_ibmz.sim',),
        forbidden=('nova', 'neutron', 'nova_ibmz.dpm', 'nova_ibmz.zvm',
                   'nova_ibmz.neutron', 'nova_ibmz.sandbox'),
        why='a simulator stands for the HMC or the Cloud Connector: it '
            'speaks their protocol and knows nothing of its clients, so a '
            'test against it checks the protocol, not our reading of it'),
    Boundary(
        packages=('nova_ibmz.dpm', 'nova_ibmz.zvm', 'nova_ibmz.conf',
                  'nova_ibmz.common', 'nova.virt.ibmz'),
        forbidden=('neutron', 'nova_ibmz.neutron') + SCAFFOLDING,
        why='nova-compute loads these; Neutron registers its options on '
            'the same global oslo CONF as Nova, so the two never share a '
            'process; and a compute host runs no simulator or sandbox'),
    Boundary(
        packages=('nova_ibmz.neutron',),
        forbidden=('nova', 'nova_ibmz.dpm.driver', 'nova_ibmz.zvm.driver',
                   # its __init__ registers [dpm] and [zvm] on nova's CONF
                   # and runs before any of its modules is imported
                   'nova_ibmz.conf') + SCAFFOLDING,
        why='the Neutron agents load these; Nova registers its options on '
            'the same global oslo CONF as Neutron, so the two never share '
            'a process; and an agent host runs no simulator or sandbox'),
    Boundary(
        packages=('nova_ibmz.hmc', 'nova_ibmz.connector'),
        forbidden=('nova', 'neutron', 'nova_ibmz.conf', 'nova_ibmz.neutron',
                   'nova_ibmz.dpm', 'nova_ibmz.zvm', 'nova_ibmz.common')
        + SCAFFOLDING,
        why='both nova-compute and the Neutron agents use what these hold '
            'of the HMC and of the Cloud Connector, and Nova and Neutron '
            'never share a process: they import neither'),
)
# Packages a boundary may name before they exist.
PLANNED = {'nova_ibmz.neutron', 'nova_ibmz.connector'}


def is_under(name, prefixes):
    """Whether module name is one of prefixes or inside one of them."""
    return any(name == p or name.startswith(p + '.') for p in prefixes)


def index(root=REPO, sources=SOURCES):
    """{module name: path} of every module under the source directories."""
    modules = {}
    for directory, package in sources:
        base = root / directory
        for path in sorted(base.rglob('*.py')):
            parts = list(path.relative_to(base).with_suffix('').parts)
            if parts[-1] == '__init__':
                parts.pop()
            modules['.'.join([package] + parts)] = path
    return modules


def imports(name, path):
    """(line, imported module name) of every import in a module, at any
    depth.  `from a import b` gives a.b: b may be a module."""
    is_package = path.name == '__init__.py'
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                package = name.split('.')
                if not is_package:
                    package.pop()
                package = package[:len(package) - node.level + 1]
                base = '.'.join(package + ([base] if base else []))
            found += [(node.lineno, f'{base}.{alias.name}')
                      for alias in node.names]
        elif (isinstance(node, ast.Call) and node.args and
              isinstance(node.args[0], ast.Constant) and
              isinstance(node.args[0].value, str) and
              ast.unparse(node.func) in ('importlib.import_module',
                                         'import_module', '__import__')):
            found.append((node.lineno, node.args[0].value))
    return found


def reached(imported, modules):
    """Our modules an import runs: each package on the way, and the
    module itself."""
    parts = imported.split('.')
    return [m for m in ('.'.join(parts[:n]) for n in range(1, len(parts) + 1))
            if m in modules]


def members(packages, modules):
    """The modules of the packages that exist."""
    return sorted(m for m in modules if is_under(m, packages))


def static_violations(boundary, modules=None):
    """'<chain of imports>' for each import statement, in the packages
    or in a module of ours they reach, of a forbidden module."""
    modules = index() if modules is None else modules
    start = members(boundary.packages, modules)
    via = dict.fromkeys(start)        # module -> (importer, line) or None
    queue, found = list(start), {}
    while queue:
        module = queue.pop(0)
        for line, imported in imports(module, modules[module]):
            if is_under(imported, boundary.forbidden):
                found.setdefault((module, line, imported),
                                 chain(module, line, imported, via, modules))
                continue
            for target in reached(imported, modules):
                if target not in via:
                    via[target] = (module, line)
                    queue.append(target)
    return [found[key] for key in sorted(found)]


def chain(module, line, imported, via, modules):
    links = [f'{where(modules[module])}:{line} imports {imported}']
    while via[module] is not None:
        importer, at = via[module]
        links.insert(0, f'{where(modules[importer])}:{at} imports {module}')
        module = importer
    return '; '.join(links)


def where(path):
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


def tops(modules):
    """The modules of the index that no other module of it contains."""
    return sorted(m for m in modules
                  if not any(is_under(m, [o]) for o in modules if o != m))


def dynamic_violations(boundary, modules=None, path=()):
    """Run the probe (this file as a script) in a fresh interpreter on
    the packages' modules: (modules it imported, its violations)."""
    modules = index() if modules is None else modules
    names = members(boundary.packages, modules)
    command = [sys.executable, __file__, json.dumps(
        {'modules': names, 'forbidden': list(boundary.forbidden),
         'ours': tops(modules),
         'path': ':'.join(str(p) for p in path)})]
    result = subprocess.run(command, cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    return report['imported'], report['violations']


def probe(modules, forbidden, ours, path):
    """In a fresh interpreter: import each module, touch every name of
    its __all__, and record every attempt to import a forbidden module
    (a meta path finder sees it even when the import then fails), with
    the module asking for it and our module that led there.  Only the
    way in is reported: not what a forbidden module imports in turn."""
    import importlib
    import importlib.abc

    def asked_by():
        frame, importer, ours_on_stack = sys._getframe(2), None, None
        while frame is not None:
            name = frame.f_globals.get('__name__', '')
            if not (frame.f_code.co_filename.startswith('<frozen') or
                    name == '__main__'):
                here = f'{name}:{frame.f_lineno}'
                importer = importer or here
                if ours_on_stack is None and is_under(name, ours):
                    ours_on_stack = here
            frame = frame.f_back
        return importer or '?', ours_on_stack

    attempts = {}

    class Watch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, search_path, target=None):
            if is_under(name, forbidden):
                attempts.setdefault(name, asked_by())
            return None

    if path:
        sys.path[:0] = path.split(':')
    early = [m for m in sys.modules if is_under(m, forbidden)]
    sys.meta_path.insert(0, Watch())
    imported = []
    for name in modules:
        module = importlib.import_module(name)
        for attribute in getattr(module, '__all__', ()):
            getattr(module, attribute)
        imported.append(name)
    violations = [f'{name} was loaded before the probe began'
                  for name in early]
    for name, (importer, ours_on_stack) in sorted(attempts.items()):
        if is_under(importer.partition(':')[0], forbidden):
            continue    # inside forbidden land: its entry is reported
        violations.append(f'{name} imported by {importer}' + (
            f' (from {ours_on_stack})'
            if ours_on_stack and ours_on_stack != importer else ''))
    violations += [f'{name} is loaded (no finder was asked)'
                   for name in sorted(sys.modules)
                   if is_under(name, forbidden) and name not in attempts
                   and name not in early]
    return {'imported': imported, 'violations': violations}


def cases():
    """(id, boundary) of each boundary with a package that exists."""
    modules = index()
    return [(boundary.packages[0], boundary) for boundary in BOUNDARIES
            if members(boundary.packages, modules)]


CASES = cases()


def message(violations, boundary):
    return '\n'.join(violations + [f'why: {boundary.why}'])


@pytest.mark.parametrize('boundary', [b for _, b in CASES],
                         ids=[i for i, _ in CASES])
def test_no_forbidden_import_in_the_source(boundary):
    violations = static_violations(boundary)
    assert violations == [], message(violations, boundary)


@pytest.mark.parametrize('boundary', [b for _, b in CASES],
                         ids=[i for i, _ in CASES])
def test_no_forbidden_module_is_loaded(boundary):
    expected = members(boundary.packages, index())
    imported, violations = dynamic_violations(boundary)
    assert violations == [], message(violations, boundary)
    assert imported == expected


def test_every_package_of_a_boundary_exists_or_is_planned():
    """A misspelt package would silently check nothing."""
    modules = index()
    missing = {p for b in BOUNDARIES for p in b.packages
               if p not in modules} - PLANNED
    assert missing == set()
    assert {b.packages[0] for _, b in CASES} >= {
        'nova_ibmz.sim', 'nova_ibmz.dpm'}


# The checks can fail: a package with forbidden imports of each kind, in
# a scratch directory.
FAKE = {
    'fake/__init__.py': '',
    'fake/agent.py': (
        'import json\n'
        'from fake import helper\n'
        '\n'
        '\n'
        'def later():\n'
        '    import xml.dom.minidom\n'
        '    return xml.dom.minidom\n'),
    'fake/helper.py': (
        'from . import deep\n'
        'import importlib\n'
        'LOADED = importlib.import_module("wsgiref.headers")\n'),
    'fake/deep.py': (
        'from wsgiref import util\n'
        'try:\n'
        '    import absent_forbidden_package\n'
        'except ImportError:\n'
        '    pass\n'),
    # reached by nothing the boundary holds: not reported
    'fake/unused/__init__.py': 'import xml\n',
}
FAKE_BOUNDARY = Boundary(
    packages=('fake.agent',),
    forbidden=('xml', 'wsgiref', 'absent_forbidden_package'),
    why='a test of the checks')


@pytest.fixture
def fake(tmp_path):
    for name, text in FAKE.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path, index(tmp_path, (('fake', 'fake'),))


def test_the_static_check_follows_lazy_relative_and_indirect_imports(fake):
    root, modules = fake
    assert sorted(modules) == ['fake', 'fake.agent', 'fake.deep',
                               'fake.helper', 'fake.unused']
    found = static_violations(FAKE_BOUNDARY, modules)
    via_helper = (f'{root}/fake/agent.py:2 imports fake.helper; '
                  f'{root}/fake/helper.py:1 imports fake.deep; ')
    assert found == [
        f'{root}/fake/agent.py:6 imports xml.dom.minidom',
        f'{via_helper}{root}/fake/deep.py:1 imports wsgiref.util',
        f'{via_helper}{root}/fake/deep.py:3 imports absent_forbidden_package',
        f'{root}/fake/agent.py:2 imports fake.helper; '
        f'{root}/fake/helper.py:3 imports wsgiref.headers',
    ]


def test_the_dynamic_check_sees_attempts_and_who_made_them(fake):
    root, modules = fake
    imported, found = dynamic_violations(FAKE_BOUNDARY, modules, [root])
    assert imported == ['fake.agent']
    # The lazy import in a function is the static check's to find.
    assert not any(v.startswith('xml') for v in found)
    assert 'absent_forbidden_package imported by fake.deep:3' in found
    assert 'wsgiref imported by fake.deep:1' in found
    assert any(v.startswith('wsgiref.headers imported by importlib:')
               and v.endswith('(from fake.helper:3)') for v in found), found


if __name__ == '__main__':
    print(json.dumps(probe(**json.loads(sys.argv[1]))))
