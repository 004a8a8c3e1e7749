//! The text a photo is indexed under for smart search: one or two plain sentences built from
//! what the other jobs know (type, place names, camera, the month and season it was taken,
//! labels and people when those jobs exist). Sentence models compare meaning, so this reads
//! like a caption rather than a list of fields.

use rusqlite::{Connection, OptionalExtension};

/// What is known about one asset.
#[derive(Debug, Default, Clone)]
pub struct Facts {
    pub video: bool,
    pub city: Option<String>,
    pub state: Option<String>,
    pub country: Option<String>,
    pub make: Option<String>,
    pub model: Option<String>,
    /// `YYYY-MM-...` local taken time.
    pub taken: Option<String>,
    pub labels: Vec<String>,
    pub people: Vec<String>,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Reads the facts of `asset_id` from the database (`None` when the asset is gone): labels
/// best first, and the names of the (not hidden) people in it.
pub fn load(c: &Connection, asset_id: &str) -> rusqlite::Result<Option<Facts>> {
    let Some(mut facts) = load_row(c, asset_id)? else {
        return Ok(None);
    };
    let mut stmt = c.prepare_cached(
        "SELECT label FROM asset_labels WHERE asset_id = ?1 ORDER BY score DESC, label",
    )?;
    facts.labels = stmt
        .query_map([asset_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut stmt = c.prepare_cached(
        "SELECT DISTINCT p.name FROM faces f JOIN people p ON p.id = f.person_id \
         WHERE f.asset_id = ?1 AND p.name != '' AND p.is_hidden = 0 ORDER BY f.x1",
    )?;
    facts.people = stmt
        .query_map([asset_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(Some(facts))
}

fn load_row(c: &Connection, asset_id: &str) -> rusqlite::Result<Option<Facts>> {
    c.query_row(
        "SELECT a.asset_type, e.city, e.state, e.country, e.make, e.model, \
         COALESCE(a.local_date_time, a.file_created_at) \
         FROM assets a LEFT JOIN exif e ON e.asset_id = a.id WHERE a.id = ?1",
        [asset_id],
        |r| {
            Ok(Facts {
                video: r.get::<_, String>(0)? == "VIDEO",
                city: r.get(1)?,
                state: r.get(2)?,
                country: r.get(3)?,
                make: r.get(4)?,
                model: r.get(5)?,
                taken: r.get(6)?,
                labels: Vec::new(),
                people: Vec::new(),
            })
        },
    )
    .optional()
}

fn clean(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The caption for `f`.
pub fn caption(f: &Facts) -> String {
    let mut out = String::from(if f.video { "A video" } else { "A photo" });
    if !f.labels.is_empty() {
        out.push_str(" of ");
        out.push_str(&f.labels.join(", "));
    }
    if !f.people.is_empty() {
        out.push_str(" with ");
        out.push_str(&f.people.join(", "));
    }
    let place: Vec<&str> = [clean(&f.city), clean(&f.state), clean(&f.country)]
        .into_iter()
        .flatten()
        .collect();
    if !place.is_empty() {
        out.push_str(" taken in ");
        out.push_str(&place.join(", "));
    }
    out.push('.');
    if let Some((month, year)) = f.taken.as_deref().and_then(month_year) {
        let season = match month {
            12 | 1 | 2 => "winter",
            3..=5 => "spring",
            6..=8 => "summer",
            _ => "autumn",
        };
        out.push_str(&format!(
            " In {} {year}, {season}.",
            MONTHS[(month - 1) as usize]
        ));
    }
    let camera: Vec<&str> = [clean(&f.make), clean(&f.model)]
        .into_iter()
        .flatten()
        .collect();
    if !camera.is_empty() {
        out.push_str(&format!(" Camera {}.", camera.join(" ")));
    }
    out
}

fn month_year(t: &str) -> Option<(u32, u32)> {
    let year = t.get(0..4)?.parse().ok()?;
    let month: u32 = t.get(5..7)?.parse().ok()?;
    (1..=12).contains(&month).then_some((month, year))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captions() {
        let f = Facts {
            city: Some("Paris".into()),
            state: Some("Île-de-France".into()),
            country: Some("France".into()),
            make: Some("Canon".into()),
            model: Some(" ".into()),
            taken: Some("2021-06-05T10:00:00.000Z".into()),
            labels: vec!["cat".into()],
            ..Facts::default()
        };
        assert_eq!(
            caption(&f),
            "A photo of cat taken in Paris, Île-de-France, France. In June 2021, summer. \
             Camera Canon."
        );
        let bare = Facts {
            taken: Some("garbage".into()),
            ..Facts::default()
        };
        assert_eq!(caption(&bare), "A photo.");
    }
}
