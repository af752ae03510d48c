# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Render doc/support-matrix.ini (Nova's support-matrix format) as Markdown.

Usage: python doc/tools/render_support_matrix.py [INI] [-o OUT.md]

Standard library only, so `make docs` works without Sphinx or Nova.
"""

import argparse
import configparser
import dataclasses
import html
import pathlib
import re
import sys
import typing

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_INI = REPO_ROOT / 'doc' / 'support-matrix.ini'

DRIVER_PREFIX = 'driver.'
NOTES_PREFIX = 'driver-notes.'
# The values Nova's Sphinx extension accepts.
IMPL_STATUSES = ('complete', 'partial', 'missing', 'unknown')
FEATURE_STATUS_RE = re.compile(
    r'^(mandatory|optional|choice\([^()]+\)|condition\([^()]+\))$')


@dataclasses.dataclass(frozen=True)
class Driver:
    name: str      # the <name> of [driver.<name>], e.g. 'ibmz-zvm'
    title: str
    link: str = ''


@dataclasses.dataclass(frozen=True)
class Feature:
    id: str        # the section name, e.g. 'operation.attach-volume'
    title: str
    status: str    # mandatory, optional, choice(...) or condition(...)
    notes: str
    cli: tuple     # client commands
    conformance: tuple  # _VirtDriverTestCase test method names
    statuses: dict      # driver name -> complete|partial|missing|unknown
    driver_notes: dict  # driver name -> note (only drivers that have one)


class Matrix(typing.NamedTuple):
    features: list
    drivers: list


def _flat(value):
    # Continuation lines come back with newlines and indentation.
    return ' '.join(value.split())


def load_matrix(path):
    """Parse the ini file; raise ValueError on anything Nova would reject."""
    # No interpolation: notes may contain '%'.
    cfg = configparser.ConfigParser(interpolation=None)
    with open(path, encoding='utf-8') as f:
        cfg.read_file(f)

    drivers = []
    for section in cfg.sections():
        if section.startswith(DRIVER_PREFIX):
            if not cfg.has_option(section, 'title'):
                raise ValueError(f"[{section}]: 'title' is missing")
            drivers.append(Driver(name=section[len(DRIVER_PREFIX):],
                                  title=cfg.get(section, 'title'),
                                  link=cfg.get(section, 'link', fallback='')))
    names = [d.name for d in drivers]

    features = []
    for section in cfg.sections():
        if section.startswith(DRIVER_PREFIX):
            continue
        for key in ('title', 'status'):
            if not cfg.has_option(section, key):
                raise ValueError(f"[{section}]: '{key}' is missing")
        status = cfg.get(section, 'status').strip()
        if not FEATURE_STATUS_RE.match(status):
            raise ValueError(f"[{section}]: invalid status {status!r}")

        statuses, notes = {}, {}
        for key, value in cfg.items(section):
            for prefix, target in ((DRIVER_PREFIX, statuses),
                                   (NOTES_PREFIX, notes)):
                if not key.startswith(prefix):
                    continue
                name = key[len(prefix):]
                if name not in names:
                    raise ValueError(
                        f"[{section}]: {key!r} names an undeclared driver")
                target[name] = _flat(value)
        for name in names:
            if name not in statuses:
                raise ValueError(
                    f"[{section}]: no status for driver {name!r} "
                    f"(add {DRIVER_PREFIX}{name}=)")
            if statuses[name] not in IMPL_STATUSES:
                raise ValueError(
                    f"[{section}]: invalid status {statuses[name]!r} for "
                    f"driver {name!r}; allowed: {', '.join(IMPL_STATUSES)}")

        cli = cfg.get(section, 'cli', fallback='')
        features.append(Feature(
            id=section,
            title=_flat(cfg.get(section, 'title')),
            status=status,
            notes=_flat(cfg.get(section, 'notes', fallback='')),
            cli=tuple(c.strip() for c in cli.split(';') if c.strip()),
            conformance=tuple(
                cfg.get(section, 'conformance', fallback='').split()),
            statuses={n: statuses[n] for n in names},  # column order
            driver_notes={n: notes[n] for n in names if n in notes},
        ))
    return Matrix(features=features, drivers=drivers)


def _anchor(feature_id):
    return re.sub(r'[^a-z0-9]+', '-', feature_id.lower()).strip('-')


def _text(value):
    # Notes are prose, not HTML: keep '<server>'-style text visible.
    return html.escape(value, quote=False)


def _cell(value):
    return _text(value).replace('|', '\\|')


def _driver_heading(driver):
    title = _cell(driver.title)
    return f'[{title}]({driver.link})' if driver.link else title


def render_markdown(matrix):
    out = [
        '<!-- Generated from doc/support-matrix.ini by',
        '     doc/tools/render_support_matrix.py: do not edit, run'
        ' `make docs`. -->',
        '',
        '# Feature support matrix',
        '',
        'Feature status of the nova-ibmz compute drivers, in the rows of'
        " Nova's own support matrix. Driver statuses: complete, partial,"
        ' missing, unknown.',
        '',
        '## Summary',
        '',
        '| Feature | Status | '
        + ' | '.join(_driver_heading(d) for d in matrix.drivers) + ' |',
        '| --- | --- |' + ' --- |' * len(matrix.drivers),
    ]
    for f in matrix.features:
        row = [f'[{_cell(f.title)}](#{_anchor(f.id)})', _cell(f.status)]
        row += [f.statuses[d.name] for d in matrix.drivers]
        out.append('| ' + ' | '.join(row) + ' |')

    out += ['', '## Details']
    for f in matrix.features:
        out += ['', f'<a id="{_anchor(f.id)}"></a>', '',
                f'### {_text(f.title)}', '',
                f'- Id: `{f.id}`', f'- Status: {_text(f.status)}']
        if f.cli:
            out.append('- CLI: ' + ', '.join(f'`{c}`' for c in f.cli))
        if f.conformance:
            out.append('- Conformance tests: '
                       + ', '.join(f'`{t}`' for t in f.conformance))
        if f.notes:
            out += ['', _text(f.notes)]
        out += ['', 'Drivers:', '']
        for d in matrix.drivers:
            line = f'- **{_text(d.title)}**: {f.statuses[d.name]}'
            if d.name in f.driver_notes:
                line += '. ' + _text(f.driver_notes[d.name])
            out.append(line)
    return '\n'.join(out) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('ini', nargs='?', default=str(DEFAULT_INI),
                        help='support matrix ini (default: %(default)s)')
    parser.add_argument('-o', '--output',
                        help='Markdown file to write (default: stdout)')
    args = parser.parse_args(argv)
    try:
        text = render_markdown(load_matrix(args.ini))
    except (OSError, ValueError, configparser.Error) as exc:
        parser.exit(1, f'{parser.prog}: error: {exc}\n')
    if args.output:
        pathlib.Path(args.output).write_text(text, encoding='utf-8')
    else:
        sys.stdout.write(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
