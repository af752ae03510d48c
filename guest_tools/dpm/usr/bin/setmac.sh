#!/bin/bash
# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
#
# setmac.sh INTERFACE|BUS-ID: give a qeth interface the MAC address that
# its entry on the kernel command line names (see common.sh): Neutron's
# MAC for the port, which the HMC cannot set on an OSA NIC.  Run by udev
# (80-setmac.rules) when a qeth interface appears; by hand with the
# interface name (eth0) or the NIC's bus id (0.0.1000).
#
# An interface that the command line does not list, or lists without a
# MAC, is left as it is.  Exit code 2 for a bad argument, 1 if the MAC
# could not be set.

set -u
# shellcheck source=SCRIPTDIR/../lib/dpm-guest-tools/common.sh
source "$(dirname "$0")/../lib/dpm-guest-tools/common.sh"

BUS_ID_RE='^0\.[0-3]\.[0-9a-fA-F]{4}$'
INTERFACE_RE='^[A-Za-z0-9_.-]{1,15}$'

argument=${1-}
if [[ $argument =~ $BUS_ID_RE ]]; then
    bus_id=${argument,,}
    interfaces=("$DPM_SYS/bus/ccwgroup/devices/$bus_id/net/"*)
    interface=${interfaces[0]##*/}
    if [[ ! -e ${interfaces[0]} ]]; then
        dpm_log "$bus_id: no network interface"
        exit 1
    fi
elif [[ $argument =~ $INTERFACE_RE ]]; then
    interface=$argument
    device=$(readlink "$DPM_SYS/class/net/$interface/device") || {
        dpm_log "$interface: no such interface"
        exit 1
    }
    bus_id=${device##*/}
else
    dpm_log "usage: setmac.sh INTERFACE|BUS-ID (got '${argument//[^[:print:]]/?}')"
    exit 2
fi

if ! nic=$(dpm_nic_of "$bus_id"); then
    dpm_log "$interface ($bus_id): not on the kernel command line, left as it is"
    exit 0
fi
read -r _ _ mac <<<"$nic"
if [[ $mac == - ]]; then
    dpm_log "$interface ($bus_id): no MAC given, left as it is"
    exit 0
fi
if [[ $(<"$DPM_SYS/class/net/$interface/address") == "$mac" ]]; then
    exit 0
fi
if ! "$DPM_IP" link set dev "$interface" address "$mac"; then
    dpm_log "$interface ($bus_id): could not set MAC $mac"
    exit 1
fi
dpm_log "$interface ($bus_id): MAC set to $mac"
