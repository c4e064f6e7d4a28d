//! Property tests of the RTU codec: decoders never panic on any bytes, valid frames
//! round-trip, and any corruption of a valid frame is caught (never decoded as a
//! different frame).

use podium_devices::modbus::codec::{
    self, Adu, ExceptionCode, FrameError, Request, Response, decode_request, decode_response, encode_request,
    encode_response,
};
use proptest::prelude::*;

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        (any::<u16>(), 1u16..=2000).prop_map(|(address, quantity)| Request::ReadCoils {
            address: address.min(0xFFFF - quantity + 1),
            quantity
        }),
        (any::<u16>(), 1u16..=2000).prop_map(|(address, quantity)| Request::ReadDiscreteInputs {
            address: address.min(0xFFFF - quantity + 1),
            quantity
        }),
        (any::<u16>(), 1u16..=125).prop_map(|(address, quantity)| Request::ReadHoldingRegisters {
            address: address.min(0xFFFF - quantity + 1),
            quantity
        }),
        (any::<u16>(), any::<bool>())
            .prop_map(|(address, value)| Request::WriteSingleCoil { address, value }),
        (0u16..60_000, proptest::collection::vec(any::<bool>(), 1..=1968))
            .prop_map(|(address, values)| Request::WriteMultipleCoils { address, values }),
        (0u16..60_000, proptest::collection::vec(any::<u16>(), 1..=123))
            .prop_map(|(address, values)| Request::WriteMultipleRegisters { address, values }),
    ]
}

fn response() -> impl Strategy<Value = Response> {
    let bits = proptest::collection::vec(any::<u8>(), 1..=250).prop_map(|b| codec::unpack_bits(&b));
    prop_oneof![
        bits.clone().prop_map(|bits| Response::ReadCoils { bits }),
        bits.prop_map(|bits| Response::ReadDiscreteInputs { bits }),
        proptest::collection::vec(any::<u16>(), 1..=125)
            .prop_map(|values| Response::ReadHoldingRegisters { values }),
        (any::<u16>(), any::<bool>())
            .prop_map(|(address, value)| Response::WriteSingleCoil { address, value }),
        (any::<u16>(), any::<u16>())
            .prop_map(|(address, quantity)| Response::WriteMultipleCoils { address, quantity }),
        (any::<u16>(), any::<u16>())
            .prop_map(|(address, quantity)| Response::WriteMultipleRegisters { address, quantity }),
        (1u8..0x80, any::<u8>())
            .prop_map(|(function, code)| Response::Exception { function, code: ExceptionCode(code) }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn decoders_never_panic_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        for result in [decode_request(&bytes).map(|d| d.map(|d| d.length)), decode_response(&bytes).map(|d| d.map(|d| d.length))] {
            match result {
                Ok(Some(length)) => prop_assert!(length <= bytes.len() && length >= 4),
                Ok(None) => {}
                Err(e) => prop_assert!(e.discard(bytes.len()) <= bytes.len()),
            }
        }
    }

    #[test]
    fn requests_round_trip(unit in any::<u8>(), request in request()) {
        let mut frame = Vec::new();
        encode_request(unit, &request, &mut frame).expect("within limits");
        prop_assert!(frame.len() <= codec::MAX_ADU_LEN);
        let decoded = decode_request(&frame).expect("valid").expect("complete");
        prop_assert_eq!(decoded.adu, Adu { unit, pdu: request });
        prop_assert_eq!(decoded.length, frame.len());
    }

    #[test]
    fn responses_round_trip(unit in any::<u8>(), response in response()) {
        let mut frame = Vec::new();
        encode_response(unit, &response, &mut frame).expect("fits");
        let decoded = decode_response(&frame).expect("valid").expect("complete");
        prop_assert_eq!(decoded.adu, Adu { unit, pdu: response });
        prop_assert_eq!(decoded.length, frame.len());
    }

    /// Flipping bits anywhere in a valid frame never yields a different valid frame of the
    /// same length: CRC-16 catches every error burst up to 16 bits.
    #[test]
    fn corrupted_frames_are_detected(unit in 1u8..=247, request in request(), at in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let mut frame = Vec::new();
        encode_request(unit, &request, &mut frame).expect("within limits");
        let original = decode_request(&frame).expect("valid").expect("complete");
        let i = at.index(frame.len());
        frame[i] ^= flip;
        match decode_request(&frame) {
            Ok(Some(decoded)) => prop_assert!(decoded.length != original.length || decoded.adu == original.adu,
                "corruption at byte {} decoded as {:?}", i, decoded),
            Ok(None) => {} // a corrupted byte count can make the frame look longer
            Err(FrameError::Crc { .. } | FrameError::Malformed { .. } | FrameError::UnknownFunction { .. }) => {}
        }
    }

    #[test]
    fn truncated_frames_are_incomplete_or_errors(unit in any::<u8>(), response in response(), cut in any::<prop::sample::Index>()) {
        let mut frame = Vec::new();
        encode_response(unit, &response, &mut frame).expect("fits");
        let n = cut.index(frame.len());
        prop_assert!(!matches!(decode_response(&frame[..n]), Ok(Some(_))), "a prefix decoded as a whole frame");
    }
}
