# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Neutron's agent RPC as an agent loop sees it, in memory: ML2's device
calls (PluginApi) and the state reports (PluginReportStateAPI), answering
as ML2 does and recording every call, for tests that watch an agent loop
without a neutron-server."""

from neutron_lib.agent import constants as agent_consts

HOST = 'subset-7'


class Plugin:
    """ML2's agent RPC as it answers: a device is a port bound to a host;
    devices of no port get {'device': d} only."""

    def __init__(self):
        self.ports = {}          # device -> its port (a dict)
        self.status = {}         # port id -> ACTIVE/DOWN
        self.calls = []
        self.failures = {}       # method -> exception for its next call
        self.fail_up = set()     # devices whose up the server fails

    def bind(self, device, host=HOST, admin_state_up=True,
             physical_network='physnet1'):
        """A port of device (its MAC) bound to host; its id."""
        port_id = f'port-{device[-2:]}'
        self.ports[device] = {'id': port_id, 'host': host,
                              'admin_state_up': admin_state_up,
                              'physical_network': physical_network}
        return port_id

    def _call(self, name, **kwargs):
        self.calls.append((name, kwargs))
        if name in self.failures:
            raise self.failures.pop(name)

    def get_devices_details_list(self, context, devices, agent_id,
                                 host=None):
        self._call('details', devices=list(devices), host=host)
        answers = []
        for device in devices:
            if device not in self.ports:
                answers.append({'device': device})
                continue
            port = self.ports[device]
            if port['host'] != host:
                answers.append({'device': device, 'no_active_binding': True})
                continue
            answers.append({'device': device, 'port_id': port['id'],
                            'mac_address': device,
                            'admin_state_up': port['admin_state_up'],
                            'network_type': 'flat',
                            'physical_network': port['physical_network'],
                            'segmentation_id': None})
        return answers

    def update_device_list(self, context, devices_up, devices_down,
                           agent_id, host):
        self._call('update', up=list(devices_up), down=list(devices_down),
                   host=host)
        failed_up = [d for d in devices_up if d in self.fail_up]
        for device in devices_up:
            if device not in failed_up:
                self.status[self.ports[device]['id']] = 'ACTIVE'
        for device in devices_down:
            if device in self.ports:
                self.status[self.ports[device]['id']] = 'DOWN'
        return {'devices_up': [d for d in devices_up if d not in failed_up],
                'failed_devices_up': failed_up,
                'devices_down': list(devices_down),
                'failed_devices_down': []}


class State:
    """PluginReportStateAPI: records reports, answers alive."""

    def __init__(self):
        self.reports = []
        self.answer = agent_consts.AGENT_ALIVE
        self.failure = None

    def report_state(self, context, agent_state, use_call=False):
        if self.failure:
            raise self.failure
        self.reports.append((dict(agent_state), use_call))
        return self.answer
