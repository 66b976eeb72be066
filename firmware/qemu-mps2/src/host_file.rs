//! Files on the host through semihosting: the emulated board's non-volatile storage.
//! **QEMU only**, like `entropy.rs`: a real board keeps its key and identity in its
//! own protected flash behind the same store traits.

use alloc::vec::Vec;
use cortex_m_semihosting::syscall;

/// The largest file read back (key, or certificate + chain + trust anchor).
const MAX_FILE: usize = 6 * 1024;

/// Reads the whole file `name` (NUL-terminated), if it exists and is not too large.
pub fn read(name: &[u8]) -> Option<Vec<u8>> {
    // SAFETY: semihosting calls with pointers to live buffers of the stated lengths.
    unsafe {
        let fd = syscall!(OPEN, name.as_ptr(), 1, name.len() - 1) as isize; // "rb"
        if fd < 0 {
            return None;
        }
        let len = syscall!(FLEN, fd as usize);
        let mut data = Vec::new();
        if len <= MAX_FILE {
            data.resize(len, 0);
            let left = syscall!(READ, fd as usize, data.as_mut_ptr(), len);
            if left != 0 {
                data.clear();
            }
        }
        syscall!(CLOSE, fd as usize);
        (!data.is_empty()).then_some(data)
    }
}

/// Replaces the file `name` with `parts`, one after the other, atomically: written to
/// `temp`, then renamed, so a power cut leaves the old file or the new one, never half
/// of one. Written in parts so that nothing is copied into one buffer first (the heap
/// is small).
pub fn replace(name: &[u8], temp: &[u8], parts: &[&[u8]]) -> bool {
    // SAFETY: as above.
    unsafe {
        let fd = syscall!(OPEN, temp.as_ptr(), 5, temp.len() - 1) as isize; // "wb"
        if fd < 0 {
            return false;
        }
        let mut left = 0;
        for part in parts {
            left += syscall!(WRITE, fd as usize, part.as_ptr(), part.len());
        }
        let closed = syscall!(CLOSE, fd as usize);
        if left != 0 || closed != 0 {
            return false;
        }
        syscall!(REMOVE, name.as_ptr(), name.len() - 1);
        syscall!(RENAME, temp.as_ptr(), temp.len() - 1, name.as_ptr(), name.len() - 1) == 0
    }
}
