//! `[[presentation_source]]`: what the room can present on its screens and stream (the
//! lectern laptop, the document camera, the conference's screen share), with the input
//! each `[[display]]` (projector, display, matrix) needs to show it.

use std::collections::HashSet;

use podium_floor::PresentationSource;

use super::super::reader::{Cx, Table};
use super::display::DisplayConfig;
use super::non_empty;

/// One `[[presentation_source]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentationSourceConfig {
    /// Its name (commands and the API use it).
    pub name: String,
    /// What the consoles call it.
    pub label: String,
    /// Display name → the input that shows this source there.
    pub inputs: Vec<(String, String)>,
}

impl PresentationSourceConfig {
    /// The engine's view: name and label.
    pub fn source(&self) -> PresentationSource {
        PresentationSource { name: self.name.clone(), label: self.label.clone() }
    }

    /// The input that shows this source on `display`, if it can.
    pub fn input_on(&self, display: &str) -> Option<&str> {
        self.inputs.iter().find(|(d, _)| d == display).map(|(_, i)| i.as_str())
    }
}

/// Reads every `[[presentation_source]]`; `displays` are the room's `[[display]]`s.
pub(crate) fn read(
    root: &mut Table<'_>,
    cx: &mut Cx<'_>,
    displays: &[DisplayConfig],
) -> Vec<PresentationSourceConfig> {
    let mut out: Vec<PresentationSourceConfig> = Vec::new();
    for mut t in root.tables(cx, "presentation_source") {
        let name = t.string(cx, "name").filter(|n| non_empty(cx, &t, "name", n));
        if name.is_none() && !t.has("name") {
            t.missing(cx, "name", "\"lectern\"");
        }
        if let Some(n) = &name
            && out.iter().any(|s| s.name == n.v)
        {
            cx.err(&n.span, t.field("name"), format!("a second presentation source named `{}`", n.v), None);
        }
        let label = t.string(cx, "label").filter(|l| non_empty(cx, &t, "label", l));
        let mut inputs = Vec::new();
        let mut seen = HashSet::new();
        let entries = t.tables(cx, "inputs");
        let listed = entries.len();
        for mut i in entries {
            let display = i.string(cx, "display");
            let input = i.string(cx, "input").filter(|v| non_empty(cx, &i, "input", v));
            if display.is_none() && !i.has("display") {
                i.missing(cx, "display", "\"projector\"");
            }
            if input.is_none() && !i.has("input") {
                i.missing(cx, "input", "\"32\"");
            }
            let device = display.as_ref().and_then(|d| displays.iter().find(|x| x.name == d.v));
            if let (Some(device), Some(v)) = (device, &input)
                && let Err(help) = super::display::input_of(device.device.protocol(), &v.v)
            {
                let message = format!("`{}` is not an input of display `{}`", v.v, device.name);
                cx.err(&v.span, i.field("input"), message, Some(help.into()));
            }
            if let Some(d) = &display {
                if device.is_none() {
                    let names: Vec<&str> = displays.iter().map(|x| x.name.as_str()).collect();
                    let help = if names.is_empty() {
                        "the room has no [[display]]".to_owned()
                    } else {
                        format!("the room's displays: {}", names.join(", "))
                    };
                    cx.err(
                        &d.span,
                        i.field("display"),
                        format!("no [[display]] named `{}`", d.v),
                        Some(help),
                    );
                } else if !seen.insert(d.v.clone()) {
                    cx.err(&d.span, i.field("display"), format!("display `{}` is given twice", d.v), None);
                }
            }
            i.finish(cx);
            if let (Some(d), Some(v)) = (display, input) {
                inputs.push((d.v, v.v.trim().to_owned()));
            }
        }
        if !t.has("inputs") {
            t.missing(cx, "inputs", "[{ display = \"projector\", input = \"32\" }]");
        } else if listed == 0 {
            let help = Some(
                "name at least one display and its input, e.g. [{ display = \"projector\", input = \"32\" }]"
                    .into(),
            );
            cx.err(&t.span(), t.field("inputs"), "a source that no display can show", help);
        }
        t.finish(cx);
        if let Some(name) = name {
            let label = label.map_or_else(|| name.v.clone(), |l| l.v);
            out.push(PresentationSourceConfig { name: name.v, label, inputs });
        }
    }
    out
}
