//! Block compression with the framing HBase (through Hadoop's codecs) uses on disk.
//!
//! * `GZ`: a gzip stream (Hadoop's `GzipCodec`); readers accept multi-member streams.
//! * `LZ4`: Hadoop's `BlockCompressorStream` framing around raw LZ4 blocks:
//!   `[uncompressed length u32][compressed length u32][lz4 block]...`, one or more
//!   compressed chunks per uncompressed length, each chunk at most
//!   [`LZ4_MAX_INPUT`] bytes of input.

use std::io::{Read, Write};

/// Largest input chunk Hadoop's LZ4 codec compresses at once with its default 256 KiB buffer
/// (`bufferSize - (bufferSize / 255 + 16)`).
pub const LZ4_MAX_INPUT: usize = 256 * 1024 - (256 * 1024 / 255 + 16);

/// A compression algorithm, with HBase's ordinal as stored in the trailer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Compression {
    /// No compression.
    #[default]
    None,
    /// gzip (deflate).
    Gz,
    /// LZ4 with Hadoop block framing.
    Lz4,
}

/// Why a block could not be decompressed.
#[derive(Debug)]
pub struct DecompressError(pub String);

impl Compression {
    /// The ordinal of `Compression.Algorithm` stored in the trailer.
    pub fn ordinal(self) -> u32 {
        match self {
            Compression::Gz => 1,
            Compression::None => 2,
            Compression::Lz4 => 4,
        }
    }

    /// Maps a trailer ordinal; `Err(name)` for algorithms HBase knows but Basalt does not.
    pub fn from_ordinal(ordinal: u32) -> Result<Self, String> {
        match ordinal {
            1 => Ok(Compression::Gz),
            2 => Ok(Compression::None),
            4 => Ok(Compression::Lz4),
            0 => Err("LZO".into()),
            3 => Err("SNAPPY".into()),
            5 => Err("BZIP2".into()),
            6 => Err("ZSTD".into()),
            n => Err(format!("unknown codec ordinal {n}")),
        }
    }

    /// The name HBase uses (`NONE`, `GZ`, `LZ4`).
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "NONE",
            Compression::Gz => "GZ",
            Compression::Lz4 => "LZ4",
        }
    }

    /// Parses a name, case-insensitively (`none`, `gz`/`gzip`, `lz4`).
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "none" => Some(Compression::None),
            "gz" | "gzip" => Some(Compression::Gz),
            "lz4" => Some(Compression::Lz4),
            _ => None,
        }
    }

    /// Compresses `input`, appending the on-disk bytes to `out`.
    pub fn compress(self, input: &[u8], out: &mut Vec<u8>) {
        match self {
            Compression::None => out.extend_from_slice(input),
            Compression::Gz => {
                let mut enc = flate2::write::GzEncoder::new(out, flate2::Compression::default());
                // Writing into a Vec cannot fail.
                let _ = enc.write_all(input);
                let _ = enc.finish();
            }
            Compression::Lz4 => lz4_hadoop_compress(input, out),
        }
    }

    /// Decompresses `input` into exactly `expected_len` bytes.
    pub fn decompress(self, input: &[u8], expected_len: usize) -> Result<Vec<u8>, DecompressError> {
        // A corrupt header may claim up to 2 GiB; no input expands beyond its codec's
        // maximum ratio (deflate 1032:1, LZ4 under 255:1), so refuse before allocating.
        let max_ratio = match self {
            Compression::None => 1,
            Compression::Gz => 1032,
            Compression::Lz4 => 256,
        };
        if expected_len > input.len().saturating_mul(max_ratio).saturating_add(64) {
            return Err(DecompressError(format!(
                "{} data of {} bytes cannot decompress to the {expected_len} bytes its header claims",
                self.name(),
                input.len()
            )));
        }
        let out = match self {
            Compression::None => input.to_vec(),
            Compression::Gz => {
                let mut out = Vec::with_capacity(expected_len);
                let mut dec = flate2::read::MultiGzDecoder::new(input);
                dec.by_ref()
                    .take(expected_len as u64 + 1)
                    .read_to_end(&mut out)
                    .map_err(|e| DecompressError(format!("gzip: {e}")))?;
                out
            }
            Compression::Lz4 => lz4_hadoop_decompress(input, expected_len)?,
        };
        if out.len() != expected_len {
            return Err(DecompressError(format!(
                "{} block decompressed to {} bytes, header says {}",
                self.name(),
                out.len(),
                expected_len
            )));
        }
        Ok(out)
    }
}

