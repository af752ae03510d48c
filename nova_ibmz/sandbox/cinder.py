# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Cinder over HTTP for a sandbox whose compute hosts are stock
nova-compute processes: the part of the Cinder v3 API that Nova's
nova.volume.cinder.API (python-cinderclient) uses to boot from, attach,
detach, delete and re-image volumes, and that `openstack volume
list/show/create` and openstacksdk's find_volume use.  Nova's in-process
CinderFixture (services.FCCinder) cannot serve another process.  A volume
made from an image (or re-imaged with one) carries the image's properties
from Glance, as Cinder's volume_image_metadata.

A plain WSGI app on the volume store (cinder_store.py): no backend, no
Keystone (any token or none is the admin), one thread per request and
one request at a time on the store: a read takes tens of microseconds, a
change about half a millisecond (it rewrites the state file).  Run it on
its own

    python -m nova_ibmz.sandbox.cinder --port 0 --state-file F \
        [--nova-url NOVA/v2.1] [--glance-url GLANCE] [--seed]

or in a thread of another process: CinderStandIn(state_file, nova_url,
glance_url=...).serve(port).  It answers under any prefix it is mounted
at (SCRIPT_NAME), with or without the project id after /v3.
"""

import argparse
import http
import json
import logging
import re
import signal
import socketserver
import sys
import threading
from urllib import parse
from wsgiref import simple_server

import requests

from nova_ibmz.sandbox import cinder_store
from nova_ibmz.sandbox import glance
from nova_ibmz.sandbox import seed

LOG = logging.getLogger(__name__)
MIN_VERSION, MAX_VERSION = (3, 0), (3, 70)
# Nova's external event for a re-imaged volume exists from 2.93 on.
NOVA_EVENTS_VERSION = '2.93'
COLLECTIONS = ('volumes', 'attachments')
# The least microversion of each call Cinder gates (the rest are 3.0).
GATES = {'attachments': (3, 27), 'os-complete': (3, 44),
         'os-reimage': (3, 68)}


class CinderStandIn:
    """The WSGI app: Cinder's volumes and attachments from state_file,
    telling Nova's API at nova_url (its /v2.1 endpoint) when a volume is
    re-imaged, reading images from the Glance at glance_url (without
    one, volumes are not made from images).  public_url, when given, is
    the address the version documents name (the sandbox's /volume when it
    passes requests on)."""

    def __init__(self, state_file, nova_url=None, public_url=None,
                 targets=seed.STORAGE_TARGETS, glance_url=None):
        self.store = cinder_store.VolumeStore(state_file, targets)
        self.nova_url = nova_url
        self.public_url = public_url
        self.glance_url = glance_url

    def seed(self):
        """The sandbox's seeded volumes; {name: id}."""
        return cinder_store.seed_volumes(self.store)

    def serve(self, port=0, host='127.0.0.1'):
        """Serving in a daemon thread on host:port (0: a free one); the
        server, with .url; server.shutdown() stops it."""
        server = simple_server.make_server(host, port, self,
                                           server_class=_Server,
                                           handler_class=_Logged)
        server.url = f'http://{host}:{server.server_port}'
        threading.Thread(target=server.serve_forever, daemon=True,
                         name='cinder-standin').start()
        return server

    def __call__(self, environ, start_response):
        version = MIN_VERSION
        try:
            version = _microversion(environ)
            status, body = self._route(environ, version)
        except cinder_store.Fault as fault:
            status, body = fault.code, fault.body()
        data = b'' if body is None else json.dumps(body).encode()
        start_response(f'{status} {http.HTTPStatus(status).phrase}', [
            ('Content-Type', 'application/json'),
            ('Content-Length', str(len(data))),
            ('OpenStack-API-Version', 'volume %d.%d' % version),
            ('Vary', 'OpenStack-API-Version')])
        return [data]

    def _route(self, environ, version):
        method = environ['REQUEST_METHOD']
        parts = [p for p in environ.get('PATH_INFO', '').split('/') if p]
        base = self._base(environ)
        if not parts and method == 'GET':
            # 300 Multiple Choices, as Cinder answers its root.
            return 300, {'versions': [_version_doc(base)]}
        if parts[:1] != ['v3']:
            raise _no_resource()
        parts = parts[1:]
        project_id = None
        if parts and parts[0] not in COLLECTIONS:
            project_id, parts = parts[0], parts[1:]
        if not parts and method == 'GET':
            return 200, {'version': _version_doc(base)}
        if not parts or parts[0] not in COLLECTIONS:
            raise _no_resource()
        if version < GATES.get(parts[0], MIN_VERSION):
            raise _no_resource()
        query = dict(_query(environ))
        body = _json_body(environ) if method in ('POST', 'PUT') else {}
        # Glance's answer before the store's lock, which no request holds
        # for a millisecond: one request at a time on the store.
        image = self._image(method, parts, body, version)
        with self.store.lock:
            if parts[0] == 'volumes':
                return self._volumes(method, parts[1:], query, body,
                                     project_id, version, base, image)
            return self._attachments(method, parts[1:], query, body)

    # -- volumes -------------------------------------------------------------

    def _volumes(self, method, rest, query, body, project_id, version, base,
                 image):
        store = self.store
        if rest in ([], ['detail']) and method == 'GET':
            return 200, {'volumes': store.list_volumes(query, base)}
        if rest == [] and method == 'POST':
            wanted = body.get('volume') or {}
            volume = store.add_volume(
                wanted.get('name'), wanted.get('size'), image,
                description=wanted.get('description'),
                project_id=project_id)
            if wanted.get('metadata'):
                store.update_volume(volume['id'],
                                    metadata=wanted['metadata'])
            return 202, {'volume': store.volume_view(volume, base)}
        if len(rest) == 1 and method == 'GET':
            return 200, {'volume': store.volume_view(store.volume(rest[0]),
                                                     base)}
        if len(rest) == 1 and method == 'PUT':
            wanted = body.get('volume') or {}
            volume = store.update_volume(
                rest[0], wanted.get('name'), wanted.get('description'),
                wanted.get('metadata'))
            return 200, {'volume': store.volume_view(volume, base)}
        if len(rest) == 1 and method == 'DELETE':
            store.delete_volume(rest[0])
            return 202, None
        if rest[1:] == ['action'] and method == 'POST':
            return self._volume_action(rest[0], body, version, image)
        raise _no_resource()

    def _volume_action(self, volume_id, body, version, image):
        if len(body) != 1:
            raise cinder_store.bad_request(
                f'Invalid input received: one action on volume {volume_id} '
                f'per request, not {sorted(body)}.')
        [(action, info)] = body.items()
        info = info or {}
        if version < GATES.get(action, MIN_VERSION):
            raise _no_resource()
        if action in cinder_store.STATUS_ACTIONS:
            self.store.set_status(volume_id, action)
        elif action == 'os-detach':
            self.store.detach(volume_id, info.get('attachment_id'))
        elif action == 'os-reimage':
            if not info.get('image_id'):
                raise cinder_store.bad_request(
                    f'Invalid input received: os-reimage of volume '
                    f'{volume_id} needs an image_id.')
            self.store.begin_reimage(volume_id, image,
                                     bool(info.get('reimage_reserved')))
            # Cinder answers at once and writes the image meanwhile.
            threading.Thread(target=self._reimaged, args=(volume_id,),
                             daemon=True, name='cinder-reimage').start()
        else:
            raise cinder_store.bad_request(
                f'There is no such action: {action} (volume {volume_id}).')
        return 202, None

    def _image(self, method, parts, body, version):
        """What Cinder keeps of the image a request names, from Glance: a
        new volume's imageRef, os-reimage's image_id.  None if it names
        none.  An image Glance does not have is refused as Cinder refuses
        it: 400 for a new volume, 404 for a re-image."""
        wanted = body.get('volume') or {}
        reimage = body.get('os-reimage') or {}
        if method != 'POST' or parts[0] != 'volumes':
            return None
        if parts[1:] == [] and wanted.get('imageRef'):
            ref = str(wanted['imageRef'])
            missing = cinder_store.bad_request(
                f'Invalid image identifier or unable to access requested '
                f'image: {ref}.')
        elif (parts[2:] == ['action'] and reimage.get('image_id') and
              version >= GATES['os-reimage'] and len(body) == 1):
            ref = str(reimage['image_id'])
            missing = cinder_store.not_found('Image', ref)
        else:
            return None
        if not self.glance_url:
            raise cinder_store.bad_request(
                f'Invalid input received: image {ref}: this Cinder knows '
                f'no Glance to read it from (--glance-url).')
        # Nova may give an image's href: its id is the last part.
        image_id = ref.rstrip('/').rsplit('/', 1)[-1]
        try:
            image = glance.show_image(self.glance_url.rstrip('/'), image_id)
        except requests.RequestException as e:
            raise cinder_store.Fault(
                503, 'serviceUnavailable', f'Glance at {self.glance_url} '
                f'failed to show image {ref}: {e}') from None
        if image is None:
            raise missing
        if image['status'] != 'active':
            raise cinder_store.bad_request(
                f'Invalid input received: Image {image_id} is not active.')
        return cinder_store.image_metadata(image)

    def _reimaged(self, volume_id):
        """The image is written: tell Nova, which waits for this event to
        go on with a volume-backed rebuild."""
        servers = self.store.end_reimage(volume_id)
        if not servers:
            return
        if not self.nova_url:
            LOG.warning('Volume %s is re-imaged, but no Nova is known to '
                        'tell (--nova-url)', volume_id)
            return
        events = [{'name': 'volume-reimaged', 'server_uuid': server,
                   'tag': volume_id} for server in servers]
        try:
            answer = requests.post(
                f'{self.nova_url.rstrip("/")}/os-server-external-events',
                json={'events': events}, timeout=30, headers={
                    'OpenStack-API-Version': f'compute {NOVA_EVENTS_VERSION}',
                    'X-OpenStack-Nova-API-Version': NOVA_EVENTS_VERSION})
            answer.raise_for_status()
        except requests.RequestException as e:
            LOG.error('Nova was not told that volume %s is re-imaged: %s',
                      volume_id, e)

    # -- attachments -------------------------------------------------------

    def _attachments(self, method, rest, query, body):
        store, view = self.store, cinder_store.attachment_view
        if rest in ([], ['detail']) and method == 'GET':
            found = store.list_attachments(query.get('instance_id'),
                                           query.get('volume_id'))
            return 200, {'attachments': [view(a) for a in found]}
        wanted = body.get('attachment') or {}
        if rest == [] and method == 'POST':
            if not wanted.get('volume_uuid'):
                raise cinder_store.bad_request(
                    'Invalid input received: an attachment needs a '
                    'volume_uuid.')
            attachment = store.create_attachment(
                wanted['volume_uuid'], wanted.get('instance_uuid'),
                wanted.get('connector'), wanted.get('mode'))
            return 200, {'attachment': view(attachment)}
        if len(rest) == 1 and method == 'GET':
            return 200, {'attachment': view(store.attachment(rest[0]))}
        if len(rest) == 1 and method == 'PUT':
            attachment = store.update_attachment(rest[0],
                                                 wanted.get('connector'))
            return 200, {'attachment': view(attachment)}
        if len(rest) == 1 and method == 'DELETE':
            remaining = store.delete_attachment(rest[0])
            return 200, {'attachments': [view(a) for a in remaining]}
        if rest[1:] == ['action'] and method == 'POST':
            if list(body) != ['os-complete']:
                raise cinder_store.bad_request(
                    f'There is no such action: {list(body)} (attachment '
                    f'{rest[0]}).')
            store.complete_attachment(rest[0])
            return 204, None
        raise _no_resource()

    def _base(self, environ):
        if self.public_url:
            return self.public_url.rstrip('/')
        return (f'{environ["wsgi.url_scheme"]}://{environ["HTTP_HOST"]}'
                f'{environ.get("SCRIPT_NAME", "")}')


