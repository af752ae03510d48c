# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""A trivial agent for nova_ibmz.neutron.server's ``[ibmz_sandbox]
agents`` hook: ``tests.fake_agent:FakeAgent:<file.json>``.

It reports itself alive, with its own host name and the configurations
its file gives, through Neutron's own agent RPC (PluginReportStateAPI),
and reports up, through PluginApi.update_device_up, each port id that a
test appends to its ``devices_up`` file.  It knows nothing of an HMC or
a Cloud Connector: the real agents find their devices there.

The file: {"host", "agent_type", "binary", "configurations",
"devices_up": path, "interval": seconds between reports (default 1),
"reports": how many reports in all (default: until stopped)}.

Importing it loads no neutron (start() does, in the server's process), so
that both test processes can write an agent's file with write().
"""

import json
import pathlib
import threading


def write(path, **spec):
    """Write an agent's file; returns its hook entry for write_config."""
    pathlib.Path(path).write_text(json.dumps(spec))
    return ('tests.fake_agent:FakeAgent', str(path))


class FakeAgent:

    def __init__(self, path):
        self.spec = json.loads(pathlib.Path(path).read_text())
        self.host = self.spec['host']
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run,
                                        name=f'fake-agent-{self.host}')
        self._reported = set()

    def start(self):
        from neutron.agent import rpc as agent_rpc
        from neutron.conf.agent import common as agent_conf
        from neutron_lib.agent import topics
        from neutron_lib import context
        from oslo_config import cfg

        # PluginReportStateAPI reads [AGENT] report_interval as its
        # timeout: the server registers no agent options of its own.
        agent_conf.register_agent_state_opts_helper(cfg.CONF)
        self._context = context.get_admin_context_without_session()
        self._state = agent_rpc.PluginReportStateAPI(topics.REPORTS)
        self._plugin = agent_rpc.PluginApi(topics.PLUGIN)
        # The first report is a call: start() returns once the server
        # lists the agent.
        self._report(start_flag=True)
        self._thread.start()

    def stop(self):
        self._stopped.set()
        self._thread.join()

    def _run(self):
        reports = self.spec.get('reports')
        done = 1
        while not self._stopped.wait(self.spec.get('interval', 1)):
            if reports is None or done < reports:
                self._report()
                done += 1
            self._devices_up()

    def _report(self, start_flag=False):
        state = {'binary': self.spec['binary'], 'host': self.host,
                 'topic': 'N/A', 'agent_type': self.spec['agent_type'],
                 'configurations': self.spec['configurations'],
                 'start_flag': start_flag}
        self._state.report_state(self._context, state, use_call=start_flag)

    def _devices_up(self):
        path = pathlib.Path(self.spec['devices_up'])
        wanted = set(path.read_text().split()) if path.exists() else set()
        for device in sorted(wanted - self._reported):
            self._plugin.update_device_up(self._context, device,
                                          f'fake-{self.host}', self.host)
            self._reported.add(device)
