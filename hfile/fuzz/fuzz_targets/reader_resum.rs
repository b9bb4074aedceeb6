//! Fuzzes the HFile reader past checksum verification: the block checksums of the mutated
//! input are recomputed first, so mutations reach decompression, decoding and the indexes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut data = data.to_vec();
    hfile_fuzz::resum(&mut data);
    hfile_fuzz::exercise(&data);
});
