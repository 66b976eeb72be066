//! The CMSDK APB UART (UART0 of the MPS2 boards) at 0x4000_4000: DATA 0x0, STATE 0x4
//! (bit 0 TX full, bit 1 RX full), CTRL 0x8 (bit 0 TX enable, bit 1 RX enable),
//! BAUDDIV 0x10. One byte each way, no FIFO: the main loop polls it.

use core::ptr::{read_volatile, write_volatile};

const BASE: usize = 0x4000_4000;
const DATA: *mut u32 = BASE as *mut u32;
const STATE: *mut u32 = (BASE + 0x4) as *mut u32;
const CTRL: *mut u32 = (BASE + 0x8) as *mut u32;
const BAUDDIV: *mut u32 = (BASE + 0x10) as *mut u32;

const TX_FULL: u32 = 1 << 0;
const RX_FULL: u32 = 1 << 1;

/// UART0, the provisioning line.
pub struct Uart(());

impl Uart {
    /// Enables UART0 for sending and receiving.
    pub fn take() -> Uart {
        // SAFETY: the addresses are UART0's registers on this board (hw/arm/mps2.c),
        // and `take` is called once, before anything else touches them.
        unsafe {
            write_volatile(BAUDDIV, 16); // the smallest divisor the UART accepts
            write_volatile(CTRL, 0b11);
        }
        Uart(())
    }

    /// A received byte, if one is waiting.
    pub fn read(&mut self) -> Option<u8> {
        // SAFETY: UART0 registers, owned by this value.
        unsafe { (read_volatile(STATE) & RX_FULL != 0).then(|| read_volatile(DATA) as u8) }
    }

    /// Sends a byte, waiting while the transmitter is full.
    pub fn write(&mut self, byte: u8) {
        // SAFETY: UART0 registers, owned by this value.
        unsafe {
            while read_volatile(STATE) & TX_FULL != 0 {}
            write_volatile(DATA, byte as u32);
        }
    }
}
