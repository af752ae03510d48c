# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""A real Glance 33 for the sandbox and the Nova-side tests, in a process
of its own.  This module imports neither nova nor glance: it writes
Glance's configuration and runs the process.

Glance 33 serves its API only through a WSGI server: gunicorn runs
``glance.wsgi.api:application``, which reads glance-api.conf from
``OS_GLANCE_CONFIG_DIR`` and its paste pipeline from glance-api-paste.ini
next to it.  Everything lives in one state directory: the sqlite database
(kept across starts, with the images' records), the file store (the
images' data), the staging area, the lock files and the log.

Glance runs its keystone pipeline with the sandbox's auth filter
(auth.py) in keystonemiddleware's place: every caller is the admin of the
given project, so Glance's default policy lets it create, upload,
download, delete and publicise images, as a cloud's admin may.

    glance = Glance(state_dir, project_id)
    url = glance.start()        # http://127.0.0.1:<port>
    upload_image(url, 'rhel', data, {'os_distro': 'rhel8.6'},
                 image_id=...)
    glance.stop()

Cost (2 cores, measured): ~1.5 s to start on a kept database (the app's
load), ~3 s on a new one (db_sync); ~150 MiB resident for gunicorn's
master and its one worker.
"""

import pathlib
import subprocess
import sys
from urllib import parse

import requests

from nova_ibmz.sandbox import auth
from nova_ibmz.sandbox import deployment
from nova_ibmz.sandbox import processes
from nova_ibmz.sandbox import seed

START_SECONDS = 120
# One worker with a few threads: one process's memory, and enough for
# Nova's computes downloading while a client lists or uploads.  gunicorn
# closes an idle client connection after 2 s by default, and a client
# that keeps its connections (keystoneauth's sessions: Nova's, the
# openstack client's) then fails a request on one it closed: 75 s.
THREADS = 4
KEEP_ALIVE_SECONDS = 75
# A stop waits this long for requests under way (gunicorn's default: 30).
GRACEFUL_SECONDS = 5
SYNC_SECONDS = 120
REQUEST_SECONDS = 60
DATABASE = 'glance.sqlite'
# The file store's name (Glance's enabled_backends).
STORE = 'local'
# What Glance shows of every image (glance.api.v2.images'
# get_base_properties): an image's other fields are its own properties.
BASE_PROPERTIES = frozenset((
    'checksum', 'container_format', 'created_at', 'direct_url',
    'disk_format', 'file', 'id', 'locations', 'min_disk', 'min_ram', 'name',
    'os_hash_algo', 'os_hash_value', 'os_hidden', 'owner', 'protected',
    'schema', 'self', 'size', 'status', 'stores', 'tags', 'updated_at',
    'virtual_size', 'visibility'))


def write_config(state_dir, project_id, debug=False):
    """glance-api.conf and glance-api-paste.ini in state_dir (made if
    needed), for every caller as the admin of project_id: the directory,
    for OS_GLANCE_CONFIG_DIR."""
    state_dir = pathlib.Path(state_dir).absolute()
    for sub in ('images', 'staging', 'tasks', 'lock'):
        (state_dir / sub).mkdir(parents=True, exist_ok=True)
    conf = {}
    conf['DEFAULT'] = {'debug': str(bool(debug)).lower(),
                       'enabled_backends': f'{STORE}:file'}
    conf['database'] = {
        'connection': f'sqlite:///{state_dir / DATABASE}',
        # No fsync at each commit: a sandbox's database, not a cloud's.
        'sqlite_synchronous': 'false'}
    conf['glance_store'] = {'default_backend': STORE}
    # The images' data, and the stores Glance reserves for itself: the
    # staging area of imports (glance-direct) and the tasks' work area.
    for store, sub in ((STORE, 'images'),
                       ('os_glance_staging_store', 'staging'),
                       ('os_glance_tasks_store', 'tasks')):
        conf[store] = {'filesystem_store_datadir': str(state_dir / sub)}
    conf['paste_deploy'] = {
        'flavor': 'keystone',
        'config_file': str(state_dir / 'glance-api-paste.ini')}
    conf['oslo_concurrency'] = {'lock_path': str(state_dir / 'lock')}
    # Version documents name the address the client asked, with the
    # sandbox's /image prefix (catalog.py forwards the headers that say
    # so), not Glance's own port.
    conf['oslo_middleware'] = {'enable_proxy_headers_parsing': 'true'}
    deployment.write(state_dir / 'glance-api.conf', conf)
    auth.write_paste_config(
        deployment.data_file('etc', 'glance', 'glance-api-paste.ini'),
        state_dir / 'glance-api-paste.ini', project_id)
    # No properties beyond Glance's own: without the file Glance says so
    # in a warning at every image request.
    (state_dir / 'schema-image.json').write_text('{}\n')
    return state_dir


class Glance:
    """Glance's API under gunicorn on 127.0.0.1:port (0: a free one),
    configured by write_config in state_dir; its output goes to log_file
    (state_dir/glance.log by default).  start() returns its URL once it
    answers; stop() ends it."""

    def __init__(self, state_dir, project_id, port=0, log_file=None,
                 debug=False):
        self.state_dir = pathlib.Path(state_dir).absolute()
        self.project_id = project_id
        self.port = port
        self.log_file = pathlib.Path(log_file or
                                     self.state_dir / 'glance.log')
        self.debug = debug
        self.url = None
        self.process = None

    def start(self, timeout=START_SECONDS):
        """Write the configuration, make the database if it is new, start
        the server: its URL.  processes.ServiceError, with the end of its
        log, if it does not come up."""
        config_dir = write_config(self.state_dir, self.project_id,
                                  self.debug)
        self._sync_database(config_dir)
        port = self.port or processes.free_port()
        self.url = f'http://127.0.0.1:{port}'
        self.process = processes.Process(
            'glance-api',
            [sys.executable, '-m', 'gunicorn', '--bind', f'127.0.0.1:{port}',
             '--workers', '1', '--threads', THREADS,
             '--keep-alive', KEEP_ALIVE_SECONDS,
             '--graceful-timeout', GRACEFUL_SECONDS,
             'glance.wsgi.api:application'],
            self.log_file, env={'OS_GLANCE_CONFIG_DIR': str(config_dir)},
            ready=processes.answers(self.url))
        self.process.start(timeout)
        return self.url

    def _sync_database(self, config_dir):
        """glance-manage db_sync when the database is new (~3 s).  A sync
        that fails leaves no half-made database behind for the next
        start to take as made."""
        database = self.state_dir / DATABASE
        if database.exists():
            return
        with open(self.log_file, 'ab') as log:
            done = subprocess.run(
                [sys.executable, '-m', 'glance.cmd.manage', '--config-file',
                 config_dir / 'glance-api.conf', 'db_sync'],
                stdout=log, stderr=subprocess.STDOUT, timeout=SYNC_SECONDS)
        if done.returncode:
            database.unlink(missing_ok=True)
            raise processes.ServiceError(
                f'glance-manage db_sync failed with exit code '
                f'{done.returncode}: see {self.log_file}')

    def stop(self):
        """Its exit code (None if it never started)."""
        return self.process.stop() if self.process else None

    def usage(self):
        """(resident bytes, CPU seconds) of its processes now."""
        return self.process.usage()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


def request(url, method, path, **kwargs):
    """One request to the Glance at url (path under it, e.g.
    /v2/images): the response, raised for an error status."""
    answer = requests.request(method, f'{url}{path}',
                              timeout=REQUEST_SECONDS, **kwargs)
    answer.raise_for_status()
    return answer


def show_image(url, image_id):
    """The image of image_id as the Glance at url shows it, None if it has
    none (404, or 400 for what cannot be an id); an error status else
    raises."""
    answer = requests.get(f'{url}/v2/images/{parse.quote(image_id)}',
                          timeout=REQUEST_SECONDS)
    if answer.status_code in (400, 404):
        return None
    answer.raise_for_status()
    return answer.json()


def own_properties(image):
    """An image's own properties ({name: value}), not Glance's base ones,
    of the image as Glance shows it."""
    return {key: value for key, value in image.items()
            if key not in BASE_PROPERTIES}


def upload_image(url, name, data, properties=None, image_id=None,
                 disk_format='raw', container_format='bare',
                 visibility='public'):
    """An active image of data (bytes) with properties ({name: str}) in the
    Glance at url, as Glance shows it.

    With image_id, an image of that id that is already active is kept
    as it is (a seeded image in a database that outlived a sandbox), one
    whose upload did not complete gets its data.  Cost: 1 request for an
    active image, else 2 or 3."""
    image = show_image(url, image_id) if image_id else None
    if image is not None and image['status'] == 'active':
        return image
    if image is None:
        image = request(url, 'POST', '/v2/images', json=dict(
            properties or {}, name=name, disk_format=disk_format,
            container_format=container_format, visibility=visibility,
            **({'id': image_id} if image_id else {}))).json()
    request(url, 'PUT', f'/v2/images/{image["id"]}/file', data=data,
            headers={'Content-Type': 'application/octet-stream'})
    return request(url, 'GET', f'/v2/images/{image["id"]}').json()


SEEDED_IMAGES = (
    (seed.IMAGE_NAME, seed.IMAGE_DATA, seed.IMAGE_PROPERTIES, seed.IMAGE_ID),
    (seed.DPM_IMAGE_NAME, seed.DPM_IMAGE_DATA, seed.DPM_IMAGE_PROPERTIES,
     seed.DPM_IMAGE_ID))


def seed_image(url):
    """The sandbox's images (seed.py) in the Glance at url, each under the
    same id at every start (both modes): the z/VM image and the DPM one
    that boot volumes are made from.  {name: image as Glance shows it}."""
    return {name: upload_image(url, name, data, properties,
                               image_id=image_id)
            for name, data, properties, image_id in SEEDED_IMAGES}
