# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The names and the mark of OpenStack's guests on a z/VM system, for the
z/VM Nova driver and the z/VM Neutron agent.

A guest's userid is the Nova instance name (instance_name_template, such
as "os%06x"), which CP keeps in upper case.  Our driver also writes a
comment line into the guest's directory entry when it defines the guest,
"* NOVA-IBMZ INSTANCE <uuid>" (makevm writes comments in upper case): the
directory outlives a member of an SSI cluster and names the instance.
Nova's in-tree z/VM driver writes no such line.
"""

import re

# The comment's text before the uuid, as our driver passes it to POST
# /guests.
MARK_PREFIX = 'nova-ibmz instance '


def name_pattern(template):
    """A regex of the userids template gives (upper case): "os%06x" gives
    OS followed by at least six hex digits."""
    regex, pos = '', 0
    for field in re.finditer(r'%0?(\d*)([dixX])', template):
        regex += re.escape(template[pos:field.start()].upper())
        regex += '[0-9A-F]' if field.group(2) in 'xX' else '[0-9]'
        regex += f'{{{int(field.group(1))},}}' if field.group(1) else '+'
        pos = field.end()
    return re.compile(regex + re.escape(template[pos:].upper()) + '$')


def marked_uuid(directory_entry):
    """The instance uuid the directory entry (its lines) is marked with,
    or None."""
    prefix = f'* {MARK_PREFIX.upper()}'
    return next((line[len(prefix):].strip().lower()
                 for line in directory_entry if line.startswith(prefix)),
                None)
