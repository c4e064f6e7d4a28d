//! Tolerant serde types for the OParl objects the import reads (1.0, the 1.0 draft and
//! 1.1). Unknown (vendor) fields are ignored, `null` is read as absent, and every
//! property that real servers give either as a URL or as an embedded object is a [`Ref`].
//! `type` is checked separately ([`check_type`]) so a wrong one names the object's URL.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// A property given as the referenced object's URL or as the object itself.
#[derive(Debug, Clone, PartialEq)]
pub enum Ref<T> {
    /// The object's URL (its OParl id).
    Url(String),
    /// The object, written out.
    Embedded(Box<T>),
}

impl<T: HasId> Ref<T> {
    /// The referenced object's id (URL); `None` for an embedded object without one.
    pub fn id(&self) -> Option<&str> {
        match self {
            Ref::Url(url) => Some(url),
            Ref::Embedded(object) => object.id(),
        }
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Ref<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RefVisitor<T>(PhantomData<T>);
        impl<'de, T: DeserializeOwned> Visitor<'de> for RefVisitor<T> {
            type Value = Ref<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a URL or an embedded object")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Ref::Url(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Ref::Url(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                // Through the same map access, so a path-tracking deserializer keeps the path.
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|t| Ref::Embedded(Box::new(t)))
            }
        }
        deserializer.deserialize_any(RefVisitor(PhantomData))
    }
}

/// A string that some servers write as a JSON number (`"number": 3`).
fn string_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string or a number")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(V)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_owned()))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
    }
    deserializer.deserialize_option(V)
}

/// Objects with an id.
pub trait HasId {
    /// The object's id (URL).
    fn id(&self) -> Option<&str>;
}

/// Objects with a `type` and a `deleted` flag.
pub trait Typed: HasId {
    /// The `type` URL as given.
    fn type_url(&self) -> Option<&str>;
    /// `deleted: true` (a tombstone).
    fn is_deleted(&self) -> bool;
}

macro_rules! has_id {
    ($($t:ty),*) => {$(
        impl HasId for $t {
            fn id(&self) -> Option<&str> {
                self.id.as_deref()
            }
        }
        impl Typed for $t {
            fn type_url(&self) -> Option<&str> {
                self.kind.as_deref()
            }
            fn is_deleted(&self) -> bool {
                self.deleted == Some(true)
            }
        }
    )*};
}
has_id!(Location, Organization, Membership, Person, Consultation, Paper, AgendaItem, Meeting, Body, System);

/// `System`: the entry point.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct System {
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub oparl_version: Option<String>,
    /// URL of the list of bodies.
    pub body: Option<String>,
    pub deleted: Option<bool>,
}

/// `Body` (Körperschaft): the URLs of its external lists.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Body {
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub name: Option<String>,
    pub organization: Option<String>,
    pub person: Option<String>,
    pub meeting: Option<String>,
    /// New in 1.1: the list of all memberships.
    pub membership: Option<String>,
    pub deleted: Option<bool>,
}

/// `Meeting` (Sitzung).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meeting {
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub name: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub cancelled: Option<bool>,
    pub meeting_state: Option<String>,
    pub location: Option<Ref<Location>>,
    pub organization: Option<Vec<Ref<Organization>>>,
    pub agenda_item: Option<Vec<Ref<AgendaItem>>>,
    pub deleted: Option<bool>,
}

/// `AgendaItem` (Tagesordnungspunkt). 1.0's `resolution` and 1.1's `resolutionText` are
/// not read.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgendaItem {
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The printed number; some servers send a JSON number.
    #[serde(default, deserialize_with = "string_or_number")]
    pub number: Option<String>,
    /// New in 1.1 (required there): the position in `Meeting.agendaItem`, from 0.
    pub order: Option<i64>,
    pub name: Option<String>,
    pub public: Option<bool>,
    pub consultation: Option<Ref<Consultation>>,
    pub deleted: Option<bool>,
}

/// `Consultation` (Beratung): links a paper to an agenda item.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Consultation {
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub paper: Option<Ref<Paper>>,
    pub deleted: Option<bool>,
}

/// `Paper` (Drucksache, Vorlage).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Paper {
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub name: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub reference: Option<String>,
    pub deleted: Option<bool>,
}

/// `Organization` (Gremium, Fraktion, ...).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub body: Option<String>,
    pub name: Option<String>,
    pub short_name: Option<String>,
    pub membership: Option<Vec<Ref<Membership>>>,
    pub deleted: Option<bool>,
}

/// `Membership` (Mitgliedschaft). Dates may carry a time (1.0 draft).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Membership {
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Absent when embedded in `Person.membership`.
    pub person: Option<Ref<Person>>,
    pub organization: Option<String>,
    pub role: Option<String>,
    pub voting_right: Option<bool>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub deleted: Option<bool>,
}

/// `Person`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub name: Option<String>,
    pub family_name: Option<String>,
    pub given_name: Option<String>,
    pub membership: Option<Vec<Membership>>,
    pub deleted: Option<bool>,
}

impl Person {
    /// "Given Family" when `name` is absent.
    pub fn display_name(&self) -> Option<String> {
        if let Some(name) = self.name.as_deref().filter(|n| !n.trim().is_empty()) {
            return Some(name.trim().to_owned());
        }
        let parts: Vec<&str> =
            [self.given_name.as_deref(), self.family_name.as_deref()].into_iter().flatten().collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    }
}

