#!/bin/bash
# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
#
# install.sh --root DIR: install the DPM guest image tools into the image
# tree mounted at DIR (--root / for the running system) and enable their
# service, as `systemctl enable` would, without needing systemd there.

set -eu

usage() {
    printf 'usage: %s --root DIR\n' "$0" >&2
    exit 2
}

root=
while [[ $# -gt 0 ]]; do
    case $1 in
        --root)
            [[ $# -ge 2 ]] || usage
            root=$2
            shift 2
            ;;
        *) usage ;;
    esac
done
[[ -n $root ]] || usage
if [[ ! -d $root ]]; then
    printf '%s: --root %s is not a directory\n' "$0" "$root" >&2
    exit 2
fi

source_tree=$(dirname "$0")
# file in the tree, mode
files=(
    usr/bin/autoconfigure_networking.sh 0755
    usr/bin/setmac.sh 0755
    usr/lib/dpm-guest-tools/common.sh 0644
    usr/lib/systemd/system/autoconfigure_networking.service 0644
    etc/udev/rules.d/80-setmac.rules 0644
)
for ((i = 0; i < ${#files[@]}; i += 2)); do
    install -D -m "${files[i + 1]}" "$source_tree/${files[i]}" \
        "$root/${files[i]}"
    printf 'installed /%s\n' "${files[i]}"
done
wants=$root/etc/systemd/system/multi-user.target.wants
mkdir -p "$wants"
ln -sfn /usr/lib/systemd/system/autoconfigure_networking.service \
    "$wants/autoconfigure_networking.service"
printf 'enabled autoconfigure_networking.service\n'
