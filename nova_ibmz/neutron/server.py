# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""A whole neutron-server in one process, for the tests and the sandbox.

    python -m nova_ibmz.neutron.server --config-file F [--port N]
                                       [--stop-at-stdin-eof]

It serves Neutron 29's WSGI API (``neutron.wsgi.api.application``, found
through ``OS_NEUTRON_CONFIG_FILES`` as under any WSGI server) on
127.0.0.1 with a threaded wsgiref server, runs ML2's RPC listeners in the
same process, and runs the agents of ``[ibmz_sandbox] agents`` as threads
of it: with ``transport_url = fake:/`` an agent reaches the server's RPC
only from inside its process.  When it serves, it prints one line,
``neutron-server ready: http://127.0.0.1:<port>``, and logs to the
configured ``log_file``.  SIGTERM or SIGINT stops it, exit code 0.

The configuration is Neutron's own (nova_ibmz/sandbox/neutron.py writes
one).  A sqlite ``[database] connection`` that has no tables yet gets
them from the models, then is stamped at the migrations' heads: the
migrations themselves cannot run on sqlite.  A real deployment runs
Neutron under its own WSGI server, on MySQL or PostgreSQL with
``neutron-db-manage upgrade heads`` and a real message broker.

Cost: about 3 s to start on 2 cores (1.5 s of it importing the models to
create the schema), ~170 MB; no thread polls anything but the agents.

