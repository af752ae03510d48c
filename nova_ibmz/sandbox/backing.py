# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""What a scale-out sandbox stands on: a RabbitMQ broker and a MariaDB
server.

An operator's sandbox is given both by URL (`--transport-url`,
`--database-url`): check_broker() and check_database() say in one line
what does not answer.  Without URLs the sandbox, the tests and the
benchmark start private ones from Debian's packages (rabbitmq-server,
mariadb-server), each in a directory of its own on free ports of
127.0.0.1, owned by whoever runs them: a private broker is what a test
that restarts RabbitMQ needs, and nothing of the machine's own
configuration (/etc/rabbitmq, /etc/mysql) is read.

Cost: RabbitMQ accepts connections ~5 s after its start (~100 MB), MariaDB
~1 s (~90 MB) plus ~2 s for a new data directory.
"""

import os
import pathlib
import pwd
import shutil
import subprocess
from urllib import parse

import kombu
import pymysql

from nova_ibmz.sandbox import processes

# Debian's package of each server program.
PACKAGES = {'rabbitmq-server': 'rabbitmq-server',
            'mariadbd': 'mariadb-server',
            'mariadb-install-db': 'mariadb-server'}
DB_USER = 'ibmz'
DB_PASSWORD = 'sandbox'         # a private server on 127.0.0.1
DB_SUPERUSER = 'root'


class Missing(RuntimeError):
    """What the scale-out mode needs and does not find, in one line."""


def program(name):
    """The path of a server program, from PATH or the sbin directories
    (Debian puts rabbitmq-server and mariadbd there).  Missing names its
    package."""
    path = shutil.which(name, path=os.pathsep.join(
        # Debian's /usr/sbin/rabbitmq-server runs the server as the user
        # rabbitmq, which cannot write a directory of ours: the script it
        # wraps runs it as whoever starts it.
        ['/usr/lib/rabbitmq/bin', os.environ.get('PATH', ''), '/usr/sbin',
         '/usr/local/sbin', '/sbin']))
    if path is None:
        raise Missing(f'{name} not found: install the Debian package '
                      f'{PACKAGES[name]} (apt-get install -y '
                      f'{PACKAGES[name]}), or give the sandbox a running '
                      'one by URL')
    return path


def check_broker(url, timeout=5):
    """Connect to the AMQP broker at url (rabbit://user:pw@host:port/);
    Missing, naming the URL without its password, if it does not
    answer."""
    try:
        with kombu.Connection(url.replace('rabbit://', 'amqp://', 1),
                              connect_timeout=timeout) as connection:
            connection.ensure_connection(max_retries=1, timeout=timeout)
    except Exception as error:
        raise Missing(f'--transport-url {without_password(url)}: the broker '
                      f'does not answer ({type(error).__name__}: '
                      f'{error})') from None


def check_database(url, timeout=5):
    """Log on to the database server at url
    (mysql+pymysql://user:pw@host:port); Missing, naming the URL without its
    password, if that fails."""
    try:
        _connect(url, timeout).close()
    except pymysql.MySQLError as error:
        raise Missing(f'--database-url {without_password(url)}: the database '
                      f'server does not answer ({error})') from None


def recreate_databases(url, names):
    """Drop and create each database of names on the server at url (the
    sandbox starts with empty hypervisors: its databases too).  Returns
    {name: SQLAlchemy URL of that database}."""
    with _connect(url) as connection, connection.cursor() as cursor:
        for name in names:
            cursor.execute(f'DROP DATABASE IF EXISTS `{name}`')
            cursor.execute(f'CREATE DATABASE `{name}` CHARACTER SET utf8mb4')
    base = url.rstrip('/')
    return {name: f'{base}/{name}?charset=utf8mb4' for name in names}


def without_password(url):
    parts = parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f':{parts.password}@', ':***@', 1)
    return parse.urlunsplit(parts._replace(netloc=netloc))


def _connect(url, timeout=10):
    parts = parse.urlsplit(url)
    return pymysql.connect(host=parts.hostname or '127.0.0.1',
                           port=parts.port or 3306,
                           user=parse.unquote(parts.username or ''),
                           password=parse.unquote(parts.password or ''),
                           connect_timeout=timeout, autocommit=True)


class RabbitMQ:
    """A private RabbitMQ node in directory: start(), url, stop(),
    restart() (the same node and port: clients reconnect)."""

    def __init__(self, directory, port=None):
        self.directory = pathlib.Path(directory).absolute()
        self.port = port or processes.free_port()
        # Erlang's distribution port, kept across restarts as the node's,
        # and a port mapper (epmd) of its own: the Erlang VM starts one as
        # a daemon, which stop() ends, leaving any other node's alone.
        self.dist_port = processes.free_port()
        self.epmd_port = processes.free_port()
        self.url = f'rabbit://guest:guest@127.0.0.1:{self.port}/'
        self.process = None

    def _environment(self):
        d = self.directory
        (d / 'enabled_plugins').write_text('[].\n')     # no management UI
        return {
            # The Erlang cookie lives in HOME: rabbitmqctl finds it there.
            'HOME': str(d),
            'RABBITMQ_NODENAME': f'ibmz{self.port}@localhost',
            'RABBITMQ_NODE_IP_ADDRESS': '127.0.0.1',
            'RABBITMQ_NODE_PORT': str(self.port),
            'RABBITMQ_DIST_PORT': str(self.dist_port),
            'RABBITMQ_MNESIA_BASE': str(d / 'mnesia'),
            'RABBITMQ_LOG_BASE': str(d / 'log'),
            'RABBITMQ_PID_FILE': str(d / 'rabbitmq.pid'),
            'RABBITMQ_CONFIG_FILE': str(d / 'rabbitmq'),
            'RABBITMQ_ENABLED_PLUGINS_FILE': str(d / 'enabled_plugins'),
            'RABBITMQ_CONF_ENV_FILE': str(d / 'rabbitmq-env.conf'),
            'ERL_CRASH_DUMP': str(d / 'erl_crash.dump'),
            'ERL_EPMD_PORT': str(self.epmd_port),
        }

    def start(self, timeout=60):
        server = program('rabbitmq-server')
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / 'rabbitmq-env.conf').touch()
        self.process = processes.Process(
            'rabbitmq-server', [server], self.directory / 'rabbitmq.log',
            env=self._environment(), ready=self._answers).start(timeout)
        return self

    def _answers(self):
        try:
            check_broker(self.url, timeout=1)
        except Missing:
            return False
        return True

    def stop(self):
        if self.process is not None:
            self.process.stop()
            epmd = shutil.which('epmd')
            if epmd:
                subprocess.run([epmd, '-port', str(self.epmd_port), '-kill'],
                               capture_output=True)

    def restart(self):
        self.stop()
        return self.start()


class MariaDB:
    """A private MariaDB server in directory: start() (a new data
    directory at the first), url (server level, as --database-url),
    stop()."""

    def __init__(self, directory, port=None):
        self.directory = pathlib.Path(directory).absolute()
        self.port = port or processes.free_port()
        self.url = (f'mysql+pymysql://{DB_USER}:{DB_PASSWORD}@127.0.0.1:'
                    f'{self.port}')
        self.socket = self.directory / 'mariadb.sock'
        self.process = None

    def start(self, timeout=60):
        data = self.directory / 'data'
        new = not data.exists()
        if new:
            data.mkdir(parents=True)
            subprocess.run(
                [program('mariadb-install-db'), '--no-defaults',
                 f'--user={_os_user()}', f'--datadir={data}',
                 '--skip-test-db', '--auth-root-authentication-method=normal'],
                check=True, capture_output=True)
        self.process = processes.Process(
            'mariadbd', [program('mariadbd'), '--no-defaults',
                         f'--user={_os_user()}', f'--datadir={data}',
                         f'--socket={self.socket}', f'--port={self.port}',
                         '--bind-address=127.0.0.1',
                         '--skip-name-resolve',
                         f'--pid-file={self.directory / "mariadb.pid"}',
                         '--max-connections=500'],
            self.directory / 'mariadb.log', ready=self._answers
        ).start(timeout)
        if new:
            with pymysql.connect(unix_socket=str(self.socket),
                                 user=DB_SUPERUSER, autocommit=True) as c, \
                    c.cursor() as cursor:
                cursor.execute(f"CREATE USER '{DB_USER}'@'127.0.0.1' "
                               f"IDENTIFIED BY '{DB_PASSWORD}'")
                cursor.execute(f"GRANT ALL ON *.* TO '{DB_USER}'@'127.0.0.1'")
        return self

    def _answers(self):
        try:
            pymysql.connect(unix_socket=str(self.socket), user=DB_SUPERUSER,
                            connect_timeout=1).close()
        except pymysql.MySQLError:
            return False
        return True

    def stop(self):
        if self.process is not None:
            self.process.stop()


def _os_user():
    return pwd.getpwuid(os.getuid()).pw_name
