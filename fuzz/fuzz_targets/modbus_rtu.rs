//! The Modbus RTU codec: any bytes decode to a frame, "need more" or an error, never a panic;
//! a decoded frame never claims more bytes than it was given and encodes back to a frame
//! that decodes to the same thing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use podium_devices::modbus::codec::{decode_request, decode_response, encode_request, encode_response};

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(decoded)) = decode_request(data) {
        assert!(decoded.length <= data.len());
        let mut out = Vec::new();
        if encode_request(decoded.adu.unit, &decoded.adu.pdu, &mut out).is_ok() {
            let again = decode_request(&out).expect("re-decodes").expect("complete");
            assert_eq!(again.adu, decoded.adu);
        }
    }
    if let Ok(Some(decoded)) = decode_response(data) {
        assert!(decoded.length <= data.len());
        let mut out = Vec::new();
        if encode_response(decoded.adu.unit, &decoded.adu.pdu, &mut out).is_ok() {
            let again = decode_response(&out).expect("re-decodes").expect("complete");
            assert_eq!(again.adu, decoded.adu);
        }
    }
});
