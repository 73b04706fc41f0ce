#![no_main]

// The properties live in kingest::fuzzing, shared with tests/fuzz_inputs.rs.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(violated) = kingest::fuzzing::notification(data) {
        panic!("{violated}");
    }
});
