# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""oslo.config value types for mainframe identifiers.

Each type parses its text once, when oslo.config reads the option, into a
small value object, so a bad value fails with the option's name and the
value in the message, and the drivers never re-parse strings.
"""

import ipaddress
import re
from typing import NamedTuple

from oslo_config import types

HMC_DEFAULT_PORT = 6794

_OBJECT_ID = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-'
                        r'[0-9a-f]{12}$')
_HOSTNAME = re.compile(r'^[A-Za-z0-9]([A-Za-z0-9.-]{0,252}[A-Za-z0-9])?$')
# CP names (userids, profiles, vswitches, disk pools): 1-8 characters.
_CP_NAME = re.compile(r'^[A-Z0-9@#$_-]{1,8}$')


class HostPort(NamedTuple):
    host: str
    port: int

    @property
    def url_host(self):
        """The host as a URL holds it: an IPv6 address in brackets."""
        return f'[{self.host}]' if ':' in self.host else self.host

    def __str__(self):
        return f'{self.url_host}:{self.port}'


class AdapterPort(NamedTuple):
    adapter_id: str
    port: int

    def __str__(self):
        return f'{self.adapter_id}:{self.port}'


class DiskPool(NamedTuple):
    disk_type: str
    name: str

    def __str__(self):
        return f'{self.disk_type}:{self.name}'


def _port(text, what):
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f'{what}: port {text!r} is not a number from 1 to '
                         f'65535')
    return int(text)


def parse_host_port(text):
    """'host', 'host:port', 'v6addr' or '[v6addr]:port' -> HostPort."""
    if text.startswith('['):
        host, sep, rest = text[1:].partition(']')
        port = _port(rest[1:], text) if rest.startswith(':') else None
        if not sep or (rest and port is None):
            raise ValueError(f'{text!r} is not host, host:port or '
                             f'[ipv6]:port')
    elif text.count(':') == 1:
        host, port_text = text.split(':')
        port = _port(port_text, text)
    else:
        host, port = text, None
    if ':' in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f'{text!r}: {host!r} is not an IPv6 address')
    elif not _HOSTNAME.fullmatch(host):
        raise ValueError(f'{text!r} is not a valid host name or address')
    return HostPort(host, HMC_DEFAULT_PORT if port is None else port)


def parse_object_id(text):
    """An HMC object-id (a UUID, as the HMC shows it in lower case)."""
    value = text.lower()
    if not _OBJECT_ID.fullmatch(value):
        raise ValueError(f'{text!r} is not an HMC object-id (a UUID such as '
                         f'fa1f2466-12df-311a-804c-4ed2cc1d6564)')
    return value


def parse_adapter_port(text):
    """'<adapter object-id>:<port index>' -> AdapterPort."""
    adapter, sep, port = text.rpartition(':')
    if not sep or not port.isdigit():
        raise ValueError(f'{text!r} is not <adapter-object-id>:<port>')
    return AdapterPort(parse_object_id(adapter), int(port))


def parse_wwpn(text):
    """A WWPN as 16 hex digits, with or without ':' or a 0x prefix."""
    value = text.lower().replace(':', '')
    value = value[2:] if value.startswith('0x') else value
    if not re.fullmatch(r'[0-9a-f]{16}', value):
        raise ValueError(f'{text!r} is not a WWPN (16 hex digits)')
    return value


def parse_cp_name(text):
    """A z/VM CP name: 1 to 8 characters, stored upper case."""
    value = text.upper()
    if not _CP_NAME.fullmatch(value):
        raise ValueError(f'{text!r} is not a z/VM name (1 to 8 letters, '
                         f'digits or @#$_-)')
    return value


def parse_disk_pool(text):
    """'ECKD:<pool>' or 'FBA:<pool>' -> DiskPool."""
    disk_type, sep, name = text.partition(':')
    if not sep or disk_type.upper() not in ('ECKD', 'FBA'):
        raise ValueError(f'{text!r} is not ECKD:<pool> or FBA:<pool>')
    return DiskPool(disk_type.upper(), parse_cp_name(name))


class Parsed(types.ConfigType):
    """A string option parsed by a function into a value object."""

    def __init__(self, type_name, parse):
        super().__init__(type_name=type_name)
        self._parse = parse

    def __call__(self, value):
        if not isinstance(value, str):
            return value  # already parsed, e.g. a value set by code
        return self._parse(value.strip())

    def __eq__(self, other):
        return (type(self) is type(other) and self.type_name ==
                other.type_name and self._parse is other._parse)

    def _formatter(self, value):
        return str(value)


HostPortType = Parsed('host or host:port value', parse_host_port)
ObjectIdType = Parsed('HMC object-id value', parse_object_id)
AdapterPortType = Parsed('<adapter-object-id>:<port> value',
                         parse_adapter_port)
WWPNType = Parsed('WWPN value', parse_wwpn)
CPNameType = Parsed('z/VM name value', parse_cp_name)
DiskPoolType = Parsed('ECKD:<pool> or FBA:<pool> value', parse_disk_pool)