The agent hook: each ``[ibmz_sandbox] agents`` entry is
``<module>:<callable>:<config file>``.  The callable is called with the
config file's path, after the RPC listeners run, and returns an object
with ``start()`` (returns once the agent runs) and ``stop()`` (returns
once it stopped).  An agent must not rely on the global ``cfg.CONF``
beyond what the server set (its ``host`` is the server's): it reads its
own file, and reaches the server through ``neutron_lib.rpc``'s transport,
which the server initialised.  An agent that fails to start stops the
server (exit code 1).
"""

import argparse
import contextlib
import importlib
import io
import os
import signal
import socketserver
import sys
import threading
import warnings
from wsgiref import simple_server

from oslo_config import cfg
from oslo_db import options as db_options
from oslo_log import log as logging

LOG = logging.getLogger(__name__)
READY = 'neutron-server ready: '
DEFAULT_PORT = 9696

AGENT_OPTS = [
    cfg.ListOpt(
        'agents', default=[],
        help='Agents to run as threads of this process, each '
             '"<module>:<callable>:<config file>": the callable gets the '
             'file\'s path and returns an object with start() and stop(). '
             'For tests and the sandbox, where transport_url = fake:/ '
             'reaches the RPC listeners only from this process.'),
]


def prepare_database(config_files):
    """Create Neutron's schema in a database that has none, from the
    models' metadata, and stamp it at the migrations' heads; a database
    that has it is left as it is.  Cost: ~2 s when it creates it (117
    tables), a query otherwise."""
    conf = cfg.ConfigOpts()
    db_options.set_defaults(conf)
    conf(['--config-file=' + f for f in config_files], project='neutron',
         default_config_files=[])
    import sqlalchemy
    engine = sqlalchemy.create_engine(conf.database.connection)
    try:
        if sqlalchemy.inspect(engine).has_table('alembic_version'):
            return False
        from neutron.db.migration.models import head  # noqa: F401
        from neutron_lib.db import model_base
        model_base.BASEV2.metadata.create_all(engine)
    finally:
        engine.dispose()
    from neutron.db.migration import cli
    cli.CONF(['--config-file=' + f for f in config_files] +
             ['stamp', 'heads'], project='neutron')
    # alembic prints its progress; the ready line must stay alone.
    with contextlib.redirect_stdout(io.StringIO()):
        for config in cli.get_alembic_configs():
            cli.do_stamp(config, 'stamp')
    return True


def serialize_sqlite_transactions():
    """Make every transaction on a sqlite database take the write lock
    when it begins (BEGIN IMMEDIATE), so that concurrent ones wait for
    each other (up to 30 s) instead of failing.

    oslo.db begins sqlite transactions itself with a plain (deferred)
    BEGIN, which takes the lock at the first write: when two transactions
    that have read both want to write, one fails at once with "database
    is locked", as when an agent's report meets an API request.  This
    listener runs before oslo.db's and sets the mark by which oslo.db
    knows a transaction has begun.  Serialized, the API and the RPC
    handlers of a test or the sandbox still answer in milliseconds."""
    import sqlite3
    import sqlalchemy
    from sqlalchemy import pool

    @sqlalchemy.event.listens_for(pool.Pool, 'connect')
    def _connect(dbapi_connection, record):
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.execute('PRAGMA busy_timeout = 30000')

    @sqlalchemy.event.listens_for(sqlalchemy.engine.Engine, 'begin')
    def _begin(connection):
        if (connection.dialect.name == 'sqlite'
                and 'in_transaction' not in connection.info):
            connection.exec_driver_sql('BEGIN IMMEDIATE')
            connection.info['in_transaction'] = True


def load_application(config_files):
    """Neutron's WSGI application, its configuration loaded into the
    global cfg.CONF and its logging set up.  Cost: ~0.5 s."""
    os.environ['OS_NEUTRON_CONFIG_FILES'] = ';'.join(config_files)
    # Neutron parses sys.argv as its command line: ours is not.
    sys.argv[1:] = []
    from neutron.wsgi import api
    if api.application is None:
        raise RuntimeError('Neutron did not load its API (see its log)')
    cfg.CONF.register_opts(AGENT_OPTS, 'ibmz_sandbox')
    return _as_a_service(api.application)


def _as_a_service(application):
    """Neutron's noauth strategy makes every caller the admin, but Neutron
    29 leaves port bindings and binding profiles (Nova's live migration
    makes and activates a binding for the destination host) to the
    service role, which Nova's service user has in a cloud with Keystone:
    here every caller has that role too."""
    def with_the_role(environ, start_response):
        environ.setdefault('HTTP_X_ROLES', 'service')
        return application(environ, start_response)
    return with_the_role


def start_rpc():
    """ML2's RPC listeners (agents' reports, device details, device
    up/down), consuming in threads."""
    from neutron_lib.plugins import directory
    return directory.get_plugin().start_rpc_listeners()


def make_agent(entry):
    """The agent object an ``[ibmz_sandbox] agents`` entry names."""
    module, name, path = entry.split(':', 2)
    factory = getattr(importlib.import_module(module), name)
    return factory(path)


class _Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True


class _Handler(simple_server.WSGIRequestHandler):
    def log_message(self, format, *args):
        # Into the log file, not onto the console.
        LOG.info('%s %s', self.address_string(), format % args)


def listen(application, port):
    """The HTTP server, bound to 127.0.0.1:port (0: a free one) but not
    serving yet; OSError if the port is taken."""
    return simple_server.make_server('127.0.0.1', port, application,
                                     server_class=_Server,
                                     handler_class=_Handler)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m nova_ibmz.neutron.server', description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--config-file', action='append', required=True)
    parser.add_argument('--port', type=int, default=DEFAULT_PORT)
    parser.add_argument(
        '--stop-at-stdin-eof', action='store_true',
        help='stop also when standard input closes: a launcher that '
             'holds the other end of a pipe never leaves the server '
             'behind, even when it is killed')
    args = parser.parse_args(argv)
    # Neutron 29 runs on native threads, but oslo_service.wsgi still
    # imports eventlet (unused here), which warns on the console.
    warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')
    config_files = [os.path.abspath(f) for f in args.config_file]

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if args.stop_at_stdin_eof:
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()),
                         name='stdin-eof', daemon=True).start()
    prepare_database(config_files)
    serialize_sqlite_transactions()
    application = load_application(config_files)
    rpc_servers = start_rpc()
    agents = []
    try:
        # The port first: one that is taken stops it before any agent.
        httpd = listen(application, args.port)
        for entry in cfg.CONF.ibmz_sandbox.agents:
            agent = make_agent(entry)
            agent.start()
            agents.append(agent)
    except Exception:
        LOG.exception('neutron-server did not start')
        _stop(agents, rpc_servers)
        return 1
    threading.Thread(target=httpd.serve_forever, name='neutron-api',
                     daemon=True).start()
    url = f'http://127.0.0.1:{httpd.server_address[1]}'
    LOG.info('serving on %s with %d agents', url, len(agents))
    print(READY + url, flush=True)
    stop.wait()
    LOG.info('stopping')
    httpd.shutdown()
    httpd.server_close()
    _stop(agents, rpc_servers)
    return 0


def _stop(agents, rpc_servers):
    for agent in reversed(agents):
        try:
            agent.stop()
        except Exception:
            LOG.exception('agent %r did not stop cleanly', agent)
    for server in rpc_servers:
        server.stop()
    for server in rpc_servers:
        server.wait()


if __name__ == '__main__':
    sys.exit(main())
