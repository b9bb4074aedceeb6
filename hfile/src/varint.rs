//! Variable-length integers as Hadoop and HBase write them.
//!
//! * `WritableUtils.writeVLong` (used for memstore timestamps, byte-array lengths);
//! * `ByteBufferUtils.putCompressedInt` (7-bit groups, used by the FAST_DIFF encoding).

/// Appends a Hadoop `WritableUtils` vlong.
#[inline]
pub fn write_vlong(out: &mut Vec<u8>, value: i64) {
    if (-112..=127).contains(&value) {
        out.push(value as u8);
    } else {
        write_long_vlong(out, value);
    }
}

/// [`write_vlong`] for values that take more than one byte.
fn write_long_vlong(out: &mut Vec<u8>, value: i64) {
    let mut len: i32 = -112;
    let mut v = value;
    if v < 0 {
        v = !v;
        len = -120;
    }
    let mut tmp = v;
    while tmp != 0 {
        tmp >>= 8;
        len -= 1;
    }
    out.push(len as u8);
    let bytes = if len < -120 {
        -(len + 120)
    } else {
        -(len + 112)
    };
    for idx in (0..bytes).rev() {
        out.push((v >> (idx * 8)) as u8);
    }
}

/// Number of bytes [`write_vlong`] uses for `value`.
pub fn vlong_size(value: i64) -> usize {
    if (-112..=127).contains(&value) {
        return 1;
    }
    let v = if value < 0 { !value } else { value };
    1 + (8 - (v.leading_zeros() as usize) / 8)
}

/// Reads a Hadoop vlong from `buf` at `*pos`, advancing `pos`. `None` if truncated.
pub fn read_vlong(buf: &[u8], pos: &mut usize) -> Option<i64> {
    let first = *buf.get(*pos)? as i8;
    *pos += 1;
    if first >= -112 {
        return Some(first as i64);
    }
    let negative = first < -120;
    let len = if negative {
        -119 - first as i32
    } else {
        -111 - first as i32
    } - 1;
    let len = len as usize;
    let bytes = buf.get(*pos..*pos + len)?;
    *pos += len;
    let mut v: i64 = 0;
    for &b in bytes {
        v = (v << 8) | b as i64;
    }
    Some(if negative { !v } else { v })
}

/// Appends an HBase compressed int (`ByteBufferUtils.putCompressedInt`).
#[inline]
pub fn write_compressed_int(out: &mut Vec<u8>, value: u32) {
    let mut v = value;
    loop {
        let mut b = (v & 0x7f) as u8;
        v >>= 7;
        if v != 0 {
            b |= 0x80;
        }
        out.push(b);
        if v == 0 {
            break;
        }
    }
}

/// Reads an HBase compressed int at `*pos`. `None` if truncated or longer than 5 bytes.
pub fn read_compressed_int(buf: &[u8], pos: &mut usize) -> Option<u32> {
    let mut result: u32 = 0;
    for shift in (0..35).step_by(7) {
        let b = *buf.get(*pos)?;
        *pos += 1;
        result |= ((b & 0x7f) as u32) << shift;
        if b & 0x80 == 0 {
            return Some(result);
        }
    }
    None
}

/// Appends a byte array with a vint length prefix (`Bytes.writeByteArray`).
pub fn write_byte_array(out: &mut Vec<u8>, bytes: &[u8]) {
    write_vlong(out, bytes.len() as i64);
    out.extend_from_slice(bytes);
}

/// Reads a vint-length-prefixed byte array (`Bytes.readByteArray`).
pub fn read_byte_array<'a>(buf: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let len = read_vlong(buf, pos)?;
    if len < 0 {
        return None;
    }
    let len = usize::try_from(len).ok()?;
    let end = pos.checked_add(len)?;
    let out = buf.get(*pos..end)?;
    *pos = end;
    Some(out)
}

/// Big-endian fixed-width reads with bounds checks.
pub(crate) fn be_u16(buf: &[u8], pos: usize) -> Option<u16> {
    Some(u16::from_be_bytes(buf.get(pos..pos + 2)?.try_into().ok()?))
}

/// Reads a big-endian `i32` at `pos`.
pub(crate) fn be_i32(buf: &[u8], pos: usize) -> Option<i32> {
    Some(i32::from_be_bytes(buf.get(pos..pos + 4)?.try_into().ok()?))
}

/// Reads a big-endian `i64` at `pos`.
pub(crate) fn be_i64(buf: &[u8], pos: usize) -> Option<i64> {
    Some(i64::from_be_bytes(buf.get(pos..pos + 8)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vlong_round_trips_and_matches_hadoop_sizes() {
        for v in [
            0i64,
            1,
            -1,
            127,
            128,
            -112,
            -113,
            255,
            256,
            65535,
            1 << 40,
            i64::MAX,
            i64::MIN,
        ] {
            let mut out = Vec::new();
            write_vlong(&mut out, v);
            assert_eq!(out.len(), vlong_size(v), "size of {v}");
            let mut pos = 0;
            assert_eq!(read_vlong(&out, &mut pos), Some(v));
            assert_eq!(pos, out.len());
        }
        // Hadoop encodes 128 as 0x8f 0x80.
        let mut out = Vec::new();
        write_vlong(&mut out, 128);
        assert_eq!(out, vec![0x8f, 0x80]);
    }

    #[test]
    fn compressed_int_round_trips() {
        for v in [0u32, 1, 127, 128, 300, 1 << 21, u32::MAX] {
            let mut out = Vec::new();
            write_compressed_int(&mut out, v);
            let mut pos = 0;
            assert_eq!(read_compressed_int(&out, &mut pos), Some(v));
        }
        assert_eq!(read_compressed_int(&[0x80], &mut 0), None);
    }
}
