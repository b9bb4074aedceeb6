//! Per-chunk block checksums (`ChecksumType` in HBase): NULL, CRC32 and CRC32C.

/// The checksum algorithm of a block, with HBase's codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ChecksumType {
    /// No checksums.
    Null,
    /// CRC-32 (zlib polynomial).
    Crc32,
    /// CRC-32C (Castagnoli), HBase's default.
    #[default]
    Crc32c,
}

impl ChecksumType {
    /// The code stored in the block header.
    pub fn code(self) -> u8 {
        match self {
            ChecksumType::Null => 0,
            ChecksumType::Crc32 => 1,
            ChecksumType::Crc32c => 2,
        }
    }

    /// Parses a header code.
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => ChecksumType::Null,
            1 => ChecksumType::Crc32,
            2 => ChecksumType::Crc32c,
            _ => return None,
        })
    }

    /// The name HBase uses.
    pub fn name(self) -> &'static str {
        match self {
            ChecksumType::Null => "NULL",
            ChecksumType::Crc32 => "CRC32",
            ChecksumType::Crc32c => "CRC32C",
        }
    }

    /// Checksum of one chunk.
    pub fn compute(self, data: &[u8]) -> u32 {
        match self {
            ChecksumType::Null => 0,
            ChecksumType::Crc32 => crc32fast::hash(data),
            ChecksumType::Crc32c => crc32c::crc32c(data),
        }
    }

    /// Bytes of checksums needed for `data_len` bytes in chunks of `bytes_per_checksum`.
    pub fn checksum_bytes(self, data_len: usize, bytes_per_checksum: u32) -> usize {
        if self == ChecksumType::Null || bytes_per_checksum == 0 {
            return 0;
        }
        data_len.div_ceil(bytes_per_checksum as usize) * 4
    }

    /// Appends the big-endian checksums of `data`, chunk by chunk, to `out`.
    pub fn append_checksums(self, data: &[u8], bytes_per_checksum: u32, out: &mut Vec<u8>) {
        self.append_checksums_of(&[], data, bytes_per_checksum, out);
    }

    /// Appends the checksums of `head` followed by `body` (a block's header and data,
    /// kept apart so that writing a block copies neither), as if they were one buffer.
    pub fn append_checksums_of(
        self,
        head: &[u8],
        body: &[u8],
        bytes_per_checksum: u32,
        out: &mut Vec<u8>,
    ) {
        if self == ChecksumType::Null {
            return;
        }
        let chunk = bytes_per_checksum.max(1) as usize;
        let total = head.len() + body.len();
        let mut start = 0;
        while start < total {
            let end = (start + chunk).min(total);
            let mut crc = 0;
            if start < head.len() {
                crc = self.extend(crc, &head[start..end.min(head.len())]);
            }
            if end > head.len() {
                crc = self.extend(
                    crc,
                    &body[start.saturating_sub(head.len())..end - head.len()],
                );
            }
            out.extend_from_slice(&crc.to_be_bytes());
            start = end;
        }
    }

    /// The checksum `crc` (of some bytes) extended over `data` that follows them.
    fn extend(self, crc: u32, data: &[u8]) -> u32 {
        match self {
            ChecksumType::Null => 0,
            ChecksumType::Crc32 => {
                let mut h = crc32fast::Hasher::new_with_initial(crc);
                h.update(data);
                h.finalize()
            }
            ChecksumType::Crc32c => crc32c::crc32c_append(crc, data),
        }
    }

    /// Verifies `data` against `sums`; returns the first failing (chunk, stored, computed).
    pub fn verify(
        self,
        data: &[u8],
        bytes_per_checksum: u32,
        sums: &[u8],
    ) -> Result<(), (usize, u32, u32)> {
        if self == ChecksumType::Null {
            return Ok(());
        }
        for (i, chunk) in data.chunks(bytes_per_checksum.max(1) as usize).enumerate() {
            let stored = sums
                .get(i * 4..i * 4 + 4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
                .unwrap_or(0);
            let computed = self.compute(chunk);
            if stored != computed {
                return Err((i, stored, computed));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::ChecksumType;

    #[test]
    fn checksums_of_two_parts_are_those_of_their_concatenation() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        for kind in [
            ChecksumType::Null,
            ChecksumType::Crc32,
            ChecksumType::Crc32c,
        ] {
            for chunk in [1u32, 33, 64, 100, 999, 1000, 4096] {
                let whole: Vec<u8> = if kind == ChecksumType::Null {
                    Vec::new()
                } else {
                    data.chunks(chunk as usize)
                        .flat_map(|c| kind.compute(c).to_be_bytes())
                        .collect()
                };
                assert_eq!(whole.len(), kind.checksum_bytes(data.len(), chunk));
                for split in [0, 1, 33, 64, 500, 999, 1000] {
                    let mut parts = Vec::new();
                    let (head, body) = data.split_at(split);
                    kind.append_checksums_of(head, body, chunk, &mut parts);
                    assert_eq!(parts, whole, "{kind:?}, chunk {chunk}, split {split}");
                }
            }
        }
    }
}
