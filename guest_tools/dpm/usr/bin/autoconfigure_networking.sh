#!/bin/bash
# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
#
# autoconfigure_networking.sh: bring every NIC that the kernel command line
# lists ("<devno>,<port>[,<mac>];", see common.sh) online as a layer 2 qeth
# device on its OSA port.  Runs once at boot, before cloud-init (which
# configures the IP addresses), from autoconfigure_networking.service.
#
# A device that is online already is left as it is.  The exit code is 1 if
# any listed NIC could not be brought online, 0 otherwise.

set -u
# shellcheck source=SCRIPTDIR/../lib/dpm-guest-tools/common.sh
source "$(dirname "$0")/../lib/dpm-guest-tools/common.sh"

# The qeth group of a NIC: its device number and the next two (read,
# write and data channels), as "0.0.1000,0.0.1001,0.0.1002".
qeth_group() {
    local devno=$((16#${1#0.0.}))
    printf '0.0.%04x,0.0.%04x,0.0.%04x' \
        "$devno" "$((devno + 1))" "$((devno + 2))"
}

configure_with_chzdev() {
    local bus_id=$1 port=$2 group
    group=$(qeth_group "$bus_id")
    "$DPM_CHZDEV" --enable --active qeth "${group//,/:}" layer2=1 \
        "portno=$port"
}

configure_in_sysfs() {
    local bus_id=$1 port=$2 qeth=$DPM_SYS/bus/ccwgroup/drivers/qeth
    local device=$qeth/$bus_id
    if [[ ! -e $DPM_SYS/bus/ccw/devices/$bus_id ]]; then
        dpm_log "$bus_id: no such device"
        return 1
    fi
    if [[ ! -e $device ]]; then
        printf '%s\n' "$(qeth_group "$bus_id")" >"$qeth/group" || return 1
        if [[ ! -e $device ]]; then
            dpm_log "$bus_id: the qeth group did not appear"
            return 1
        fi
    fi
    if [[ $(<"$device/online") == 1 ]]; then
        dpm_log "$bus_id: online already, left as it is"
        return 0
    fi
    # layer2 and portno can only change while the device is offline.
    printf '1\n' >"$device/layer2" &&
        printf '%s\n' "$port" >"$device/portno" &&
        printf '1\n' >"$device/online"
}

configure() {
    if [[ -n $DPM_CHZDEV ]]; then
        configure_with_chzdev "$@"
    else
        configure_in_sysfs "$@"
    fi
}

failed=0
while read -r bus_id port _; do
    if configure "$bus_id" "$port"; then
        dpm_log "$bus_id: online in layer 2 on port $port"
    else
        dpm_log "$bus_id: could not be brought online"
        failed=1
    fi
done < <(dpm_nics)
exit "$failed"
