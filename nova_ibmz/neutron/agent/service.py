# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""What an agent's process does around its loop: the checks at start,
waited for while the hypervisor does not answer, the loop, and the
console script's body.

An agent (Agent), as nova_ibmz.neutron.server's agent hook and main() use
it, has ``start()`` (checks, then starts its loop; returns once it runs,
or once stopped meanwhile), ``stop()`` and ``stopped`` (an Event that
stop() sets).
"""

import signal
import sys
import threading

from neutron.common import config as common_config
from oslo_config import cfg
from oslo_log import log as logging

from nova_ibmz.neutron.agent import loop

LOG = logging.getLogger(__name__)
# The waits between tries at start: from FIRST_WAIT, doubling up to
# MAX_WAIT, so a long outage is asked about once a minute: no crash loop,
# and no flood of logons.
FIRST_WAIT = 1.0
MAX_WAIT = 60.0


def wait_for(what, attempt, transient, stopped, first_wait=FIRST_WAIT,
             max_wait=MAX_WAIT):
    """attempt()'s result once it raises none of the transient exception
    types (each such failure is logged with the wait before the next try);
    None if stopped (an Event) is set meanwhile.  Other exceptions reach
    the caller.  attempt must not return None."""
    wait = first_wait
    while not stopped.is_set():
        try:
            return attempt()
        except transient as error:
            LOG.warning('%s failed: %s; trying again in %.0f s', what, error,
                        wait)
        if stopped.wait(wait):
            break
        wait = min(wait * 2, max_wait)
    return None


class Agent:
    """The checks at start, then the agent loop.  A hypervisor's agent
    gives: ``checking`` (what the wait for it logs), ``transient`` (the
    exception types waited out), ``check()`` (its result, or a
    ConfigError), ``make_manager(checked)`` (the loop's manager),
    ``started(checked)`` (logs what runs) and, if it holds a session,
    ``close()``.

    first_wait shortens the waits for a silent hypervisor, and rpc
    ({"state_rpc": .., "plugin_rpc": .., "context": ..}) replaces the
    loop's RPC clients (tests).
    """

    def __init__(self, config, first_wait=FIRST_WAIT, rpc=None):
        self.config = config
        self.manager = None
        self._first_wait = first_wait
        self._rpc = rpc or {}
        self._stopped = threading.Event()
        self._loop = None

    @property
    def stopped(self):
        """An Event set by stop()."""
        return self._stopped

    def start(self):
        """check() (waiting for the hypervisor), then start the loop:
        returns once it runs, or when stopped meanwhile."""
        checked = wait_for(self.checking, self.check, self.transient,
                           self._stopped, self._first_wait)
        if checked is None:
            return
        config = self.config
        self.manager = self.make_manager(checked)
        self._loop = loop.AgentLoop(self.manager, config.host,
                                    config.polling_interval,
                                    config.report_interval, **self._rpc)
        self._loop.start()
        self.started(checked)

    def stop(self):
        """Stop the loop, or the wait for the hypervisor, and close();
        again: nothing."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        running, self._loop = self._loop, None
        if running is not None:
            running.stop()
        self.close()

    def close(self):
        """Nothing to close."""


def main(prog, args, make_agent, config_error):
    """The body of an agent's console script: Neutron's options, logging
    and RPC transport from the command line args, then
    make_agent(option args) with the same --config-file and --config-dir
    (the agent parses them into options of its own).  Exit code 1, with a
    one-line error on stderr and in the log, when make_agent or start()
    raises config_error; 0 after SIGTERM or SIGINT."""
    common_config.register_common_config_options()
    common_config.init(args)
    common_config.setup_logging()
    try:
        agent = make_agent(
            [f'--config-file={f}' for f in cfg.CONF.config_file] +
            [f'--config-dir={d}' for d in cfg.CONF.config_dir])
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: agent.stop())
        agent.start()
    except config_error as e:
        LOG.error('%s', e)
        print(f'{prog}: {e}', file=sys.stderr)
        return 1
    agent.stopped.wait()
    return 0
