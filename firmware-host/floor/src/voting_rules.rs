//! The room's rules for the quorum and votes (`[voting]`): part of the setup, read by the
//! vote rules. Their own module, because the setup (`setup.rs`) and the votes (`vote.rs`)
//! both use them, and neither may import the other back.

use serde::{Deserialize, Serialize};

/// How the quorum is computed from the statutory number of members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum QuorumRule {
    /// More than half of the statutory members (GO NRW § 49, GemO RLP § 39).
    #[default]
    MoreThanHalf,
    /// At least half of the statutory members (as the Saxon rule is paraphrased).
    AtLeastHalf,
}

impl QuorumRule {
    /// Members who must be present for a quorum.
    pub fn required(self, statutory: u32) -> u32 {
        match self {
            QuorumRule::MoreThanHalf => statutory / 2 + 1,
            QuorumRule::AtLeastHalf => statutory.div_ceil(2),
        }
    }
}

/// The majority a motion needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Majority {
    /// More yes than no among the valid votes; abstentions do not count; a tie rejects.
    #[default]
    Simple,
    /// Yes from more than half of the statutory members.
    Absolute,
    /// Yes from at least two thirds of the statutory members.
    TwoThirdsStatutory,
    /// Yes from at least two thirds of the yes and no votes cast.
    TwoThirdsCast,
}

impl Majority {
    /// Yes votes needed, given the yes and no votes cast and the statutory number.
    /// A simple majority needs more yes than no (so a tie rejects); with no votes at all
    /// it needs one yes.
    pub fn required_yes(self, yes: u32, no: u32, statutory: u32) -> u32 {
        match self {
            Majority::Simple => no + 1,
            Majority::Absolute => statutory / 2 + 1,
            Majority::TwoThirdsStatutory => (2 * statutory).div_ceil(3).max(1),
            Majority::TwoThirdsCast => (2 * (yes + no)).div_ceil(3).max(1),
        }
    }
}

/// The settings for votes and the quorum from the room file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VotingRules {
    /// The statutory number of members (default: the participants with a vote).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statutory_members: Option<u32>,
    /// How the quorum is computed.
    #[serde(default)]
    pub quorum: QuorumRule,
    /// The majority a vote needs unless the chair chooses another.
    #[serde(default)]
    pub majority: Majority,
    /// Whether members may change an open or roll-call vote until it closes.
    #[serde(default = "yes")]
    pub changeable: bool,
    /// Whether remote members take part in secret votes (the law of several states does
    /// not allow it by video).
    #[serde(default)]
    pub remote_secret: bool,
}

fn yes() -> bool {
    true
}

impl Default for VotingRules {
    fn default() -> Self {
        VotingRules {
            statutory_members: None,
            quorum: QuorumRule::default(),
            majority: Majority::default(),
            changeable: true,
            remote_secret: false,
        }
    }
}
