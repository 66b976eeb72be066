//! End-to-end tests: the real `hallmark` binary, a simulated board on a real
//! pseudo-terminal, a real SQLite file, and independent verifiers (openssl,
//! pdftoppm + zbarimg) for what the station produces.

mod support;

mod broker;
mod ca;
mod ca_import;
mod cli_contract;
mod conformance;
mod crash;
mod evidence;
mod faults;
mod fleet;
mod fleet_ca;
mod happy_path;
mod hostile;
mod interruption;
mod labels;
mod line_speed;
mod nordic;
mod nrf91;
mod package;
mod pkcs11;
mod qa;
mod qemu;
mod reprovision;
mod selftest;
mod slots;
mod swd;
mod uid_schemes;
