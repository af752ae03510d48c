# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""An HMC call's failure, with a message that names the HMC, what was being
done, and the HMC's status and reason.

The session (hmc.session) has repeated what the HMC calls temporary as far
as that is safe; what is left is sorted here: a refusal (4xx) the HMC gave,
an HMC that cannot answer (5xx, no connection), a refused logon.  A 404
stays zhmcclient.HTTPError: callers read it as "gone".
"""

import zhmcclient


class HMCError(Exception):
    """endpoint ("HMC host:port"), what was being done, and why not."""

    def __init__(self, endpoint, what, why):
        self.endpoint = endpoint
        self.what = what
        self.why = why
        super().__init__(f'{endpoint}: {self.summary}')

    @property
    def summary(self):
        return f'{self.what} failed: {self.why}'


class Refused(HMCError):
    """The HMC answered, and refused (HTTP 4xx other than 404)."""

    def __init__(self, endpoint, what, error):
        self.http_status, self.reason = error.http_status, error.reason
        super().__init__(endpoint, what, _status(error))

    @property
    def summary(self):
        return f'{self.what} refused: {self.why}'


class Unreachable(HMCError):
    """The HMC did not answer, or answered that it cannot (5xx)."""


class LogonRefused(Unreachable):
    """The HMC refused the logon of user (403 reason 0)."""

    def __init__(self, endpoint, what, user, error):
        self.refusal = f'the logon of {user!r} was refused ({error})'
        super().__init__(endpoint, what, self.refusal)


def _status(error):
    return f'HTTP {error.http_status},{error.reason}: {error.message}'


def call(endpoint, what, user, func, *args, **kwargs):
    """func(*args, **kwargs), an HMC call of user's session for what, with
    its failures as HMCErrors (but 404, see the module)."""
    try:
        return func(*args, **kwargs)
    except zhmcclient.HTTPError as e:
        if e.http_status == 404:
            raise
        if e.http_status < 500:
            raise Refused(endpoint, what, e) from e
        raise Unreachable(endpoint, what, _status(e)) from e
    except zhmcclient.ServerAuthError as e:
        raise LogonRefused(endpoint, what, user, e) from e
    except (zhmcclient.ConnectionError, zhmcclient.AuthError) as e:
        raise Unreachable(endpoint, what, str(e)) from e
