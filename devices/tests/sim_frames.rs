//! The simulator seen from the wire: raw RTU bytes into a pseudo-terminal, raw bytes out.

mod support;

use std::time::Duration;

use podium_devices::modbus::codec::{
    self, ExceptionCode, Request, Response, crc16, decode_response, encode_request,
};
use podium_devices::modbus::desk::{self, DeskKey};
use podium_devices::modbus::sim::{ControlCommand, SimBus};
use podium_devices::serial::{SerialSettings, open};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends raw bytes; returns the answer, or `None` after 300 ms of silence (a short wait is
/// right here: silence is the expected outcome and more time would not change it).
async fn ask(port: &mut tokio_serial::SerialStream, frame: &[u8]) -> Option<Vec<u8>> {
    port.write_all(frame).await.expect("write");
    let mut answer = Vec::new();
    let mut chunk = [0u8; 256];
    loop {
        match tokio::time::timeout(Duration::from_millis(300), port.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => {
                answer.extend_from_slice(&chunk[..n]);
                if let Ok(Some(_)) = decode_response(&answer) {
                    return Some(answer);
                }
            }
            _ => return (!answer.is_empty()).then_some(answer),
        }
    }
}

fn request(unit: u8, request: &Request) -> Vec<u8> {
    let mut frame = Vec::new();
    encode_request(unit, request, &mut frame).expect("encode");
    frame
}

fn response(bytes: &[u8]) -> (u8, Response) {
    let decoded = decode_response(bytes).expect("valid").expect("complete");
    (decoded.adu.unit, decoded.adu.pdu)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_answers_like_a_modbus_slave() {
    let mut pty = Pty::new();
    let sim = SimBus::desk_units([4, 5], &[], 115_200);
    let _serving = serve(&sim, &mut pty);
    let mut port = open(&SerialSettings::new(pty.path.clone())).expect("open the slave side");

    // The addressed unit answers with its keys; the power-up flag (input 15) is set.
    sim.press(4, DeskKey::VoteNo).expect("unit 4");
    let answer = ask(&mut port, &request(4, &Request::ReadDiscreteInputs { address: 0, quantity: 16 }))
        .await
        .expect("answer");
    let (unit, Response::ReadDiscreteInputs { bits }) = response(&answer) else { panic!("{answer:02X?}") };
    assert_eq!(unit, 4);
    assert!(bits[usize::from(DeskKey::VoteNo.input())] && bits[15] && !bits[0]);

    // Another unit id: silence.
    assert_eq!(
        ask(&mut port, &request(9, &Request::ReadDiscreteInputs { address: 0, quantity: 16 })).await,
        None
    );

    // A bad CRC: silence.
    let mut corrupted = request(4, &Request::ReadCoils { address: 0, quantity: 8 });
    corrupted[7] ^= 0x55;
    assert_eq!(ask(&mut port, &corrupted).await, None);

    // Outside the map: exception 0x02. A bad quantity: 0x03.
    let answer =
        ask(&mut port, &request(4, &Request::ReadCoils { address: 4, quantity: 8 })).await.expect("answer");
    assert_eq!(
        response(&answer).1,
        Response::Exception { function: 0x01, code: ExceptionCode::ILLEGAL_DATA_ADDRESS }
    );
    let answer = ask(&mut port, &request(4, &Request::ReadHoldingRegisters { address: 10, quantity: 2 }))
        .await
        .expect("answer");
    assert_eq!(
        response(&answer).1,
        Response::Exception { function: 0x03, code: ExceptionCode::ILLEGAL_DATA_ADDRESS }
    );
    let mut zero_quantity = vec![4, 0x02, 0, 0, 0, 0];
    zero_quantity.extend_from_slice(&crc16(&zero_quantity).to_le_bytes());
    let answer = ask(&mut port, &zero_quantity).await.expect("answer");
    assert_eq!(
        response(&answer).1,
        Response::Exception { function: 0x02, code: ExceptionCode::ILLEGAL_DATA_VALUE }
    );

    // A function it does not implement (0x2B, read device identification): exception 0x01
    // once the line is quiet.
    let mut unknown = vec![4, 0x2B, 0x0E, 0x01, 0x00];
    unknown.extend_from_slice(&crc16(&unknown).to_le_bytes());
    let answer = ask(&mut port, &unknown).await.expect("answer");
    assert_eq!(
        response(&answer).1,
        Response::Exception { function: 0x2B, code: ExceptionCode::ILLEGAL_FUNCTION }
    );

    // Broadcast write: applied by every unit, answered by none; it clears the flags.
    let all_on =
        request(codec::BROADCAST, &Request::WriteMultipleCoils { address: 0, values: vec![true, true] });
    assert_eq!(ask(&mut port, &all_on).await, None);
    assert_eq!((sim.coil(4, desk::COIL_RED), sim.coil(5, desk::COIL_MICROPHONE)), (Some(true), Some(true)));
    assert_eq!(sim.input(5, desk::INPUT_OUTPUTS_RESET), Some(false));

    // Written registers read back; the control interface shows the decoded desk view.
    let mut name = vec![0u16; 8];
    desk::write_text(&mut name, 0, "Petra");
    let answer = ask(&mut port, &request(5, &Request::WriteMultipleRegisters { address: 0, values: name }))
        .await
        .expect("answer");
    assert_eq!(response(&answer).1, Response::WriteMultipleRegisters { address: 0, quantity: 8 });
    let command: ControlCommand = serde_json::from_str(r#"{"action":"state","unit":5}"#).expect("json");
    let views = sim.control(&command).expect("unit 5");
    let desk_view = views[0].desk.clone().expect("a desk unit");
    assert_eq!((desk_view.name.as_str(), desk_view.red, desk_view.microphone), ("Petra", true, true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watchdog_puts_outputs_into_the_safe_state() {
    let mut pty = Pty::new();
    let sim = SimBus::desk_units([3], &[], 115_200);
    let _serving = serve(&sim, &mut pty);
    let mut port = open(&SerialSettings::new(pty.path.clone())).expect("open the slave side");
    // Watchdog 0.3 s, then the microphone on.
    ask(
        &mut port,
        &request(3, &Request::WriteMultipleRegisters { address: desk::REG_WATCHDOG, values: vec![3] }),
    )
    .await
    .expect("answer");
    ask(&mut port, &request(3, &Request::WriteSingleCoil { address: desk::COIL_MICROPHONE, value: true }))
        .await
        .expect("answer");
    assert_eq!(sim.coil(3, desk::COIL_MICROPHONE), Some(true));
    // The master goes quiet: the unit closes its microphone and raises the flag.
    assert!(sim.wait_until(PATIENCE, |s| s.coil(3, desk::COIL_MICROPHONE) == Some(false)).await);
    assert_eq!(sim.input(3, desk::INPUT_OUTPUTS_RESET), Some(true));
}

#[tokio::test(flavor = "current_thread")]
async fn buses_served_from_a_thread_of_their_own_answer_on_their_own_ptys() {
    let cancel = tokio_util::sync::CancellationToken::new();
    let buses = vec![SimBus::desk_units([1], &[], 115_200), SimBus::desk_units([2], &[], 115_200)];
    let (paths, thread) = SimBus::serve_on_a_thread(buses, cancel.clone()).expect("served");
    assert_eq!(paths.len(), 2);
    assert_ne!(paths[0], paths[1]);
    for (path, unit) in paths.iter().zip([1u8, 2]) {
        let mut port = open(&SerialSettings::new(path.clone())).expect("open the slave side");
        let read = Request::ReadDiscreteInputs { address: 0, quantity: 16 };
        let answer = ask(&mut port, &request(unit, &read)).await.expect("its unit answers");
        assert_eq!(response(&answer).0, unit);
        // The other bus's unit is not on this line.
        assert_eq!(ask(&mut port, &request(3 - unit, &read)).await, None);
    }
    cancel.cancel();
    thread.join().expect("the thread ends with the token");
}
