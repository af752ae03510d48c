# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The serial console log of a partition: its operating system messages.

The HMC keeps the messages the partition's OS wrote to its console (what
the "Operating System Messages" task shows); one List OS Messages request
returns them with sequence numbers.
"""

# Nova shows the tail of a console log; keep about what libvirt keeps.
MAX_BYTES = 100 * 1024


def output(subset, part):
    """The partition's OS messages as text, oldest first (1 request)."""
    result = subset.hmc_call(f'reading OS messages of {part.name}',
                             part.list_os_messages)
    text = ''.join(m['message-text'].rstrip('\n') + '\n'
                   for m in result.get('os-messages', []))
    return text[-MAX_BYTES:]
