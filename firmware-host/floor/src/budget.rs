//! Speaking-time budgets per group (Redezeitkontingente): how much time each group has for
//! the meeting or for each item, and what happens when it is used up.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Longest budget of one group, in seconds (24 hours).
pub const MAX_BUDGET_S: u32 = 86_400;

/// What happens when a group's time is used up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BudgetPolicy {
    /// Only a warning: the group may go on (the remaining time goes negative).
    #[default]
    WarnOnly,
    /// New requests from the group are refused and its waiting requests removed; a turn
    /// already running continues.
    RefuseRequests,
    /// As `refuse_requests`, and the group's open microphones close when its time is up.
    CutOff,
}

/// Whether the budget counts for the whole meeting or afresh for each item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BudgetScope {
    /// One budget for the whole meeting.
    #[default]
    Meeting,
    /// Each item starts with the full budget.
    Item,
}

/// How the time is shared out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Shares {
    /// Seconds per group, by group name (groups not named have no budget).
    PerGroup {
        /// Seconds by group.
        seconds: BTreeMap<String, u32>,
    },
    /// A total shared equally among the groups of the room's members.
    Equal {
        /// Total seconds (at most 864,000).
        #[cfg_attr(feature = "openapi", schema(maximum = 864_000))]
        total_s: u32,
    },
}

/// A budget as the chair sets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BudgetSpec {
    /// Meeting or per item.
    #[serde(default)]
    pub scope: BudgetScope,
    /// How the time is shared.
    pub shares: Shares,
    /// What happens when a group's time is up.
    #[serde(default)]
    pub policy: BudgetPolicy,
    /// Warn this many seconds before a group's time is up (0: no warning; at most 86,400).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(maximum = 86_400))]
    pub warning_s: u32,
}

impl BudgetSpec {
    /// The first field out of range, if any.
    pub fn out_of_range_field(&self) -> Option<&'static str> {
        match &self.shares {
            Shares::Equal { total_s } if *total_s > MAX_BUDGET_S * 10 => return Some("shares.total_s"),
            // As the description's 32-bit integers allow.
            Shares::PerGroup { seconds } if seconds.values().any(|s| i32::try_from(*s).is_err()) => {
                return Some("shares.seconds");
            }
            _ => {}
        }
        (self.warning_s > MAX_BUDGET_S).then_some("warning_s")
    }
}

/// The budget in force: what each group was given and has used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BudgetState {
    /// The budget as set.
    pub spec: BudgetSpec,
    /// Milliseconds given to each group.
    pub allotted_ms: BTreeMap<String, u64>,
    /// Milliseconds used by each group's closed turns (open turns count live on top).
    #[serde(default)]
    pub used_ms: BTreeMap<String, u64>,
    /// Groups warned that their time is nearly up.
    #[serde(default)]
    pub warned: BTreeSet<String>,
    /// Groups whose time is up.
    #[serde(default)]
    pub exhausted: BTreeSet<String>,
    /// Time the group's turns running when counting started had already spoken: it is in
    /// `used_ms` once they close, but does not count against this budget.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub credit_ms: BTreeMap<String, u64>,
}
