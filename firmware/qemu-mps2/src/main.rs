//! Hallmark's reference agent on a Cortex-M4: QEMU's `mps2-an386`, the provisioning
//! protocol on UART0, keys and certificates in RAM, randomness from the host (QEMU
//! only, see `entropy.rs`). The station provisions it like any board on a serial port.
#![no_std]
#![no_main]

extern crate alloc;

mod entropy;
mod host_file;
#[cfg(feature = "measure")]
mod measure;
mod stores;
mod uart;

use alloc::string::ToString;
use alloc::vec::Vec;
use core::mem::MaybeUninit;
use cortex_m_rt::entry;
use cortex_m_semihosting::debug;
use embedded_alloc::LlffHeap as Heap;
use hallmark_agent::{Agent, DeviceDescription};
use hallmark_protocol::FrameDecoder;
use rand_core::RngCore;

#[global_allocator]
static HEAP: Heap = Heap::empty();

/// The heap: objects (certificate, chain, trust anchor, CSR) and their staging.
const HEAP_SIZE: usize = 9 * 1024;

#[entry]
fn main() -> ! {
    static mut HEAP_MEM: [MaybeUninit<u8>; HEAP_SIZE] = [MaybeUninit::uninit(); HEAP_SIZE];
    // `#[entry]` turns `HEAP_MEM` into a `&'static mut`: this is its only use.
    // SAFETY: the region is valid, unused elsewhere, and the heap is set up once, first.
    unsafe { HEAP.init(HEAP_MEM.as_mut_ptr() as usize, HEAP_SIZE) }

    let mut uart = uart::Uart::take();
    let Some(mut rng) = entropy::from_host() else {
        // Without entropy no key may be made: stop, loudly.
        debug::exit(debug::EXIT_FAILURE);
        loop {
            cortex_m::asm::wfi();
        }
    };
    // The emulated chip's unique id, made from the same source on its first boot.
    let hardware_id = stores::chip_id(|| {
        let mut id = [0u8; 8];
        rng.fill_bytes(&mut id);
        id
    });
    let description = DeviceDescription {
        hardware_id,
        model: "HM-QEMU-MPS2".to_string(),
        firmware_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let mut agent = Agent::new(description, stores::KeptKey::load(), stores::KeptIdentity::load(), rng);
    let mut decoder = FrameDecoder::new();
    #[cfg(feature = "measure")]
    let mut marks = measure::Marks::paint();
    loop {
        let Some(byte) = uart.read() else { continue };
        if let Some(Ok(frame)) = decoder.push(byte) {
            let wire: Vec<u8> = agent.handle_frame(&frame);
            for b in wire {
                uart.write(b);
            }
            #[cfg(feature = "measure")]
            marks.report(HEAP.used());
        }
    }
}

/// Says why on the host's stderr (semihosting), then stops QEMU with a failure.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    cortex_m_semihosting::heprintln!("hallmark firmware: {}", info);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
