//! `[voting]`: the statutory number of members, the quorum rule, the default majority,
//! whether votes may be changed, and whether remote members take part in secret votes.

use super::super::reader::{Cx, Table};
use podium_floor::{Majority, QuorumRule, VotingRules};

/// Largest statutory number of members (the largest German councils have about 100; a
/// parliament-sized body fits too).
pub(crate) const MAX_STATUTORY: i64 = 2_000;

const QUORUM_RULES: &[&str] = &["more_than_half", "at_least_half"];
const MAJORITIES: &[&str] = &["simple", "absolute", "two_thirds_statutory", "two_thirds_cast"];

/// Reads `[voting]` (optional; defaults: every member with a vote is statutory, more than
/// half present for a quorum, simple majority, votes may be changed, remote members do not
/// take part in secret votes).
pub(crate) fn read(root: &mut Table<'_>, cx: &mut Cx<'_>) -> VotingRules {
    let mut rules = VotingRules::default();
    let Some(mut t) = root.table(cx, "voting") else { return rules };
    if let Some(n) = t.integer_in(cx, "statutory_members", 1, MAX_STATUTORY) {
        rules.statutory_members = Some(n.v as u32);
    }
    if let Some(rule) = t.choice(cx, "quorum", "quorum rule", QUORUM_RULES) {
        rules.quorum = match rule.v {
            "at_least_half" => QuorumRule::AtLeastHalf,
            _ => QuorumRule::MoreThanHalf,
        };
    }
    if let Some(majority) = t.choice(cx, "majority", "majority", MAJORITIES) {
        rules.majority = match majority.v {
            "absolute" => Majority::Absolute,
            "two_thirds_statutory" => Majority::TwoThirdsStatutory,
            "two_thirds_cast" => Majority::TwoThirdsCast,
            _ => Majority::Simple,
        };
    }
    if let Some(b) = t.boolean(cx, "changeable") {
        rules.changeable = b.v;
    }
    if let Some(b) = t.boolean(cx, "remote_secret") {
        rules.remote_secret = b.v;
    }
    t.finish(cx);
    rules
}
