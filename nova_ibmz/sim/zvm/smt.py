# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The SMT layer under the connector's SDK (smtLayer, shipped with
zVMCloudConnector), for the requests whose refusals a client sees.

The SDK sends the SMT layer a request string ("changevm G1 add3390 POOL1
0100 5g --mode MR") and quotes the results of a failed one in its error
message.  smtLayer's own request handle parses the string and converts
sizes here, so its refusals (an unknown operand, a size that is no number)
carry its own codes and messages; what SMAPI would refuse is filled in by
the caller (smapi_refused) as smtLayer's invokeSMCLI reports it.
"""

from smtLayer import generalUtils
from smtLayer import msgs
from smtLayer import ReqHandle

from nova_ibmz.sim.zvm import errors

SMCLI = 'sudo /opt/zthin/bin/smcli'
# smtLayer's module id in invokeSMCLI's messages (vmUtils.modId).
SMCLI_MODULE = 'VMU'
# Sizes as smtLayer reads them: cylinders for a 3390, blocks for a 9336.
CONVERT = {'add3390': generalUtils.cvtToCyl,
           'add9336': generalUtils.cvtToBlocks}


class Failed(Exception):
    """The SMT layer's results of a failed request."""

    def __init__(self, request, results):
        super().__init__(request)
        self.request = request
        self.results = results

    def error(self, action):
        """The SDK's error for it (smtclient._request, reraised with the
        action by zvmutils.log_and_reraise_smt_request_failed): the SMT
        results' codes with modID 1, HTTP 500 unless a route maps them."""
        r = self.results
        return errors.ConnectorError(
            r['overallRC'], r['rc'], r['rs'], errors.MOD['smt'],
            f"Failed to {action}. SMT error: SMT request failed. "
            f"RequestData: '{self.request}', Results: '{r}'.")


class Request:
    """One request as the SMT layer holds it: parsed on creation."""

    def __init__(self, text):
        self.text = text
        self._handle = ReqHandle.ReqHandle()
        try:
            self._handle.parseCmdline(text)
        except ValueError as e:
            # shlex cannot split it; the SDK makes any exception of the SMT
            # layer its internal error.
            raise errors.sdk('internal', 1, 'smt', msg=str(e))
        self._check()

    @property
    def parms(self):
        return self._handle.parms

    def size_units(self):
        """The request's diskSize in cylinders or blocks, as the SMT layer
        converts it (Failed with its 4/4/20x when it cannot)."""
        convert = CONVERT[self._handle.subfunction.lower()]
        results, units = convert(self._handle, self.parms['diskSize'])
        if results['overallRC']:
            self._handle.updateResults(results)
            self._check()
        return int(units)

    def smapi_refused(self, api_name, parms, rc, rs, text):
        """Failed as invokeSMCLI reports SMAPI's refusal: overallRC 8 with
        SMAPI's rc and rs, smcli's message as strError."""
        cmd = ' '.join([SMCLI, api_name, '--addRCheader', *parms])
        self._handle.updateResults({'overallRC': 8, 'rc': rc, 'rs': rs,
                                    'errno': 0, 'strError': text})
        self._handle.printLn('ES', msgs.msg['0300'][1] % (
            SMCLI_MODULE, api_name, 8, rc, rs, 0, cmd, ''))
        self._check()

    def _check(self):
        results = dict(self._handle.results)
        if results['overallRC']:
            # The SDK drops the log entries before it quotes the results.
            results.pop('logEntries')
            raise Failed(self.text, results)
