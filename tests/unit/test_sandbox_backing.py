# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""What the scale-out sandbox says when what it stands on is missing: one
line naming the option or the Debian package, never a password.  (The
private RabbitMQ and MariaDB themselves run in tests/scaleout.)"""

import socket

import pytest

from nova_ibmz.sandbox import backing


@pytest.fixture
def closed_port():
    """A port of 127.0.0.1 where nothing listens."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.parametrize('check, url, option, what', [
    (backing.check_database, 'mysql+pymysql://nova:{}@127.0.0.1:{}',
     '--database-url', 'the database server'),
    (backing.check_broker, 'rabbit://openstack:{}@127.0.0.1:{}/',
     '--transport-url', 'the broker')])
def test_a_server_that_does_not_answer(closed_port, check, url, option,
                                       what):
    with pytest.raises(backing.Missing) as raised:
        check(url.format('s3cret', closed_port), timeout=2)
    message = str(raised.value)
    assert message.startswith(
        f'{option} {url.format("***", closed_port)}: {what} does not '
        'answer (')
    assert 's3cret' not in message and '\n' not in message


@pytest.mark.parametrize('name, package', [
    ('rabbitmq-server', 'rabbitmq-server'), ('mariadbd', 'mariadb-server'),
    ('mariadb-install-db', 'mariadb-server')])
def test_a_server_program_not_installed_names_its_package(
        monkeypatch, name, package):
    monkeypatch.setattr(backing.shutil, 'which', lambda *a, **k: None)
    with pytest.raises(backing.Missing) as raised:
        backing.program(name)
    assert str(raised.value) == (
        f'{name} not found: install the Debian package {package} '
        f'(apt-get install -y {package}), or give the sandbox a running '
        'one by URL')


def test_a_url_without_password_is_shown_as_it_is():
    assert backing.without_password('rabbit://127.0.0.1:5672/') == (
        'rabbit://127.0.0.1:5672/')
