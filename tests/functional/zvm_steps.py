# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Steps both z/VM functional tests take (nova's in-tree driver and ours).
case is the test: a nova _IntegratedTestBase with _guest(server), the
simulator's record of the server's guest."""


def reboot_and_pause(case, server):
    """Soft and hard reboot, then pause and unpause; CP's state of the
    guest follows each."""
    # Soft: the guest shuts itself down and CP logs it on again; hard: CP
    # logs it off and on without asking it.
    for hard, shut_itself_down in ((False, True), (True, False)):
        mark = len(case._guest(server).console)
        case._reboot_server(server, hard=hard)
        guest = case._guest(server)
        lines = guest.console[mark:]
        case.assertEqual(
            (shut_itself_down, True, 'on'),
            (any('SHUTDOWN (reboot)' in line for line in lines),
             any('LOGOFF' in line for line in lines), guest.state))

    case.api.post_server_action(server['id'], {'pause': None})
    case._wait_for_state_change(server, 'PAUSED')
    case.assertEqual('paused', case._guest(server).state)
    case.api.post_server_action(server['id'], {'unpause': None})
    case._wait_for_state_change(server, 'ACTIVE')
    case.assertEqual('on', case._guest(server).state)
