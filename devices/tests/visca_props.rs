//! VISCA decoders never panic, whatever the bytes, and what they accept round-trips.

use podium_devices::visca::codec::{self, Command, Packet, Reply};
use podium_devices::visca::ip::Datagram;
use proptest::prelude::*;

proptest! {
    #[test]
    fn stream_decoder_never_panics_and_always_makes_progress(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..20)) {
        let mut buf = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(&chunk);
            let mut rounds = 0;
            loop {
                let before = buf.len();
                match codec::decode(&mut buf) {
                    Ok(Some(packet)) => {
                        prop_assert!(packet.body.len() + 2 <= codec::MAX_PACKET);
                        prop_assert!(!packet.body.contains(&codec::TERMINATOR));
                        let _ = Reply::parse(&packet);
                        let _ = Command::parse(&packet);
                    }
                    Ok(None) => break,
                    Err(_) => prop_assert!(buf.len() < before, "an error must consume bytes"),
                }
                rounds += 1;
                prop_assert!(rounds < 1000);
            }
            prop_assert!(buf.len() < codec::MAX_PACKET);
        }
    }

    #[test]
    fn datagram_decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(d) = Datagram::decode(&bytes) {
            prop_assert_eq!(d.encode(), bytes);
            let _ = d.as_control();
            let _ = Packet::parse(&d.payload);
        }
    }

    #[test]
    fn packet_parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..24)) {
        if let Ok(p) = Packet::parse(&bytes) {
            prop_assert_eq!(p.to_bytes(), bytes);
            if let Ok(r) = Reply::parse(&p) {
                let again = Reply::parse(&r.packet((p.header >> 4).wrapping_sub(8) & 7));
                prop_assert_eq!(again, Ok(r));
            }
        }
    }

    #[test]
    fn recalls_of_every_memory_round_trip(memory in 0u8..0xFF, address in 1u8..=7) {
        let bytes = Command::PresetRecall(memory).encode(address);
        let mut buf = bytes.clone();
        let packet = codec::decode(&mut buf).expect("framed").expect("complete");
        prop_assert_eq!(Command::parse(&packet), Ok((address, Command::PresetRecall(memory))));
    }
}
