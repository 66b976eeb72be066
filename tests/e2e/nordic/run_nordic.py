#!/usr/bin/env python3
"""Runs one of Nordic's own tools unchanged against a pseudo-terminal.

    run_nordic.py nrfcredstore <nrfcredstore arguments...>
    run_nordic.py device_credentials_installer <installer arguments...>
    run_nordic.py gather_attestation_tokens <its arguments...>

Only the port lookup is replaced: `nrfcredstore.comms.select_device` accepts a port
only if pyserial lists it, and pyserial never lists /dev/pts/N. Everything else —
the serial settings, the AT commands, the parsing, the exit codes — is Nordic's.
Used by tests/e2e/nordic.rs with the venv scripts/setup.sh --dev creates.
"""

import sys

from serial.tools.list_ports_common import ListPortInfo

import nrfcredstore.comms


def _select_device(rtt, serial_number, port, list_all):
    if rtt or not port:
        raise SystemExit("run_nordic.py: give the pseudo-terminal's path as the port")
    return ListPortInfo(port, skip_link_detection=True), None


def main():
    tools = ("nrfcredstore", "device_credentials_installer", "gather_attestation_tokens")
    if len(sys.argv) < 2 or sys.argv[1] not in tools:
        raise SystemExit(f"usage: run_nordic.py {{{'|'.join(tools)}}} ARGS...")
    nrfcredstore.comms.select_device = _select_device
    tool = sys.argv[1]
    # Each tool's console-script entry point, with argv as its console script sees it
    # (nrfcredstore.cli.run binds sys.argv's list as a default: change it in place).
    sys.argv[:] = [tool] + sys.argv[2:]
    if tool == "nrfcredstore":
        from nrfcredstore.cli import run
    elif tool == "device_credentials_installer":
        from nrfcloud_utils.device_credentials_installer import run
    else:
        from nrfcloud_utils.gather_attestation_tokens import run
    run()


if __name__ == "__main__":
    main()
