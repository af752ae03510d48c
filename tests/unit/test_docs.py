# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The operator guides in doc/ name only options and files that exist.

For each guide:

- every option line ("name = value", also "#name = value") in a fenced
  code block under a [dpm] or [zvm] header, and every inline reference
  "[dpm] name" or "[zvm] name" in the prose, names an option registered
  in that group by nova_ibmz.conf;
- in a code block that is a nova.conf snippet (it has a [dpm] or [zvm]
  header), the options of every other section exist in nova's own
  configuration too ([DEFAULT] host, compute_driver, ...);
- a code block that sets a network agent's mapping option
  (physical_network_adapter_mappings, vswitch_mappings) is that agent's
  configuration file instead: each of its options, in every section, is
  one of the agent's own (nova_ibmz.neutron.dpm.options,
  nova_ibmz.neutron.zvm.options, which import no neutron);
- every path under guest_tools/ and every relative link exists in the
  repository.

An inline reference is a group in brackets, blanks, then the option name,
with or without backticks around either: "`[dpm] hmc`", "[dpm] `hmc`".
A group named on its own is written "`[dpm]`": the backtick right after
the bracket ends the reference.
"""

import pathlib
import re

import pytest

from nova_ibmz import conf
from nova_ibmz.neutron.dpm import options as dpm_agent_options
from nova_ibmz.neutron.zvm import options as zvm_agent_options

REPO = pathlib.Path(__file__).resolve().parents[2]
GUIDES = ('doc/dpm-images.md', 'doc/zvm-images.md', 'doc/deployment.md')
OUR_GROUPS = ('dpm', 'zvm')

FENCE = re.compile(r'^\s*(```|~~~)')
SECTION = re.compile(r'^\s*\[([A-Za-z0-9_.-]+)\]\s*$')
OPTION_LINE = re.compile(r'^\s*#?\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)')
INLINE = re.compile(r'\[(dpm|zvm)\][ \t]+`?([A-Za-z_][A-Za-z0-9_]*)')
GUEST_TOOLS = re.compile(r'guest_tools/[A-Za-z0-9_./-]*[A-Za-z0-9_-]')
LINK = re.compile(r'\]\(([^)\s]+)\)')


def registered():
    """{group: option names} as nova_ibmz.conf registers them, checked
    against what nova's CONF holds after the registration."""
    groups = {group.name: {opt.name for opt in opts}
              for group, opts in conf.list_opts()}
    for name, options in groups.items():
        assert options <= set(conf.CONF[name]), name
    return groups


def agent_groups(list_opts):
    """{section: option names} of an agent's options."""
    return {(group.name if group else 'DEFAULT'): {opt.name for opt in opts}
            for group, opts in list_opts()}


# The option only an agent's file sets, and that agent's options.
AGENT_FILES = {
    'physical_network_adapter_mappings': agent_groups(
        dpm_agent_options.list_opts),
    'vswitch_mappings': agent_groups(zvm_agent_options.list_opts),
}


def agent_of(lines):
    """The options of the agent whose file a code block is, or None."""
    for line in lines:
        option = OPTION_LINE.match(line)
        if option and option.group(1) in AGENT_FILES:
            return AGENT_FILES[option.group(1)]
    return None


def nova_option_exists(section, name):
    """Whether nova's CONF (with our groups) has the option."""
    if section == 'DEFAULT':
        return name in conf.CONF
    try:
        return name in conf.CONF[section]
    except Exception:
        return False


def code_blocks(text):
    """(first line number, [lines]) of each fenced code block."""
    blocks, current, start = [], None, 0
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            if current is None:
                current, start = [], number + 1
            else:
                blocks.append((start, current))
                current = None
        elif current is not None:
            current.append(line)
    assert current is None, f'code block from line {start} is not closed'
    return blocks


def prose(text):
    """(line number, line) of every line outside fenced code blocks."""
    inside = False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            inside = not inside
        elif not inside:
            yield number, line


def block_options(start, lines):
    """(line number, section, option) of each option line of a block
    that has a [dpm] or [zvm] header; none for other blocks."""
    found, section = [], None
    for number, line in enumerate(lines, start):
        header = SECTION.match(line)
        if header:
            section = header.group(1)
        elif section is not None:
            option = OPTION_LINE.match(line)
            if option:
                found.append((number, section, option.group(1)))
    if not any(s in OUR_GROUPS for _, s, _ in found):
        return []
    return found