/// `Location` (Ort).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub description: Option<String>,
    pub deleted: Option<bool>,
}

/// One page of an external list.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub links: Option<Links>,
}

/// A list page's links; only `next` is followed.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Links {
    pub next: Option<String>,
}

/// The object types the import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    System,
    Body,
    Meeting,
    AgendaItem,
    Consultation,
    Paper,
    Organization,
    Membership,
    Person,
    Location,
}

impl Kind {
    /// The type's name as in the namespace URL.
    pub fn name(self) -> &'static str {
        match self {
            Kind::System => "System",
            Kind::Body => "Body",
            Kind::Meeting => "Meeting",
            Kind::AgendaItem => "AgendaItem",
            Kind::Consultation => "Consultation",
            Kind::Paper => "Paper",
            Kind::Organization => "Organization",
            Kind::Membership => "Membership",
            Kind::Person => "Person",
            Kind::Location => "Location",
        }
    }
}

/// The OParl version a `type` URL names, when it names `kind`: `https://schema.oparl.org/1.0/X`,
/// `https://schema.oparl.org/1.1/X` or the 1.0 draft's `http(s)://oparl.org/schema/1.0/X`.
pub fn type_version(type_url: &str, kind: Kind) -> Option<&'static str> {
    let rest =
        type_url.trim().strip_prefix("https://").or_else(|| type_url.trim().strip_prefix("http://"))?;
    let (version, name) = if let Some(r) = rest.strip_prefix("schema.oparl.org/") {
        r.split_once('/')?
    } else {
        rest.strip_prefix("oparl.org/schema/")?.split_once('/').filter(|(v, _)| *v == "1.0")?
    };
    if name != kind.name() {
        return None;
    }
    match version {
        "1.0" => Some("1.0"),
        "1.1" => Some("1.1"),
        _ => None,
    }
}

/// Checks an object's `type`: `Ok(true)` if it names `kind`, `Ok(false)` if absent (some
/// 1.0-era servers leave it out of embedded objects), `Err(message)` otherwise.
pub fn check_type(type_url: Option<&str>, kind: Kind) -> Result<bool, String> {
    match type_url {
        None => Ok(false),
        Some(t) if type_version(t, kind).is_some() => Ok(true),
        Some(t) => Err(format!(
            "expected type https://schema.oparl.org/1.1/{name} (or 1.0), found {t:?}",
            name = kind.name()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_urls_of_every_version_are_accepted() {
        assert_eq!(type_version("https://schema.oparl.org/1.1/Meeting", Kind::Meeting), Some("1.1"));
        assert_eq!(type_version("https://schema.oparl.org/1.0/Meeting", Kind::Meeting), Some("1.0"));
        assert_eq!(type_version("http://oparl.org/schema/1.0/AgendaItem", Kind::AgendaItem), Some("1.0"));
        assert_eq!(
            type_version("https://oparl.org/schema/1.0/Organization", Kind::Organization),
            Some("1.0")
        );
    }

    #[test]
    fn wrong_type_urls_are_refused() {
        assert_eq!(type_version("https://schema.oparl.org/1.1/Person", Kind::Meeting), None);
        assert_eq!(type_version("https://schema.oparl.org/2.0/Meeting", Kind::Meeting), None);
        assert_eq!(type_version("https://oparl.org/schema/1.1/Meeting", Kind::Meeting), None);
        assert_eq!(type_version("https://example.org/schema.oparl.org/1.1/Meeting", Kind::Meeting), None);
        assert_eq!(type_version("Meeting", Kind::Meeting), None);
        assert!(check_type(Some("https://schema.oparl.org/1.1/Paper"), Kind::Meeting).is_err());
        assert_eq!(check_type(None, Kind::Membership), Ok(false));
    }

    #[test]
    fn references_are_urls_or_embedded_objects() {
        let url: Ref<Location> = serde_json::from_str("\"https://x/location/1\"").unwrap();
        assert_eq!(url.id(), Some("https://x/location/1"));
        let embedded: Ref<Location> =
            serde_json::from_str(r#"{"id":"https://x/location/2","description":"Rathaus","vendor":1}"#)
                .unwrap();
        match embedded {
            Ref::Embedded(l) => assert_eq!(l.description.as_deref(), Some("Rathaus")),
            Ref::Url(_) => panic!("embedded"),
        }
        assert!(serde_json::from_str::<Ref<Location>>("3").is_err());
    }

    #[test]
    fn an_item_number_may_be_a_json_number_or_null() {
        let items: Vec<AgendaItem> =
            serde_json::from_str(r#"[{"number":3},{"number":"Ö 3.1"},{"number":null},{},{"number":2.5}]"#)
                .unwrap();
        let numbers: Vec<_> = items.iter().map(|i| i.number.as_deref()).collect();
        assert_eq!(numbers, vec![Some("3"), Some("Ö 3.1"), None, None, Some("2.5")]);
        assert!(serde_json::from_str::<AgendaItem>(r#"{"number":[1]}"#).is_err());
    }

    #[test]
    fn a_bad_field_inside_an_embedded_reference_keeps_its_path() {
        let json = r#"{"id":"m","organization":[{"id":"o","membership":[{"votingRight":"ja"}]}]}"#;
        let de = &mut serde_json::Deserializer::from_str(json);
        let err = serde_path_to_error::deserialize::<_, Meeting>(de).unwrap_err();
        assert_eq!(err.path().to_string(), "organization[0].membership[0].votingRight");
    }
}
