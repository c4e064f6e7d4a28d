//! The camera's rules on virtual time: replies are built with the codec, time is an
//! `Instant` taken once and moved by the test.

use super::*;

const MS: Duration = Duration::from_millis(1);

fn timing() -> ExchangeTiming {
    ExchangeTiming { ack_timeout: 1000 * MS, completion_timeout: Duration::from_secs(10), retries: 3 }
}

fn reply(reply: Reply) -> Incoming {
    Incoming::Packet(reply.packet(1))
}

fn ack(socket: u8) -> Incoming {
    reply(Reply::Ack { from: 1, socket })
}

fn completion(socket: u8, data: &[u8]) -> Incoming {
    reply(Reply::Completion { from: 1, socket, data: data.to_vec() })
}

fn error(socket: u8, kind: ErrorKind) -> Incoming {
    reply(Reply::Error { from: 1, socket, kind })
}

#[test]
fn a_command_ends_with_the_completion_in_the_socket_of_its_ack() {
    let t0 = Instant::now();
    let mut x = Exchange::start(Command::PresetRecall(4), false, timing(), t0);
    assert_eq!(x.deadline(), t0 + 1000 * MS, "the ACK is due within the ACK timeout");
    assert_eq!(x.handle(&ack(2), t0 + 5 * MS), Step::Wait);
    assert_eq!(
        x.deadline(),
        t0 + 5 * MS + Duration::from_secs(10),
        "then the move has the completion timeout"
    );
    // A completion in the other socket belongs to another command.
    assert_eq!(x.handle(&completion(1, &[]), t0 + 6 * MS), Step::Wait);
    assert_eq!(x.handle(&completion(2, &[]), t0 + 900 * MS), Step::Done(Ok(vec![])));
    assert_eq!(x.tally(), Tally::default());
}

#[test]
fn an_inquiry_ends_with_its_direct_reply_in_socket_zero() {
    let t0 = Instant::now();
    let mut x = Exchange::start(Command::PowerInquiry, false, timing(), t0);
    assert_eq!(x.handle(&completion(0, &[0x02]), t0 + MS), Step::Done(Ok(vec![0x02])));
}

#[test]
fn a_lost_ack_is_retransmitted_per_ack_timeout_then_the_command_times_out() {
    let t0 = Instant::now();
    let mut x = Exchange::start(Command::PresetRecall(4), false, timing(), t0);
    assert_eq!(x.handle_timeout(t0 + 999 * MS), Step::Wait, "not before the deadline");
    let mut now = t0;
    for attempt in 1..=3 {
        now = x.deadline();
        assert_eq!(x.handle_timeout(now), Step::Resend, "retransmission {attempt}");
        assert_eq!(x.deadline(), now + 1000 * MS);
    }
    assert_eq!(now, t0 + 3000 * MS);
    assert_eq!(x.handle_timeout(x.deadline()), Step::Done(Err(CameraError::Timeout("ACK"))));
    assert_eq!(x.tally(), Tally { timeouts: 4, retransmissions: 3, errors: 0 });
    assert!(CameraError::Timeout("ACK").needs_reconnect(), "silence means reconnect");
}

#[test]
fn a_lost_completion_is_asked_again_only_over_ip() {
    let t0 = Instant::now();
    // On a serial line or TCP a resent command would run twice.
    let mut serial = Exchange::start(Command::PresetRecall(4), false, timing(), t0);
    serial.handle(&ack(1), t0);
    assert_eq!(serial.handle_timeout(serial.deadline()), Step::Done(Err(CameraError::Timeout("completion"))));

    // Over IP the same sequence number asks again; a sequence error says it was done.
    let mut ip = Exchange::start(Command::PresetRecall(4), true, timing(), t0);
    ip.handle(&ack(1), t0);
    let at = ip.deadline();
    assert_eq!(ip.handle_timeout(at), Step::Resend);
    assert_eq!(ip.handle(&Incoming::Control(Control::SequenceError), at + MS), Step::Done(Ok(vec![])));
}

#[test]
fn a_sequence_error_before_any_answer_means_performed_and_the_completion_still_comes() {
    let t0 = Instant::now();
    let mut x = Exchange::start(Command::PresetRecall(4), true, timing(), t0);
    assert_eq!(x.handle(&Incoming::Control(Control::SequenceError), t0 + MS), Step::Wait);
    assert_eq!(x.deadline(), t0 + MS + Duration::from_secs(10), "waits for the completion");
    assert_eq!(
        x.handle(&Incoming::Control(Control::Reset), t0 + 2 * MS),
        Step::Wait,
        "other control: ignored"
    );
    // The socket was unknown: the first ACK names it, its completion ends the command.
    assert_eq!(x.handle(&ack(2), t0 + 3 * MS), Step::Wait);
    assert_eq!(x.handle(&completion(1, &[]), t0 + 4 * MS), Step::Wait);
    assert_eq!(x.handle(&completion(2, &[]), t0 + 5 * MS), Step::Done(Ok(vec![])));
}

#[test]
fn over_ip_a_completion_whose_ack_was_lost_still_ends_the_command() {
    let t0 = Instant::now();
    let mut x = Exchange::start(Command::Home, true, timing(), t0);
    assert_eq!(x.handle(&completion(1, &[]), t0 + MS), Step::Done(Ok(vec![])));
    let mut serial = Exchange::start(Command::Home, false, timing(), t0);
    assert_eq!(serial.handle(&completion(1, &[]), t0 + MS), Step::Wait, "on a chain it may be another's");
}