def references(text):
    """(line number, section, option) of every option the text names."""
    refs = []
    for start, lines in code_blocks(text):
        refs += block_options(start, lines)
    for number, line in prose(text):
        refs += [(number, m.group(1), m.group(2))
                 for m in INLINE.finditer(line)]
    return refs


def unknown_options(text, groups):
    """The references of text to options that do not exist."""
    bad = []

    def check(number, section, name, exists):
        if not exists:
            bad.append(f'line {number}: [{section}] {name}')

    for start, lines in code_blocks(text):
        agent = agent_of(lines)
        for number, section, name in block_options(start, lines):
            check(number, section, name,
                  name in agent.get(section, ()) if agent else
                  nova_knows(groups, section, name))
    for number, line in prose(text):
        for m in INLINE.finditer(line):
            check(number, m.group(1), m.group(2),
                  nova_knows(groups, m.group(1), m.group(2)))
    return bad


def nova_knows(groups, section, name):
    """Whether nova.conf (with our groups) has [section] name."""
    if section in groups:
        return name in groups[section]
    return nova_option_exists(section, name)


def read(guide):
    return (REPO / guide).read_text()


@pytest.mark.parametrize('guide', GUIDES)
def test_guide_names_only_registered_options(guide):
    text = read(guide)
    groups = registered()
    refs = references(text)
    assert any(section in OUR_GROUPS for _, section, _ in refs), (
        f'{guide} names no [dpm] or [zvm] option: is the parser broken?')
    assert unknown_options(text, groups) == []


@pytest.mark.parametrize('guide', GUIDES)
def test_guide_paths_under_guest_tools_exist(guide):
    missing = sorted({path for path in GUEST_TOOLS.findall(read(guide))
                      if not (REPO / path).exists()})
    assert missing == []


def anchors(text):
    """The anchors GitHub gives the headings of a Markdown text."""
    slugs = set()
    for _, line in prose(text):
        heading = re.match(r'^#{1,6}\s+(.*?)\s*$', line)
        if heading:
            title = heading.group(1).lower()
            slugs.add(re.sub(r'[^\w\- ]', '', title).replace(' ', '-'))
    return slugs | set(re.findall(r'<a id="([^"]+)"', text))


@pytest.mark.parametrize('guide', GUIDES)
def test_guide_relative_links_resolve(guide):
    base = (REPO / guide).parent
    missing = []
    for target in LINK.findall(read(guide)):
        if re.match(r'^[a-z]+:', target):
            continue
        path, _, anchor = target.partition('#')
        path = base / path if path else REPO / guide
        if not path.exists() or (
                anchor and path.suffix == '.md' and
                anchor not in anchors(path.read_text())):
            missing.append(target)
    assert missing == []


def test_misspelled_options_are_found():
    """The checks can fail: a misspelled option, in a code block or in
    the prose, and an unknown option of nova's own sections."""
    text = '\n'.join([
        'Set `[dpm] hmc_ca_file`, never [zvm] `disk_pol`.',
        'The `[dpm]` group on its own is no reference.',
        '```ini',
        '[DEFAULT]',
        'compute_drivr = ibmz.DPMDriver',
        '[dpm]',
        'hmc = hmc.example.org',
        '#max_memroy = 512',
        '[zvm]',
        'disk_pool = ECKD:POOL1',
        '```',
        '```sh',
        'FOO=bar   # no [dpm] header: not an option block',
        '```',
    ])
    assert unknown_options(text, registered()) == [
        'line 5: [DEFAULT] compute_drivr',
        'line 8: [dpm] max_memroy',
        'line 1: [zvm] disk_pol',
    ]


def test_agent_files_are_checked_against_the_agents_options():
    """A block that sets vswitch_mappings is the z/VM agent's file: a
    nova.conf option in it is as wrong as a misspelled agent option;
    [agent] report_interval and [DEFAULT] instance_name_template are
    the agent's."""
    text = '\n'.join([
        '```ini',
        '[DEFAULT]',
        'instance_name_template = os%06x',
        '[zvm]',
        'vswitch_mappings = provider:VSWITCH1',
        'disk_pool = ECKD:POOL1',
        '[agent]',
        'report_interval = 30',
        '#poling_interval = 2',
        '```',
    ])
    assert unknown_options(text, registered()) == [
        'line 6: [zvm] disk_pool',
        'line 9: [agent] poling_interval',
    ]
