//! Fuzzes the HFile reader with raw input bytes taken as a whole file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hfile_fuzz::exercise(data);
});