#[test]
fn buffer_full_is_retried_after_a_short_pause_then_reported() {
    let t0 = Instant::now();
    let mut x = Exchange::start(Command::PresetRecall(4), false, timing(), t0);
    for attempt in 1..=3u32 {
        let now = t0 + attempt * 200 * MS;
        assert_eq!(x.handle(&error(1, ErrorKind::BufferFull), now), Step::Wait, "attempt {attempt}");
        assert_eq!(x.deadline(), now + BUFFER_FULL_RETRY);
        assert_eq!(x.handle(&error(1, ErrorKind::BufferFull), now + MS), Step::Wait, "a repeat in the pause");
        assert_eq!(x.handle_timeout(x.deadline()), Step::Resend);
        assert_eq!(x.deadline(), now + BUFFER_FULL_RETRY + 1000 * MS, "then an ACK timeout again");
    }
    let last = x.handle(&error(1, ErrorKind::BufferFull), t0 + Duration::from_secs(1));
    assert_eq!(last, Step::Done(Err(CameraError::Device(ErrorKind::BufferFull.to_string()))));
    assert_eq!(x.tally(), Tally { timeouts: 0, retransmissions: 3, errors: 1 });
}

#[test]
fn syntax_error_and_not_executable_end_the_command_without_reconnecting() {
    let t0 = Instant::now();
    let mut x = Exchange::start(Command::PresetRecall(200), false, timing(), t0);
    let done = x.handle(&error(0, ErrorKind::Syntax), t0 + MS);
    let Step::Done(Err(e)) = done else { panic!("{done:?}") };
    assert!(!e.needs_reconnect(), "the camera answers; the link is fine");

    // Not executable after the ACK, in its socket.
    let mut x = Exchange::start(Command::PresetRecall(4), false, timing(), t0);
    x.handle(&ack(1), t0);
    assert_eq!(x.handle(&error(2, ErrorKind::NotExecutable), t0 + MS), Step::Wait, "another socket's");
    assert!(matches!(x.handle(&error(1, ErrorKind::NotExecutable), t0 + 2 * MS), Step::Done(Err(_))));
}

#[test]
fn undecodable_packets_are_ignored() {
    let t0 = Instant::now();
    let mut x = Exchange::start(Command::PowerInquiry, false, timing(), t0);
    let garbage = Incoming::Packet(Packet { header: 0x90, body: vec![] });
    assert_eq!(x.handle(&garbage, t0), Step::Wait);
    let odd = Incoming::Packet(Packet { header: 0x90, body: vec![0x77, 0x01, 0x02] });
    assert_eq!(x.handle(&odd, t0), Step::Wait);
}

#[test]
fn the_startup_sequence_fits_the_transport() {
    assert_eq!(
        startup(LinkKind::Ip),
        [StartupStep::Reset, StartupStep::Run(Command::IfClear { broadcast: false })]
    );
    assert_eq!(
        startup(LinkKind::Serial),
        [StartupStep::Run(Command::AddressSet), StartupStep::Run(Command::IfClear { broadcast: true })]
    );
    assert_eq!(startup(LinkKind::Tcp), [StartupStep::Run(Command::IfClear { broadcast: false })]);
}

#[test]
fn the_desired_preset_is_recalled_once_per_link_and_again_when_it_changes() {
    let t0 = Instant::now();
    let mut r = Reconciler::new(Duration::from_secs(5), t0);
    assert_eq!(r.next(None, t0), Next::Sleep(t0 + Duration::from_secs(5)), "nothing desired: only the poll");
    assert_eq!(r.next(Some(4), t0), Next::Recall(4));
    r.recalled(Some(4), true, t0 + MS);
    assert_eq!(r.next(Some(4), t0 + 2 * MS), Next::Sleep(t0 + Duration::from_secs(5)));
    r.desired_changed();
    assert_eq!(r.next(Some(7), t0 + 3 * MS), Next::Recall(7));
    r.recalled(Some(7), true, t0 + 4 * MS);
    // A new link (reconnect) knows nothing applied: the same desired preset goes again.
    let mut fresh = Reconciler::new(Duration::from_secs(5), t0 + MS * 10);
    assert_eq!(fresh.next(Some(7), t0 + MS * 10), Next::Recall(7));
}

#[test]
fn a_failed_recall_is_retried_with_back_off_and_a_new_desired_preset_goes_at_once() {
    let t0 = Instant::now();
    let mut r = Reconciler::new(Duration::from_secs(5), t0);
    assert_eq!(r.next(Some(4), t0), Next::Recall(4));
    r.recalled(Some(4), false, t0);
    assert_eq!(r.next(Some(4), t0 + MS), Next::Sleep(t0 + 200 * MS));
    assert_eq!(r.next(Some(4), t0 + 200 * MS), Next::Recall(4));
    r.recalled(Some(4), false, t0 + 200 * MS);
    assert_eq!(r.next(Some(4), t0 + 201 * MS), Next::Sleep(t0 + 600 * MS), "doubled");
    r.desired_changed();
    assert_eq!(r.next(Some(5), t0 + 202 * MS), Next::Recall(5));
}

#[test]
fn an_idle_camera_is_polled_every_interval() {
    let t0 = Instant::now();
    let mut r = Reconciler::new(Duration::from_secs(5), t0);
    assert_eq!(r.next(None, t0 + Duration::from_secs(5)), Next::Poll);
    assert_eq!(r.next(None, t0 + Duration::from_secs(5)), Next::Sleep(t0 + Duration::from_secs(10)));
}

#[test]
fn a_recall_by_hand_holds_until_the_director_changes_its_mind() {
    let t0 = Instant::now();
    let mut r = Reconciler::new(Duration::from_secs(5), t0);
    r.recalled(Some(4), true, t0);
    r.recalled_by_hand(Some(4));
    assert!(matches!(r.next(Some(4), t0 + MS), Next::Sleep(_)));
    assert_eq!(r.next(Some(6), t0 + 2 * MS), Next::Recall(6));
}
