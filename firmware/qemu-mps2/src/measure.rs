//! `--features measure`: the stack's and the heap's high-water marks, printed on the
//! host's stderr (semihosting) whenever one grows. The free stack (from the end of
//! `.bss` to the stack pointer at the main loop) is painted with a pattern at start;
//! the deepest word no longer holding it is the peak. For `docs/performance.md`,
//! never in a shipped image.

const PAINT: u32 = 0xDEAD_BEEF;

extern "C" {
    /// End of `.bss` (cortex-m-rt's linker script): the stack may grow down to here.
    static mut __ebss: u32;
}

/// The painted region and the highest marks seen.
pub struct Marks {
    floor: usize,
    top: usize,
    stack: usize,
    heap: usize,
}

impl Marks {
    /// Paints the free stack below the current frame.
    pub fn paint() -> Marks {
        let top = cortex_m::register::msp::read() as usize;
        // Only the address of the linker symbol is taken.
        let floor = core::ptr::addr_of_mut!(__ebss) as usize;
        // Leave the words the main loop's frame may still use untouched.
        for a in (floor..top.saturating_sub(64)).step_by(4) {
            // SAFETY: between the end of .bss and the live stack: free RAM.
            unsafe { core::ptr::write_volatile(a as *mut u32, PAINT) }
        }
        Marks { floor, top, stack: 0, heap: 0 }
    }

    /// Prints the marks if either grew; `heap` is the allocator's bytes in use.
    pub fn report(&mut self, heap: usize) {
        let mut a = self.floor;
        // SAFETY: reads of the painted region.
        while a < self.top && unsafe { core::ptr::read_volatile(a as *const u32) } == PAINT {
            a += 4;
        }
        let stack = self.top - a;
        if stack > self.stack || heap > self.heap {
            self.stack = self.stack.max(stack);
            self.heap = self.heap.max(heap);
            cortex_m_semihosting::heprintln!(
                "measure: peak stack {} bytes, heap in use {} bytes",
                self.stack,
                self.heap
            );
        }
    }
}
