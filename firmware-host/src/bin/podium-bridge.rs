//! `podium-bridge`: a scriptable reference bridge that mirrors a video conference into
//! Podium's MQTT contract. It reads commands on standard input, one per line:
//!
//! ```text
//! join <participant>             the participant joined the conference (retained presence)
//! leave <participant>            the participant left
//! raise <participant> [kind]     hand raised; kind: ordinary (default), reply, point_of_order
//! lower <participant>            hand lowered
//! ```
//!
//! and prints, as JSON lines on standard output, every floor command (`conference`) and
//! every reply podiumd sends: `{"topic":"conference","payload":{...}}`. Tests and the demo
//! use it; a Jitsi bridge speaks the same contract.

use std::time::Duration;

use clap::Parser;
use podium_floor::RequestKind;
use podium_host::mqtt::contract::{PresencePayload, RequestPayload, Topics, VERSION, WithdrawPayload};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::io::{AsyncBufReadExt, BufReader};

#[derive(Parser)]
#[command(
    name = "podium-bridge",
    version,
    about = "Reference video-conference bridge for Podium's MQTT contract"
)]
struct Args {
    /// Broker host.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Broker port.
    #[arg(long, default_value_t = 1883)]
    port: u16,
    /// Room id.
    #[arg(long)]
    room: String,
    /// Topic prefix.
    #[arg(long, default_value = "podium/v1")]
    prefix: String,
    /// User name at the broker.
    #[arg(long)]
    username: Option<String>,
    /// Password at the broker.
    #[arg(long, env = "PODIUM_BRIDGE_PASSWORD")]
    password: Option<String>,
    /// MQTT client id.
    #[arg(long, default_value = "podium-bridge")]
    client_id: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let topics = Topics::new(&args.prefix, &args.room);
    let mut options = MqttOptions::new(args.client_id, args.host, args.port);
    options.set_keep_alive(Duration::from_secs(10)).set_max_packet_size(1 << 20, 1 << 20);
    if let Some(user) = args.username {
        options.set_credentials(user, args.password.unwrap_or_default());
    }
    let (client, mut eventloop) = AsyncClient::new(options, 256);
    let mut network = rumqttc::NetworkOptions::new();
    network.set_tcp_nodelay(true);
    eventloop.set_network_options(network);
    let base = topics.state().trim_end_matches("/state").to_string();

    let listener_client = client.clone();
    // The private topic: the conference goes on in the non-public part (with the members
    // who may attend it), where the public `conference` topic carries no names.
    let conference = topics.private("conference");
    let replies = format!("{base}/remote/+/reply");
    let prefix = format!("{base}/");
    tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    // Subscriptions do not survive a broker restart: renew on every connect.
                    let _ = listener_client.try_subscribe(conference.clone(), QoS::AtLeastOnce);
                    let _ = listener_client.try_subscribe(replies.clone(), QoS::AtLeastOnce);
                    println!("{}", serde_json::json!({"topic": "connected"}));
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let topic = p.topic.strip_prefix(&prefix).unwrap_or(&p.topic);
                    let topic = topic.strip_prefix("private/").unwrap_or(topic).to_string();
                    let payload: serde_json::Value =
                        serde_json::from_slice(&p.payload).unwrap_or(serde_json::Value::Null);
                    println!("{}", serde_json::json!({"topic": topic, "payload": payload}));
                }
                Ok(_) => {}
                Err(e) => {
                    eprintln!("podium-bridge: {e}; retrying");
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
            }
        }
    });

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (topic, payload, retain) = match words.as_slice() {
            ["join", id] => (
                format!("{base}/remote/{id}/presence"),
                json(&PresencePayload { v: VERSION, present: true }),
                true,
            ),
            ["leave", id] => (
                format!("{base}/remote/{id}/presence"),
                json(&PresencePayload { v: VERSION, present: false }),
                true,
            ),
            ["raise", id, rest @ ..] => {
                let kind = match rest.first().copied().unwrap_or("ordinary") {
                    "reply" => RequestKind::Reply,
                    "point_of_order" => RequestKind::PointOfOrder,
                    _ => RequestKind::Ordinary,
                };
                (
                    format!("{base}/remote/{id}/request"),
                    json(&RequestPayload { v: VERSION, kind, stance: None, raised_at: None }),
                    false,
                )
            }
            ["lower", id] => {
                (format!("{base}/remote/{id}/withdraw"), json(&WithdrawPayload { v: VERSION }), false)
            }
            [] => continue,
            _ => {
                eprintln!("podium-bridge: cannot read `{line}` (join|leave|raise|lower <participant>)");
                continue;
            }
        };
        client.publish(topic, QoS::AtLeastOnce, retain, payload).await?;
    }
    // Let queued publishes go out before exiting.
    tokio::time::sleep(Duration::from_millis(300)).await;
    Ok(())
}

fn json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}
