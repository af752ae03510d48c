# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""`nova-ibmz sandbox`: the simulators, Nova and its API, until Ctrl-C."""

import os
import signal
import sys
import time
import traceback

from nova_ibmz.sandbox import simulators


def _say(*lines):
    # Nova's harness captures sys.stdout once it is set up: write to the
    # terminal the process was started with.
    print(*lines, sep='\n', file=sys.__stdout__, flush=True)


def run(port, state_dir):
    """Serve the sandbox until SIGINT or SIGTERM (which cli.main turns into
    KeyboardInterrupt); returns the exit code.

    nova-compute 34 runs on native threads: nova's monkey patching is set
    to threading before anything imports nova's harness.
    """
    os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')
    from nova import monkey_patch
    monkey_patch.patch()
    from nova_ibmz.sandbox import cloud

    started = time.monotonic()
    sims = simulators.Simulators(state_dir).start()
    nova = api = None
    code = 0
    try:
        configs = sims.write_host_configs()
        nova = cloud.Cloud(sims).start()
        api = cloud.serve(nova.app(), port,
                          request_logger=lambda line: _say(f'  {line}'))
        url = f'http://127.0.0.1:{api.server_port}/v2.1'
        _say(f'nova-ibmz sandbox ready in {time.monotonic() - started:.1f} s',
             f'Nova API: {url}',
             *(f'  {host}: {path}' for host, path in configs.items()),
             'Ctrl-C stops it.')
        while True:
            signal.pause()
    except KeyboardInterrupt:       # Ctrl-C, or SIGTERM (see cli.main)
        pass
    except Exception:
        traceback.print_exc(file=sys.__stderr__)
        code = 1
    finally:
        if api is not None:
            api.shutdown()
        if nova is not None:
            nova.stop()
        sims.stop()
        _say('nova-ibmz sandbox stopped')
    return code


def leave(code):
    """End the process once the sandbox is stopped.  Threads of the stopped
    services may still sleep out their periodic intervals, and the
    interpreter would wait for them: nothing is left to do."""
    sys.__stdout__.flush()
    sys.__stderr__.flush()
    os._exit(code)
