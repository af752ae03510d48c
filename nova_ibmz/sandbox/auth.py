# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The sandbox's stand-in for keystonemiddleware's auth_token: a paste
filter that takes every caller as the admin of the sandbox's project.

Nova 34 has no API pipeline without Keystone, and Glance's answers 403 to
an image create: both run their keystone pipeline with this filter in
auth_token's place.  It sets the headers auth_token would set after
checking a token, so the services' own context middleware
(nova.api.auth:NovaKeystoneContext, Glance's ContextMiddleware) builds the
request context as in a real cloud.  The token itself is passed on
unchecked, so that Nova hands it to Glance, Cinder and Neutron as it would
a user's.

    [filter:authtoken]
    paste.filter_factory = nova_ibmz.sandbox.auth:filter_factory
    project_id = <the sandbox's project>
"""

import configparser

ROLES = 'admin,member,reader'
USER = 'admin'
FILTER = 'filter:authtoken'


def write_paste_config(source, path, project_id):
    """A copy of the paste config at source with this filter as its
    authtoken, taking callers as the admin of project_id: path."""
    paste = configparser.ConfigParser(interpolation=None)
    paste.optionxform = str
    paste.read(source)
    if FILTER not in paste:
        raise RuntimeError(f'{source} has no [{FILTER}] to replace')
    paste[FILTER] = {'paste.filter_factory': f'{__name__}:filter_factory',
                     'project_id': project_id}
    with open(path, 'w') as f:
        paste.write(f)
    return path


def filter_factory(global_conf, project_id, **local_conf):
    def make(app):
        def with_admin(environ, start_response):
            environ.update({
                'HTTP_X_IDENTITY_STATUS': 'Confirmed',
                'HTTP_X_USER_ID': USER, 'HTTP_X_USER_NAME': USER,
                'HTTP_X_PROJECT_ID': project_id,
                'HTTP_X_PROJECT_NAME': USER,
                'HTTP_X_TENANT_ID': project_id,
                'HTTP_X_USER_DOMAIN_ID': 'default',
                'HTTP_X_PROJECT_DOMAIN_ID': 'default',
                'HTTP_X_ROLES': ROLES})
            environ.setdefault('HTTP_X_AUTH_TOKEN', 'sandbox')
            return app(environ, start_response)
        return with_admin
    return make
