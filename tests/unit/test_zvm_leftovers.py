# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""A Cloud Connector that goes away in the middle of a removal: the guest
(or a resize's copy of a root disk) is recorded under state_path and
removed once the connector answers, only if the guest's directory entry
still names the recorded instance and Nova has that instance on no host.
A guest the connector left defined after a failed create goes too."""

import json
import pathlib

from nova import conf as nova_conf
from nova import objects
from oslo_utils import uuidutils
import pytest

from nova_ibmz.sim.zvm import faults
from nova_ibmz.sim.zvm import model as sim_model
from nova_ibmz.zvm import client
from nova_ibmz.zvm import driver as zvm_driver
from tests import connector
from tests.zvmsim import add_guest

objects.register_all()
FOREVER = 3600
USERID = 'OS000001'


@pytest.fixture
def names():
    nova_conf.CONF.set_override('instance_name_template', 'os%06x')
    yield
    nova_conf.CONF.clear_override('instance_name_template')


@pytest.fixture
def where():
    """instance uuid -> the host Nova has it on (absent: none)."""
    return {}


@pytest.fixture
def driver(sim, names, where):
    # One repeat of a lost request, after 10 ms.
    config = connector.config(sim.url)
    return zvm_driver.ZVMDriver(None, config=config,
                                instance_host=where.get)


@pytest.fixture
def foreign(sim):
    """A guest of another workload, compared after the test."""
    add_guest(sim.model, 'PRODDB1', state='on', managed=False)
    before = prod_db(sim)
    yield
    assert prod_db(sim) == before


def prod_db(sim):
    return [g for g in sim.model.to_json()['guests']
            if g['userid'] == 'PRODDB1']


def new_instance():
    inst = objects.Instance(id=1, uuid=uuidutils.generate_uuid(),
                            host=None, task_state=None)
    inst.flavor = objects.Flavor(vcpus=1, memory_mb=1024)
    inst.system_metadata = {'image_os_distro': 'rhel8.6'}
    return inst


def define(driver, inst):
    """The instance's guest, marked as spawn marks it."""
    driver._builds._define(inst, USERID,
                           [{'size': '1g', 'is_boot_disk': True,
                             'disk_pool': 'ECKD:POOL1'}])


def leftovers():
    path = (pathlib.Path(nova_conf.CONF.state_path) / 'nova-ibmz' /
            f'zvm-{nova_conf.CONF.host}-leftovers.json')
    return json.loads(path.read_text())['leftovers'] if path.exists() else {}


def outage_from(sim, method, path):
    with sim.model.lock:
        sim.model.faults.add(faults.parse_rule({
            'method': method, 'path': path, 'times': 1,
            'outage_s': FOREVER}))


def end_outage(sim):
    with sim.model.lock:
        sim.model.faults.clear()


def guests(sim):
    with sim.model.lock:
        return sorted(sim.model.guests)


def test_outage_in_destroy_removes_the_guest_later(sim, driver, foreign):
    inst = new_instance()
    define(driver, inst)
    outage_from(sim, 'DELETE', rf'^/guests/{USERID}$')
    driver.destroy(None, inst, None)        # does not raise
    assert guests(sim) == ['OS000001', 'PRODDB1']
    [record] = leftovers().values()
    assert (record['instance'], record['userid']) == (inst.uuid, USERID)
    end_outage(sim)
    driver.get_available_resource(driver.get_available_nodes()[0])
    assert guests(sim) == ['PRODDB1']
    assert leftovers() == {}


def test_a_guest_of_an_instance_on_another_member_is_never_removed(
        sim, driver, where, foreign):
    """Nova has the instance on zvm-2 now (an unshelve there): the guest
    of that userid is its new one, even with the same mark."""
    inst = new_instance()
    define(driver, inst)
    outage_from(sim, 'DELETE', rf'^/guests/{USERID}$')
    driver.destroy(None, inst, None)
    end_outage(sim)
    where[inst.uuid] = 'zvm-2'
    driver.get_available_resource(driver.get_available_nodes()[0])
    assert guests(sim) == ['OS000001', 'PRODDB1']
    assert leftovers() == {}


def test_an_instance_back_on_this_host_settles_its_leftover(
        sim, driver, where, foreign):
    inst = new_instance()
    define(driver, inst)
    outage_from(sim, 'DELETE', rf'^/guests/{USERID}$')
    driver.destroy(None, inst, None)
    end_outage(sim)
    where[inst.uuid] = nova_conf.CONF.host
    driver.get_available_resource(driver.get_available_nodes()[0])
    assert guests(sim) == ['OS000001', 'PRODDB1']      # kept for its build
    driver._removal.settle(inst, USERID)
    assert guests(sim) == ['PRODDB1']
    assert leftovers() == {}


def test_a_guest_without_the_mark_is_left_alone(sim, driver, foreign):
    """The recorded userid now belongs to a guest not marked as the
    instance's: the record goes, the guest stays."""
    inst = new_instance()
    define(driver, inst)
    outage_from(sim, 'DELETE', rf'^/guests/{USERID}$')
    driver.destroy(None, inst, None)
    end_outage(sim)
    with sim.model.lock:
        sim.model.guest(USERID).comments = ['* SOMEONE ELSE']
    driver.get_available_resource(driver.get_available_nodes()[0])
    assert guests(sim) == ['OS000001', 'PRODDB1']
    assert leftovers() == {}


def test_a_resize_copy_a_confirm_could_not_delete(sim, driver, foreign):
    inst = new_instance()
    define(driver, inst)
    migration = objects.Migration(uuid=uuidutils.generate_uuid(),
                                  source_compute='zvm-1',
                                  dest_compute='zvm-1')
    backup = f'resize-{migration.uuid}'
    driver._connector.action(USERID, 'capture', image=backup,
                             capture_type='rootonly')
    outage_from(sim, 'DELETE', rf'^/images/{backup}$')
    driver.confirm_migration(None, migration, inst, [])
    with sim.model.lock:
        assert backup in sim.model.images
    assert list(leftovers()) == [f'image {backup}']
    end_outage(sim)
    driver.get_available_resource(driver.get_available_nodes()[0])
    with sim.model.lock:
        assert backup not in sim.model.images
    assert leftovers() == {}
    driver.destroy(None, inst, None)


def fill_pool(sim, keep_gb):
    """A guest of another workload that leaves keep_gb of the pool."""
    with sim.model.lock:
        pool = sim.model.pool('ECKD:POOL1')
        free = pool.total_units - sim.model.pool_used(pool.name)
    keep = keep_gb * 1024 ** 3 // sim_model.UNIT_BYTES['ECKD']
    add_guest(sim.model, 'FILLER', managed=False, root=str(free - keep))


def define_two_disks(driver, inst):
    """A root disk of 1 GB, then one of 5 GB."""
    driver._builds._define(inst, USERID, [
        {'size': '1g', 'is_boot_disk': True, 'disk_pool': 'ECKD:POOL1'},
        {'size': '5g', 'disk_pool': 'ECKD:POOL1'}])


def test_a_guest_left_by_a_failed_create_is_removed(sim, driver, foreign):
    """The connector defines the guest and its first disk, then fails on
    the second (the pool is full): the driver removes the guest it left."""
    fill_pool(sim, keep_gb=3)
    inst = new_instance()
    with pytest.raises(client.ConnectorError) as e:
        define_two_disks(driver, inst)
    assert (e.value.status, e.value.rc, e.value.rs) == (500, 408, 24)
    assert guests(sim) == ['FILLER', 'PRODDB1']
    assert leftovers() == {}


def test_a_guest_left_by_a_failed_create_in_an_outage(sim, driver, foreign):
    """The connector goes away right after the failed create: the guest is
    recorded, and removed once the connector answers."""
    fill_pool(sim, keep_gb=3)
    inst = new_instance()
    outage_from(sim, 'GET', rf'^/guests/{USERID}/user_direct$')
    with pytest.raises(client.ConnectorError):
        define_two_disks(driver, inst)
    assert guests(sim) == ['FILLER', 'OS000001', 'PRODDB1']
    assert list(leftovers()) == [f'guest {USERID}']
    end_outage(sim)
    driver.get_available_resource(driver.get_available_nodes()[0])
    assert guests(sim) == ['FILLER', 'PRODDB1']
    assert leftovers() == {}
