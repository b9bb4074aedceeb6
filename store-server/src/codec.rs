//! A tiny length-prefixed binary codec used by the WAL payloads, the catalog and
//! `.regioninfo` files. Decoding never panics: every read is bounds-checked and a failure
//! names what was being decoded and the offset.

use crate::error::{Error, Result};

/// Appends big-endian integers and length-prefixed byte strings to a buffer.
#[derive(Default, Debug)]
pub struct Encoder {
    buf: Vec<u8>,
}

impl Encoder {
    /// A new, empty encoder.
    pub fn new() -> Self {
        Encoder::default()
    }

    /// An encoder appending to an existing buffer.
    pub fn with_buffer(buf: Vec<u8>) -> Self {
        Encoder { buf }
    }

    /// Appends one byte.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    /// Appends a big-endian u32.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Appends a big-endian u64.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Appends a big-endian i64.
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Appends a u32 length followed by the bytes.
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.u32(v.len() as u32);
        self.buf.extend_from_slice(v);
        self
    }

    /// Appends a string as length-prefixed UTF-8.
    pub fn str(&mut self, v: &str) -> &mut Self {
        self.bytes(v.as_bytes())
    }

    /// Appends a boolean as one byte.
    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.u8(u8::from(v))
    }

    /// The encoded bytes.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True if nothing was written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// Reads what [`Encoder`] wrote, with typed errors naming `what` and the offset.
#[derive(Debug)]
pub struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'a str,
    base: u64,
}

impl<'a> Decoder<'a> {
    /// Decodes `buf`; errors mention `what` (a file name or catalog row).
    pub fn new(buf: &'a [u8], what: &'a str) -> Self {
        Decoder {
            buf,
            pos: 0,
            what,
            base: 0,
        }
    }

    /// Like [`Decoder::new`] but reports offsets relative to `base` (the payload's position
    /// in its file).
    pub fn with_base(buf: &'a [u8], what: &'a str, base: u64) -> Self {
        Decoder {
            buf,
            pos: 0,
            what,
            base,
        }
    }

    fn err(&self, reason: impl Into<String>) -> Error {
        Error::corrupt(self.what, self.base + self.pos as u64, reason)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.buf.len() - self.pos < n {
            return Err(self.err(format!(
                "need {n} bytes, only {} left",
                self.buf.len() - self.pos
            )));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Reads one byte.
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    /// Reads a big-endian u32.
    pub fn u32(&mut self) -> Result<u32> {
        let s = self.take(4)?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }

    /// Reads a big-endian u64.
    pub fn u64(&mut self) -> Result<u64> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(u64::from_be_bytes(a))
    }

    /// Reads a big-endian i64.
    pub fn i64(&mut self) -> Result<i64> {
        Ok(self.u64()? as i64)
    }

    /// Reads a length-prefixed byte string.
    pub fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    /// Reads a length-prefixed UTF-8 string.
    pub fn str(&mut self) -> Result<String> {
        let b = self.bytes()?;
        String::from_utf8(b.to_vec()).map_err(|_| self.err("invalid UTF-8 string"))
    }

    /// Reads a boolean byte.
    pub fn bool(&mut self) -> Result<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(self.err(format!("invalid boolean byte {v}"))),
        }
    }

    /// True when every byte has been consumed.
    pub fn is_done(&self) -> bool {
        self.pos == self.buf.len()
    }

    /// Fails unless every byte has been consumed.
    pub fn expect_done(&self) -> Result<()> {
        if self.is_done() {
            Ok(())
        } else {
            Err(self.err(format!("{} trailing bytes", self.buf.len() - self.pos)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_truncation() {
        let mut e = Encoder::new();
        e.u8(7)
            .u32(9)
            .u64(11)
            .i64(-3)
            .bytes(b"abc")
            .str("xy")
            .bool(true);
        let buf = e.finish();
        let mut d = Decoder::new(&buf, "t");
        assert_eq!(d.u8().ok(), Some(7));
        assert_eq!(d.u32().ok(), Some(9));
        assert_eq!(d.u64().ok(), Some(11));
        assert_eq!(d.i64().ok(), Some(-3));
        assert_eq!(d.bytes().ok(), Some(&b"abc"[..]));
        assert_eq!(d.str().ok().as_deref(), Some("xy"));
        assert_eq!(d.bool().ok(), Some(true));
        assert!(d.expect_done().is_ok());

        let cut = &buf[..buf.len() - 4];
        let mut d = Decoder::new(cut, "cutfile");
        d.u8().ok();
        d.u32().ok();
        d.u64().ok();
        d.i64().ok();
        d.bytes().ok();
        let err = d.str().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("cutfile"), "{err}");
    }
}