def _version_doc(base):
    return {'id': 'v3.0', 'status': 'CURRENT',
            'version': '%d.%d' % MAX_VERSION,
            'min_version': '%d.%d' % MIN_VERSION,
            'updated': '2023-08-31T00:00:00Z',
            'links': [{'rel': 'self', 'href': f'{base}/v3/'}],
            'media-types': [{'base': 'application/json',
                             'type': 'application/vnd.openstack.volume+json;'
                                     'version=3'}]}


def _microversion(environ):
    """The request's volume microversion (3.0 without one), refused with
    406 outside what this stand-in serves, as Cinder refuses it."""
    header = environ.get('HTTP_OPENSTACK_API_VERSION', '')
    match = re.search(r'volume\s+(\S+)', header)
    if not match:
        return MIN_VERSION
    if match.group(1) == 'latest':
        return MAX_VERSION
    try:
        version = tuple(int(n) for n in match.group(1).split('.'))
    except ValueError:
        version = ()
    if len(version) != 2 or not MIN_VERSION <= version <= MAX_VERSION:
        raise cinder_store.Fault(
            406, 'computeFault',
            f'Version {match.group(1)} is not supported by the API. Minimum '
            'is %d.%d and maximum is %d.%d.' % (MIN_VERSION + MAX_VERSION))
    return version


