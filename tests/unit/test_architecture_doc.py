# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""doc/architecture.md stays true to the tree.

- Every module under nova_ibmz/ and the nova/virt/ibmz shim has one line
  "- `path`: its role." under the heading "### `its directory/`".  A new
  module fails here until its line is written.
- Every path the page names in backticks exists; "`file.py::name`" also
  names something file.py defines (a fixture, a function, a class).
  Every relative link resolves.  Only PLANNED paths may be missing.
- The glossary explains (in bold) the words a newcomer meets.
"""

import ast
import pathlib
import re

REPO = pathlib.Path(__file__).resolve().parents[2]
DOC = 'doc/architecture.md'
SOURCES = ('nova_ibmz', 'nova/virt/ibmz')
# Paths the page may name before they exist (as test_boundaries.PLANNED).
PLANNED = {'nova_ibmz/neutron/'}

HEADING = re.compile(r'^#{1,6}\s')
PACKAGE_HEADING = re.compile(r'^###\s+`([\w/]+/)`\s*$')
MODULE_LINE = re.compile(r'^- `([\w/]+\.py)`: (.*)$')
# A path in backticks: no blank, not from the root, with a slash; maybe
# "::name" after it.
PATH = re.compile(r'`([\w.-]+(?:/[\w.-]+)*/[\w.-]*)(?:::(\w+))?`')
LINK = re.compile(r'\]\(([^)\s]+)\)')
GLOSSARY_TERMS = (
    'HMC', 'CPC', 'DPM', 'PR/SM', 'partition', 'CPC subset', 'IFL', 'NIC',
    'virtual switch', 'OSA', 'HiperSockets', 'HBA', 'storage group', 'FCP',
    'NPIV', 'WWPN', 'boot-os-specific-parameters', 'z/VM', 'SSI cluster',
    'SSI member', 'userid', 'directory entry', 'CP', 'SMAPI', 'vswitch',
    'minidisk', 'ECKD / FBA', 'Cloud Connector', 'reader / punch',
    'VMRELOCATE', 'nova-dpm', 'networking-dpm', 'nova-zvm-virt-driver',
    'networking-zvm')


def modules(root=REPO):
    """The path of every module of ours, relative to root."""
    return sorted(str(path.relative_to(root))
                  for source in SOURCES
                  for path in (root / source).rglob('*.py'))


def module_lines(text):
    """[(line number, package heading, module path, role)]."""
    found, package = [], None
    for number, line in enumerate(text.splitlines(), 1):
        if HEADING.match(line):
            heading = PACKAGE_HEADING.match(line)
            package = heading.group(1) if heading else None
        entry = MODULE_LINE.match(line)
        if entry:
            found.append((number, package) + entry.groups())
    return found


def module_problems(text, paths):
    """What the page gets wrong about the modules at paths."""
    problems, seen = [], set()
    for number, package, path, role in module_lines(text):
        if path in seen:
            problems.append(f'line {number}: {path} has a second line')
        seen.add(path)
        if package != path.rpartition('/')[0] + '/':
            problems.append(f'line {number}: {path} is not under the '
                            f'heading of its directory')
        if len(role.split()) < 3:
            problems.append(f'line {number}: {path} says no role')
    problems += [f'{path} has no line: add "- `{path}`: its role." under '
                 f'"### `{path.rpartition("/")[0]}/`"'
                 for path in paths if path not in seen]
    return problems


def defines(path, name):
    """Whether a Python file defines name at its top level."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            if node.name == name:
                return True
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = getattr(node, 'targets',
                              [getattr(node, 'target', None)])
            if any(getattr(t, 'id', None) == name for t in targets):
                return True
    return False


def path_problems(text, root=REPO, base='doc'):
    """The paths and links of the page that do not exist."""
    problems = []
    for number, line in enumerate(text.splitlines(), 1):
        for path, name in PATH.findall(line):
            if path in PLANNED:
                continue
            if not (root / path).exists():
                problems.append(f'line {number}: {path} does not exist')
            elif name and not defines(root / path, name):
                problems.append(f'line {number}: {path} defines no {name}')
        for target in LINK.findall(line):
            path = target.partition('#')[0]
            if (path and not re.match(r'^[a-z]+:', target) and
                    not (root / base / path).exists()):
                problems.append(f'line {number}: link {target} is broken')
    return problems


def glossary_problems(text):
    glossary = text.partition('\n## Glossary\n')[2]
    terms = set(re.findall(r'\*\*(.+?)\*\*', glossary))
    return [f'the glossary does not explain {term}'
            for term in GLOSSARY_TERMS if term not in terms]


def read():
    return (REPO / DOC).read_text()


def test_every_module_has_its_line():
    assert module_problems(read(), modules()) == []


def test_every_path_the_page_names_exists():
    text = read()
    assert PATH.findall(text), 'no path found: is the pattern broken?'
    assert path_problems(text) == []


def test_the_glossary_has_the_words_a_newcomer_meets():
    assert glossary_problems(read()) == []


def test_the_checks_fail_on_a_page_that_is_wrong():
    """A missing, misplaced, doubled and empty module line, a path and a
    fixture that do not exist, a broken link, a missing glossary word."""
    text = '\n'.join([
        '### `nova_ibmz/dpm/`',
        '- `nova_ibmz/dpm/driver.py`: DPMDriver, which maps Nova calls.',
        '- `nova_ibmz/zvm/driver.py`: ZVMDriver, under the wrong heading.',
        '- `nova_ibmz/dpm/driver.py`: the same module again, twice.',
        '### `nova_ibmz/zvm/`',
        '- `nova_ibmz/zvm/client.py`: client',
        'Started by `tests/hmc.py::server` and `tests/hmc.py::servre`,',
        'or `tests/nothing.py`; see [the guide](no-such-guide.md).',
        '## Glossary',
        '- **HMC**: the Hardware Management Console.',
    ])
    paths = ['nova_ibmz/dpm/driver.py', 'nova_ibmz/dpm/host.py',
             'nova_ibmz/zvm/client.py', 'nova_ibmz/zvm/driver.py']
    assert module_problems(text, paths) == [
        'line 3: nova_ibmz/zvm/driver.py is not under the heading of its '
        'directory',
        'line 4: nova_ibmz/dpm/driver.py has a second line',
        'line 6: nova_ibmz/zvm/client.py says no role',
        'nova_ibmz/dpm/host.py has no line: add "- `nova_ibmz/dpm/host.py`: '
        'its role." under "### `nova_ibmz/dpm/`"',
    ]
    assert path_problems(text) == [
        'line 7: tests/hmc.py defines no servre',
        'line 8: tests/nothing.py does not exist',
        'line 8: link no-such-guide.md is broken',
    ]
    missing = glossary_problems(text)
    assert 'the glossary does not explain HMC' not in missing
    assert 'the glossary does not explain SSI member' in missing
