//! [`Record`]: how map output keys and values are encoded when the shuffle spills them to
//! disk. Implemented for the usual building blocks (integers, byte strings, strings,
//! cells, pairs); a custom key or value type implements it in a few lines.

use bytes::Bytes;
use hfile::Cell;

use crate::error::{Error, Result};

/// A value the shuffle can hold in memory and spill to disk.
pub trait Record: Sized + Send + 'static {
    /// Appends the encoding of `self` to `out`.
    fn encode(&self, out: &mut Vec<u8>);
    /// Decodes one value from the front of `buf`, advancing it.
    fn decode(buf: &mut &[u8]) -> Result<Self>;
    /// Approximate bytes this value occupies in memory (for the shuffle's budget).
    fn mem_size(&self) -> usize;
}

fn take<'a>(buf: &mut &'a [u8], n: usize) -> Result<&'a [u8]> {
    if buf.len() < n {
        return Err(Error::format(
            "shuffle record",
            format!("truncated: need {n} bytes, have {}", buf.len()),
        ));
    }
    let (a, b) = buf.split_at(n);
    *buf = b;
    Ok(a)
}

fn take_array<const N: usize>(buf: &mut &[u8]) -> Result<[u8; N]> {
    let s = take(buf, N)?;
    let mut a = [0u8; N];
    a.copy_from_slice(s);
    Ok(a)
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u64).to_le_bytes());
    out.extend_from_slice(b);
}

fn get_bytes<'a>(buf: &mut &'a [u8]) -> Result<&'a [u8]> {
    let n = u64::from_le_bytes(take_array::<8>(buf)?);
    let n = usize::try_from(n)
        .map_err(|_| Error::format("shuffle record", "length does not fit in memory"))?;
    take(buf, n)
}

impl Record for () {
    fn encode(&self, _out: &mut Vec<u8>) {}
    fn decode(_buf: &mut &[u8]) -> Result<Self> {
        Ok(())
    }
    fn mem_size(&self) -> usize {
        0
    }
}

macro_rules! int_record {
    ($($t:ty),*) => {$(
        impl Record for $t {
            fn encode(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn decode(buf: &mut &[u8]) -> Result<Self> {
                Ok(<$t>::from_le_bytes(take_array(buf)?))
            }
            fn mem_size(&self) -> usize {
                std::mem::size_of::<$t>()
            }
        }
    )*};
}
int_record!(u8, u32, u64, i32, i64);

impl Record for Vec<u8> {
    fn encode(&self, out: &mut Vec<u8>) {
        put_bytes(out, self);
    }
    fn decode(buf: &mut &[u8]) -> Result<Self> {
        Ok(get_bytes(buf)?.to_vec())
    }
    fn mem_size(&self) -> usize {
        self.len() + 24
    }
}

impl Record for Bytes {
    fn encode(&self, out: &mut Vec<u8>) {
        put_bytes(out, self);
    }
    fn decode(buf: &mut &[u8]) -> Result<Self> {
        Ok(Bytes::copy_from_slice(get_bytes(buf)?))
    }
    fn mem_size(&self) -> usize {
        self.len() + 32
    }
}

impl Record for String {
    fn encode(&self, out: &mut Vec<u8>) {
        put_bytes(out, self.as_bytes());
    }
    fn decode(buf: &mut &[u8]) -> Result<Self> {
        String::from_utf8(get_bytes(buf)?.to_vec())
            .map_err(|_| Error::format("shuffle record", "string is not UTF-8"))
    }
    fn mem_size(&self) -> usize {
        self.len() + 24
    }
}

impl<A: Record, B: Record> Record for (A, B) {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
        self.1.encode(out);
    }
    fn decode(buf: &mut &[u8]) -> Result<Self> {
        let a = A::decode(buf)?;
        Ok((a, B::decode(buf)?))
    }
    fn mem_size(&self) -> usize {
        self.0.mem_size() + self.1.mem_size()
    }
}

impl<A: Record, B: Record, C: Record> Record for (A, B, C) {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
        self.1.encode(out);
        self.2.encode(out);
    }
    fn decode(buf: &mut &[u8]) -> Result<Self> {
        let a = A::decode(buf)?;
        let b = B::decode(buf)?;
        Ok((a, b, C::decode(buf)?))
    }
    fn mem_size(&self) -> usize {
        self.0.mem_size() + self.1.mem_size() + self.2.mem_size()
    }
}

impl Record for Cell {
    fn encode(&self, out: &mut Vec<u8>) {
        put_bytes(out, &self.row);
        put_bytes(out, &self.family);
        put_bytes(out, &self.qualifier);
        out.extend_from_slice(&self.timestamp.to_le_bytes());
        out.push(self.type_code);
        put_bytes(out, &self.value);
        put_bytes(out, &self.tags);
        out.extend_from_slice(&self.seq_id.to_le_bytes());
    }
    fn decode(buf: &mut &[u8]) -> Result<Self> {
        let row = Bytes::copy_from_slice(get_bytes(buf)?);
        let family = Bytes::copy_from_slice(get_bytes(buf)?);
        let qualifier = Bytes::copy_from_slice(get_bytes(buf)?);
        let timestamp = i64::from_le_bytes(take_array(buf)?);
        let type_code = take_array::<1>(buf)?[0];
        let value = Bytes::copy_from_slice(get_bytes(buf)?);
        let tags = Bytes::copy_from_slice(get_bytes(buf)?);
        let seq_id = u64::from_le_bytes(take_array(buf)?);
        Ok(Cell {
            row,
            family,
            qualifier,
            timestamp,
            type_code,
            value,
            tags,
            seq_id,
        })
    }
    fn mem_size(&self) -> usize {
        self.row.len()
            + self.family.len()
            + self.qualifier.len()
            + self.value.len()
            + self.tags.len()
            + 5 * 32
            + 24
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round<T: Record + PartialEq + std::fmt::Debug>(v: T) {
        let mut out = Vec::new();
        v.encode(&mut out);
        let mut s = out.as_slice();
        assert_eq!(T::decode(&mut s).ok(), Some(v));
        assert!(s.is_empty());
        let mut short = &out[..out.len().saturating_sub(1)];
        if !out.is_empty() {
            assert!(T::decode(&mut short).is_err());
        }
    }

    #[test]
    fn round_trips() {
        round(42u64);
        round(-7i64);
        round(b"abc".to_vec());
        round("héllo".to_string());
        round((b"k".to_vec(), 3u64));
        round((1u8, String::from("x"), -1i32));
        round(Cell::put(&b"r"[..], &b"f"[..], &b"q"[..], 9, &b"v"[..]));
    }
}
