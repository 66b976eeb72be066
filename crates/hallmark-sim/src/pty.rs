//! A pseudo-terminal in raw mode: the master is the board's UART, the slave path is
//! the "serial port" the station opens.

use crate::SimError;
use nix::pty::openpty;
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
use std::fs::File;
use std::os::fd::OwnedFd;
use std::path::PathBuf;

/// An open pseudo-terminal.
pub struct Pty {
    /// The board's end.
    pub master: File,
    /// Kept open so the pty survives the station closing and reopening the port.
    _slave: OwnedFd,
    /// Path the station opens.
    pub path: PathBuf,
}

impl Pty {
    /// Opens a new pty with the slave in raw mode (no echo, no line editing).
    pub fn open() -> Result<Pty, SimError> {
        let pty = openpty(None, None).map_err(|e| SimError::Pty(e.to_string()))?;
        let mut t = tcgetattr(&pty.slave).map_err(|e| SimError::Pty(e.to_string()))?;
        cfmakeraw(&mut t);
        tcsetattr(&pty.slave, SetArg::TCSANOW, &t).map_err(|e| SimError::Pty(e.to_string()))?;
        let path = nix::unistd::ttyname(&pty.slave).map_err(|e| SimError::Pty(e.to_string()))?;
        Ok(Pty { master: File::from(pty.master), _slave: pty.slave, path })
    }
}
