# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The Cloud Connector client (nova_ibmz.connector.client) as the z/VM
driver uses it: its errors are Nova's kinds, so that Nova's compute
manager treats them as its own and shows their message.

- an error envelope: ConnectorError (a RequestRefused), ConnectorNotFound
  for HTTP 404, with the connector's codes;
- no answer (or none with an envelope): HypervisorUnreachable;
- a refused admin or auth token: ConfigurationError naming [zvm]
  admin_token_file.
"""

from nova import exception

from nova_ibmz.common.exception import ConfigurationError
from nova_ibmz.common.exception import HypervisorUnreachable
from nova_ibmz.common.exception import RequestRefused
from nova_ibmz.connector import client as plain


class ConnectorError(RequestRefused):
    """The connector answered a request with an error envelope: its codes
    (status, overall_rc, rc, rs, mod_id, errmsg) and message."""

    def __init__(self, error):
        self.error = error
        for name in ('request', 'status', 'overall_rc', 'rc', 'rs', 'mod_id',
                     'errmsg'):
            setattr(self, name, getattr(error, name))
        # The whole message is the connector's: RequestRefused's format is
        # not used.
        exception.NovaException.__init__(self, message=str(error))

    def is_code(self, overall_rc, rs=None):
        return self.error.is_code(overall_rc, rs)


class ConnectorNotFound(ConnectorError):
    """HTTP 404: the guest, image, vswitch ... does not exist."""


class CloudConnector(plain.CloudConnector):
    """Requests to one Cloud Connector, retried as the plain client does;
    the cost of each is the plain client's."""

    def request(self, method, path, body=None, params=None):
        try:
            return super().request(method, path, body=body, params=params)
        except plain.ConnectorNotFound as e:
            raise ConnectorNotFound(e) from e
        except plain.ConnectorError as e:
            raise ConnectorError(e) from e
        except plain.Unreachable as e:
            raise HypervisorUnreachable(e.url, e.reason) from e
        except plain.TokenRefused as e:
            raise ConfigurationError('zvm', 'admin_token_file',
                                     str(e)) from e
