# shellcheck shell=bash
# shellcheck disable=SC2034  # the scripts that source this use them
# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
#
# The DPM guest image tools' shared library (sourced, not run).
#
# The nova-ibmz DPM driver cannot choose the MAC address or the port of an
# OSA NIC through the HMC, so it hands them to the guest: each NIC of the
# partition is one "<devno>,<port>,<mac>;" entry in the partition's
# boot-os-specific-parameters, which Linux sees on its kernel command line:
#
#   root=UUID=... 1000,0,fa163e5a01b2;1004,1,fa163e5a01b3; quiet
#
# devno: the NIC's first device number (4 hex digits; the qeth group is
# devno, devno+1, devno+2); port: the OSA port, 0 or 1; mac: 12 hex digits
# without separators, optional.  Upper or lower case.
#
# Everything read from the command line is data: it is checked against
# these patterns before use and never evaluated.
#
# Where the tools look and what they run comes from the environment, so
# that they can be tested on any machine:
#   DPM_TOOLS_PROC    the proc file system        (/proc)
#   DPM_TOOLS_SYS     the sys file system         (/sys)
#   DPM_TOOLS_CHZDEV  chzdev, or empty to write sysfs directly
#                     (chzdev when installed)
#   DPM_TOOLS_IP      ip                          (ip)
#   DPM_TOOLS_LOGGER  logger, or empty for standard error only
#                     (logger when installed)

DPM_PROC=${DPM_TOOLS_PROC:-/proc}
DPM_SYS=${DPM_TOOLS_SYS:-/sys}
DPM_CHZDEV=${DPM_TOOLS_CHZDEV-$(command -v chzdev || true)}
DPM_IP=${DPM_TOOLS_IP:-ip}
DPM_LOGGER=${DPM_TOOLS_LOGGER-$(command -v logger || true)}
DPM_TAG=dpm-guest-tools

DPM_DEVNO_RE='^[0-9a-fA-F]{4}$'
DPM_PORT_RE='^[01]$'
DPM_MAC_RE='^[0-9a-fA-F]{12}$'

# dpm_log MESSAGE: to standard error and, if there is a logger, to syslog.
dpm_log() {
    printf '%s: %s\n' "$DPM_TAG" "$1" >&2
    if [[ -n $DPM_LOGGER ]]; then
        "$DPM_LOGGER" -t "$DPM_TAG" -- "$1" || true
    fi
}

# dpm_entry ENTRY: print "<bus id> <port> <mac>" for one entry
# ("1000,0,fa163e5a01b2"), the MAC as aa:bb:cc:dd:ee:ff or "-" if none;
# return 1 (and print nothing) if it is malformed.
dpm_entry() {
    local devno port mac extra
    IFS=, read -r devno port mac extra <<<"$1"
    if [[ -n $extra || ! $devno =~ $DPM_DEVNO_RE ||
          ! $port =~ $DPM_PORT_RE ]]; then
        return 1
    fi
    if [[ -z $mac ]]; then
        mac=-
    elif [[ $mac =~ $DPM_MAC_RE ]]; then
        mac=${mac,,}
        mac=${mac:0:2}:${mac:2:2}:${mac:4:2}:${mac:6:2}:${mac:8:2}:${mac:10:2}
    else
        return 1
    fi
    printf '0.0.%s %s %s\n' "${devno,,}" "$port" "$mac"
}

# dpm_nics: print "<bus id> <port> <mac>" for every well-formed entry on
# the kernel command line, in order.  A word of the command line holds
# entries if it has a comma and no "=" (kernel parameters such as
# console=ttyS0,115200 have one); each malformed entry in it is skipped
# with a log line.
dpm_nics() {
    local cmdline word entry
    local -a words entries
    cmdline=$(<"$DPM_PROC/cmdline")
    read -r -a words <<<"$cmdline"
    for word in "${words[@]}"; do
        [[ $word == *,* && $word != *=* ]] || continue
        IFS=';' read -r -a entries <<<"$word"
        for entry in "${entries[@]}"; do
            [[ -n $entry ]] || continue
            dpm_entry "$entry" ||
                dpm_log "skipped malformed entry '${entry//[^[:print:]]/?}'"
        done
    done
}

# dpm_nic_of BUS_ID: print the "<bus id> <port> <mac>" line for one NIC.
dpm_nic_of() {
    local bus_id port mac
    while read -r bus_id port mac; do
        if [[ $bus_id == "$1" ]]; then
            printf '%s %s %s\n' "$bus_id" "$port" "$mac"
            return 0
        fi
    done < <(dpm_nics)
    return 1
}