fn lz4_hadoop_compress(input: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(input.len() as u32).to_be_bytes());
    if input.is_empty() {
        return;
    }
    for chunk in input.chunks(LZ4_MAX_INPUT) {
        let len_pos = out.len();
        out.extend_from_slice(&[0; 4]);
        let start = out.len();
        out.resize(
            start + lz4_flex::block::get_maximum_output_size(chunk.len()),
            0,
        );
        // The buffer is sized by get_maximum_output_size, so compression cannot run out of room.
        let n = lz4_flex::block::compress_into(chunk, &mut out[start..]).unwrap_or(0);
        out.truncate(start + n);
        out[len_pos..len_pos + 4].copy_from_slice(&(n as u32).to_be_bytes());
    }
}

fn lz4_hadoop_decompress(input: &[u8], expected_len: usize) -> Result<Vec<u8>, DecompressError> {
    let err = |m: &str| DecompressError(format!("lz4: {m}"));
    let read_u32 = |pos: usize| -> Result<usize, DecompressError> {
        input
            .get(pos..pos + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or_else(|| err("truncated length field"))
    };
    let mut out = vec![0u8; expected_len];
    let mut produced = 0usize;
    let mut pos = 0usize;
    while pos < input.len() {
        let original = read_u32(pos)?;
        pos += 4;
        let target = produced
            .checked_add(original)
            .filter(|&t| t <= expected_len)
            .ok_or_else(|| err("uncompressed length exceeds block size"))?;
        while produced < target {
            let clen = read_u32(pos)?;
            pos += 4;
            let chunk = input
                .get(pos..pos + clen)
                .ok_or_else(|| err("truncated chunk"))?;
            pos += clen;
            let n = lz4_flex::block::decompress_into(chunk, &mut out[produced..target])
                .map_err(|e| err(&e.to_string()))?;
            if n == 0 {
                return Err(err("empty chunk"));
            }
            produced += n;
        }
    }
    out.truncate(produced);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_codecs_round_trip() {
        let data: Vec<u8> = (0..700_000u32)
            .map(|i| (i % 251) as u8 ^ (i / 1000) as u8)
            .collect();
        for c in [Compression::None, Compression::Gz, Compression::Lz4] {
            for len in [0, 1, 1000, LZ4_MAX_INPUT, LZ4_MAX_INPUT + 1, data.len()] {
                let mut out = Vec::new();
                c.compress(&data[..len], &mut out);
                assert_eq!(
                    c.decompress(&out, len).unwrap(),
                    &data[..len],
                    "{c:?} {len}"
                );
            }
        }
    }

    #[test]
    fn lz4_uses_hadoop_framing() {
        let data = vec![7u8; 1000];
        let mut out = Vec::new();
        Compression::Lz4.compress(&data, &mut out);
        assert_eq!(&out[..4], &1000u32.to_be_bytes());
        let clen = u32::from_be_bytes([out[4], out[5], out[6], out[7]]) as usize;
        assert_eq!(out.len(), 8 + clen);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for c in [Compression::Gz, Compression::Lz4] {
            assert!(c.decompress(&[1, 2, 3, 4, 5, 6, 7, 8, 9], 100).is_err());
            assert!(c.decompress(&[], 100).is_err());
        }
    }
}
