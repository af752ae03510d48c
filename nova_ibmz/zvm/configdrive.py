# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The config drive a z/VM guest boots with.

A z/VM guest has no metadata service path of its own: the deploy punches
the config drive to the guest's virtual reader, where its activation engine
(zvmguestconfigure) finds it and hands it to cloud-init.  So every guest
gets one, and with it the files to inject, the network configuration and
the admin password.

Nova's builder writes the metadata tree; we write the iso9660 image with
pycdlib instead of running genisoimage, so a compute host needs no extra
binary.  The image has what genisoimage -J -r -V config-2 gives: Rock Ridge
and Joliet names, volume label config-2.
"""

import os

from nova.api.metadata import base as instance_metadata
from nova import utils
from nova.virt import configdrive
import pycdlib

VOLUME_LABEL = 'config-2'


class ISOBuilder(configdrive.ConfigDriveBuilder):
    """ConfigDriveBuilder whose iso9660 image is written in Python.  Always
    iso9660, whatever [DEFAULT] config_drive_format says: the guest's
    activation engine reads no other format."""

    def make_drive(self, path):
        with utils.tempdir() as tmpdir:
            self._write_md_files(tmpdir)
            self._make_iso9660(path, tmpdir)

    def _make_iso9660(self, path, tmpdir):
        iso = pycdlib.PyCdlib()
        iso.new(interchange_level=3, joliet=3, rock_ridge='1.09',
                vol_ident=VOLUME_LABEL)
        try:
            for name, is_dir in _tree(tmpdir):
                kwargs = {'rr_name': os.path.basename(name),
                          'joliet_path': '/' + name}
                iso_path = '/' + _iso9660_name(name, is_dir)
                if is_dir:
                    iso.add_directory(iso_path, **kwargs)
                else:
                    iso.add_file(os.path.join(tmpdir, name),
                                 iso_path + ';1', **kwargs)
            iso.write(path)
        finally:
            iso.close()


def _tree(top):
    """(relative path, is a directory) below top, parents first."""
    for root, dirs, files in os.walk(top):
        dirs.sort()
        rel = os.path.relpath(root, top)
        for name in dirs + sorted(files):
            path = name if rel == '.' else f'{rel}/{name}'
            yield path, name in dirs


def _iso9660_name(path, is_dir):
    """The iso9660 name of path: upper case, only the characters iso9660
    allows, and a file's one dot.  Guests read the Rock Ridge and Joliet
    names, which keep the real one."""
    def strict(text):
        return ''.join(c if c.isalnum() else '_' for c in text.upper())
    *dirs, last = path.split('/')
    stem, dot, ext = last.rpartition('.') if '.' in last else (last, '', '')
    last = strict(last) if is_dir else f'{strict(stem)}.{strict(ext)}'
    return '/'.join([strict(d) for d in dirs] + [last])


def build(instance, path, injected_files, network_info, admin_password):
    """Write the instance's config drive to path (iso9660, config-2)."""
    extra_md = {'admin_pass': admin_password} if admin_password else {}
    metadata = instance_metadata.InstanceMetadata(
        instance, content=injected_files, extra_md=extra_md,
        network_info=network_info)
    with ISOBuilder(instance_md=metadata) as builder:
        builder.make_drive(path)