def _query(environ):
    return parse.parse_qsl(environ.get('QUERY_STRING', ''))


def _json_body(environ):
    data = environ['wsgi.input'].read(int(environ.get('CONTENT_LENGTH')
                                          or 0))
    try:
        body = json.loads(data or b'{}')
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise cinder_store.bad_request('Malformed request body: not a JSON '
                                       'object.')
    return body


def _no_resource():
    return cinder_store.Fault(404, 'itemNotFound',
                              'The resource could not be found.')


class _Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True


class _Logged(simple_server.WSGIRequestHandler):
    """One line per request: the request line (no headers: they carry the
    caller's token) and the status."""

    def log_message(self, format, *args):
        LOG.info('%s %s', self.address_string(), format % args)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m nova_ibmz.sandbox.cinder', description=__doc__.split(
            '\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--port', type=int, default=0,
                        help='port on 127.0.0.1 (0: a free one)')
    parser.add_argument('--state-file', required=True,
                        help='JSON file of the volumes, kept across starts')
    parser.add_argument('--nova-url', help="Nova's compute API "
                        '(http://HOST:PORT/v2.1), told of re-imaged volumes')
    parser.add_argument('--glance-url', help="Glance's API "
                        '(http://HOST:PORT), whose images volumes are made '
                        'from')
    parser.add_argument('--public-url', help='the address clients reach '
                        'this at, for the version documents')
    parser.add_argument('--seed', action='store_true',
                        help="add the sandbox's volumes (seed.py) if missing")
    parser.add_argument('--log-file', help='request log (default: stderr)')
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, filename=args.log_file,
                        format='%(asctime)s %(message)s')
    try:
        standin = CinderStandIn(args.state_file, args.nova_url,
                                args.public_url, glance_url=args.glance_url)
        standin.store.save()    # a file it cannot write: now, not later
    except (OSError, ValueError, KeyError) as e:
        parser.error(f'--state-file {args.state_file}: {e}')
    if args.seed:
        standin.seed()
    try:
        server = standin.serve(args.port)
    except OSError as e:
        parser.error(f'--port {args.port}: {e}')
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print(f'cinder stand-in ready: {server.url}', flush=True)
    stop.wait()
    server.shutdown()
    server.server_close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
