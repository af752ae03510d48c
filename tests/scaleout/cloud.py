# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The scale-out tests' cloud: nova_ibmz.sandbox.scaleout with two DPM
subsets and two z/VM members, every service a process of its own over a
private RabbitMQ and MariaDB, and what the tests read of it through real
clients: Nova's, Neutron's and Cinder's APIs over HTTP, the HMC simulator
through zhmcclient, the Cloud Connector simulator through its REST API.

Every test may leave servers; none may leave an orphan: orphans() lists
what the hypervisors hold for OpenStack that no Nova server owns.
"""

import contextlib
import datetime
import functools
import time

import requests
import zhmcclient

from nova_ibmz.connector import naming as zvm_naming
from nova_ibmz.hmc import naming as dpm_naming
from nova_ibmz.sandbox import scaleout
from nova_ibmz.sandbox import seed

DPM_HOSTS = ('dpm-subset-1', 'dpm-subset-2')
ZVM_HOSTS = ('zvm-1', 'zvm-2')
WAIT_SECONDS = 180


def until(check, what, timeout=WAIT_SECONDS, interval=0.5):
    """Call check() until it returns something true: that.
    AssertionError naming what, and check's last answer, after timeout
    seconds."""
    deadline = time.monotonic() + timeout
    while True:
        answer = check()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f'not {what} after {timeout} s: {answer!r}')
        time.sleep(interval)


def utcnow():
    """Now in UTC, to the second below, as Nova and Neutron write their
    report times."""
    return datetime.datetime.now(datetime.timezone.utc).replace(
        tzinfo=None, microsecond=0)


def _time(text):
    return datetime.datetime.fromisoformat(text.replace('Z', '')).replace(
        tzinfo=None)


class Cloud:
    """Requests to a started scaleout.ScaleOut, as its admin."""

    def __init__(self, sandbox):
        self.sandbox = sandbox

    def api(self, method, path, body=None):
        return self.sandbox.nova_api(method, path, body)

    def neutron(self, path):
        answer = requests.get(f'{self.sandbox.urls["neutron"]}/v2.0{path}',
                              timeout=60)
        answer.raise_for_status()
        return answer.json()

    def volume(self, name):
        """The id of a new bootable volume, made through Cinder's API from
        the seeded DPM image (a DPM server boots from it): it carries the
        image's hypervisor_type, so the scheduler keeps its server on a
        DPM host, forced there or not."""
        answer = requests.post(
            f'{self.sandbox.urls["cinder"]}/v3/{scaleout.PROJECT_ID}/volumes',
            json={'volume': {'size': seed.BOOT_VOLUME_GB, 'name': name,
                             'imageRef': seed.DPM_IMAGE_ID}}, timeout=60)
        answer.raise_for_status()
        return answer.json()['volume']['id']

    def boot(self, name, host=None, volume_id=None,
             flavor=seed.SMALL_FLAVOR):
        """POST a server on the flat network, to host or where the
        scheduler puts it (host None), from the z/VM image or from
        volume_id (DPM): its id."""
        body = {'name': name,
                'flavorRef': seed.stable_id(f'flavor-{flavor}'),
                'networks': [{'uuid': self.flat_network_id}]}
        if host:
            body['host'] = host
        if volume_id:
            body['block_device_mapping_v2'] = [{
                'boot_index': 0, 'uuid': volume_id, 'source_type': 'volume',
                'destination_type': 'volume'}]
        else:
            body['imageRef'] = seed.IMAGE_ID
        return self.api('POST', '/servers', {'server': body})['server']['id']

    @functools.cached_property
    def flat_network_id(self):
        return self.neutron(f'/networks?name={seed.FLAT.name}')[
            'networks'][0]['id']

    def server(self, server_id):
        """The server, or None once it is gone."""
        try:
            return self.api('GET', f'/servers/{server_id}')['server']
        except requests.HTTPError as error:
            if error.response.status_code == 404:
                return None
            raise

    def wait(self, server_id, *statuses, timeout=WAIT_SECONDS,
             task_state=None):
        """Until the server's status is one of statuses (its task state
        task_state too, when given; DELETED: it is gone): the server.
        AssertionError, with what it shows, after timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            server = self.server(server_id)
            status = server['status'] if server else 'DELETED'
            if status in statuses and (
                    task_state is None or
                    server['OS-EXT-STS:task_state'] == task_state):
                return server
            if time.monotonic() > deadline:
                raise AssertionError(
                    f'server {server_id}: {status} '
                    f'({server and server["OS-EXT-STS:task_state"]}) after '
                    f'{timeout} s, not {statuses} ({task_state}): '
                    f'{server and server.get("fault")}')
            time.sleep(0.5)

    def delete(self, *server_ids):
        for server_id in server_ids:
            self.api('DELETE', f'/servers/{server_id}')
        for server_id in server_ids:
            self.wait(server_id, 'DELETED')

    def compute_reported(self, host, since):
        """Whether host's nova-compute is up and has reported after since
        (utcnow())."""
        service, = self.api('GET', f'/os-services?binary=nova-compute&'
                            f'host={host}')['services']
        return (service['state'] == 'up' and
                _time(service['updated_at']) > since)

    def agent_reported(self, host, since):
        """Whether host's network agent is alive and has reported after
        since (utcnow())."""
        agent, = self.neutron(f'/agents?host={host}')['agents']
        return agent['alive'] and _time(agent['heartbeat_timestamp']) > since

    @contextlib.contextmanager
    def down(self, service):
        """kill -9 of a service (a name of ScaleOut.services) for the with
        block, and the same command line started again at its end, whatever
        happens in it."""
        self.sandbox.kill(service)
        try:
            yield
        finally:
            self.sandbox.restart(service)

    def servers(self):
        """{id: server} of every server Nova has (any state)."""
        return {s['id']: s for s in self.api(
            'GET', '/servers/detail?all_tenants=1')['servers']}

    # -- the hypervisors, through their own clients -----------------------

    @contextlib.contextmanager
    def cpc(self):
        """The sandbox's CPC, through zhmcclient on the HMC simulator."""
        sims = self.sandbox.sims
        session = zhmcclient.Session(
            '127.0.0.1', sims.dpm.userid, sims.dpm.password,
            port=sims.hmc.port, verify_cert=str(sims.hmc.certs.ca_file))
        try:
            yield zhmcclient.Client(session).cpcs.find(
                **{'object-id': sims.dpm.cpc_object_id})
        finally:
            session.logoff()

    def partitions(self):
        """{name: properties} of every partition of the CPC."""
        with self.cpc() as cpc:
            return {p.name: dict(p.properties)
                    for p in cpc.partitions.list(full_properties=True)}

    def zvm(self, host, method, path, body=None):
        """One request to the Cloud Connector of a z/VM host's member, with
        a token: the output of its answer's envelope."""
        url = self.sandbox.sims.connectors[
            self.sandbox.sims.zvm_hosts.index(host)].url
        answer = requests.request(
            method, f'{url}{path}', json=body, timeout=60,
            headers={'X-Auth-Token': self._zvm_token(url)})
        answer.raise_for_status()
        return answer.json()['output'] if answer.content else None

    def fault(self, simulator, rule=None):
        """The fault rules of a simulator ('hmc' or 'zvm', the SSI cluster
        of every member), after adding rule, if given (see
        doc/hmc-simulator.md, doc/zvm-simulator.md)."""
        sims = self.sandbox.sims
        url, verify = ((sims.hmc.url, str(sims.hmc.certs.ca_file))
                       if simulator == 'hmc'
                       else (sims.connectors[0].url, True))
        answer = requests.request('POST' if rule else 'GET',
                                  f'{url}/_sim/faults', json=rule,
                                  verify=verify, timeout=60)
        answer.raise_for_status()
        return answer.json()['faults']

    def clear_faults(self):
        """No fault rule left on either simulator."""
        sims = self.sandbox.sims
        requests.delete(f'{sims.hmc.url}/_sim/faults', timeout=60,
                        verify=str(sims.hmc.certs.ca_file)).raise_for_status()
        requests.delete(f'{sims.connectors[0].url}/_sim/faults',
                        timeout=60).raise_for_status()

    def guests(self):
        """{userid: instance uuid of its OpenStack mark, or None} of every
        guest of each SSI member, through its Cloud Connector's REST
        API."""
        found = {}
        for host in self.sandbox.sims.zvm_hosts:
            for uid in self.zvm(host, 'GET', '/guests'):
                found[uid] = zvm_naming.marked_uuid(self.zvm(
                    host, 'GET', f'/guests/{uid}/user_direct')['user_direct'])
        return found

    def _zvm_token(self, url):
        admin = self.sandbox.sims.admin_token_file.read_text().strip()
        answer = requests.post(f'{url}/token', timeout=60,
                               headers={'X-Admin-Token': admin})
        answer.raise_for_status()
        return answer.headers['X-Auth-Token']

    def orphans(self):
        """What the hypervisors hold for OpenStack that no live Nova server
        owns: ['partition <name>', 'guest <userid>', ...]."""
        live = set(self.servers())
        found = []
        for name, props in self.partitions().items():
            for host in self.sandbox.sims.dpm_hosts:
                if (dpm_naming.is_owned(props, host) and
                        dpm_naming.instance_uuid(props, host) not in live):
                    found.append(f'partition {name}')
        for userid, uuid in self.guests().items():
            if uuid is not None and uuid not in live:
                found.append(f'guest {userid}')
        return found
