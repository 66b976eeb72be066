//! Randomness for the emulated board. QEMU models no random number generator on the
//! MPS2 boards, so this build seeds a ChaCha20 generator from the host's
//! `/dev/urandom` through semihosting. **QEMU only**: semihosting does not exist on a
//! production board, and this module is compiled only into this image; a real board
//! seeds from its TRNG behind the same `CryptoRngCore`.

use cortex_m_semihosting::{nr, syscall};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// A generator seeded with 32 bytes of host entropy, or `None` if the host gave none.
pub fn from_host() -> Option<ChaCha20Rng> {
    let path = b"/dev/urandom\0";
    // SAFETY: semihosting calls with pointers to live buffers of the stated lengths.
    unsafe {
        // Mode 1 is "rb"; the length excludes the terminating NUL.
        let fd = syscall!(OPEN, path.as_ptr(), 1, path.len() - 1) as isize;
        if fd < 0 {
            return None;
        }
        let mut seed = [0u8; 32];
        // SYS_READ returns the number of bytes NOT read.
        let left = syscall!(READ, fd as usize, seed.as_mut_ptr(), seed.len());
        syscall!(CLOSE, fd as usize);
        let _ = nr::CLOSE;
        (left == 0).then(|| ChaCha20Rng::from_seed(seed))
    }
}
