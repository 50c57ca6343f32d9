//! Decoding a chunked response body (RFC 9112 §7.1) as its bytes arrive
//! from a zone: chunk sizes in hex, extensions skipped, trailers read and
//! dropped (the zones send none, and the edge forwards none). Strict on
//! line endings (CRLF) and bounded: a size line or the trailers cannot grow
//! without end, and a size cannot overflow.

use bytes::{Buf, Bytes, BytesMut};

/// The longest chunk-size line (size and extensions) accepted.
const MAX_SIZE_LINE: usize = 4096;
/// The most trailer bytes accepted after the last chunk.
const MAX_TRAILERS: usize = 16 * 1024;
/// Hex digits in a chunk size at most (2^60 bytes is plenty).
const MAX_SIZE_DIGITS: u32 = 15;

/// What the next step of decoding gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Body bytes.
    Data(Bytes),
    /// The buffer holds no more complete step; read more.
    NeedMore,
    /// The body has ended (the last chunk and the trailers were read).
    Done,
}

/// Why a chunked body is not well-formed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("malformed chunked body: {0}")]
pub struct ChunkedError(&'static str);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading the hex size; `digits` so far.
    Size {
        size: u64,
        digits: u32,
    },
    /// Skipping `;extension` up to the CR.
    Extension {
        size: u64,
    },
    /// The LF after a size line.
    SizeLf {
        size: u64,
    },
    /// Chunk bytes still to come.
    Data(u64),
    /// The CRLF after a chunk's bytes.
    DataCr,
    DataLf,
    /// At the start of a trailer line (or of the final empty line).
    TrailerStart,
    /// Inside a trailer line, up to its LF.
    TrailerLine,
    /// The LF of the final empty line.
    EndLf,
    Done,
}

/// One body's decoding state.
#[derive(Debug)]
pub struct ChunkedDecoder {
    state: State,
    line_bytes: usize,
    trailer_bytes: usize,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self {
            state: State::Size { size: 0, digits: 0 },
            line_bytes: 0,
            trailer_bytes: 0,
        }
    }
}

impl ChunkedDecoder {
    /// True once the last chunk and the trailers have been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Takes what it can from the front of `buf`: body bytes, the end, or
    /// nothing yet. Bytes after the body's end stay in `buf`.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Step, ChunkedError> {
        loop {
            if self.state == State::Done {
                return Ok(Step::Done);
            }
            if let State::Data(left) = self.state {
                if buf.is_empty() {
                    return Ok(Step::NeedMore);
                }
                let take = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
                let data = buf.split_to(take).freeze();
                let left = left - take as u64;
                self.state = if left == 0 {
                    State::DataCr
                } else {
                    State::Data(left)
                };
                return Ok(Step::Data(data));
            }
            let Some(&byte) = buf.first() else {
                return Ok(Step::NeedMore);
            };
            buf.advance(1);
            self.state = self.next(byte)?;
        }
    }

    /// The state after one control byte (anything but chunk data).
    fn next(&mut self, byte: u8) -> Result<State, ChunkedError> {
        Ok(match self.state {
            State::Size { size, digits } => {
                self.count_line_byte()?;
                match byte {
                    b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                        if digits == MAX_SIZE_DIGITS {
                            return Err(ChunkedError("chunk size too large"));
                        }
                        let digit = u64::from((byte as char).to_digit(16).unwrap_or(0));
                        State::Size {
                            size: size * 16 + digit,
                            digits: digits + 1,
                        }
                    }
                    _ if digits == 0 => return Err(ChunkedError("chunk size missing")),
                    b';' | b' ' | b'\t' => State::Extension { size },
                    b'\r' => State::SizeLf { size },
                    _ => return Err(ChunkedError("bad byte in chunk size")),
                }
            }
            State::Extension { size } => {
                self.count_line_byte()?;
                match byte {
                    b'\r' => State::SizeLf { size },
                    b'\n' => return Err(ChunkedError("bare LF in chunk size line")),
                    _ => State::Extension { size },
                }
            }
            State::SizeLf { size } => {
                if byte != b'\n' {
                    return Err(ChunkedError("chunk size line not ended by CRLF"));
                }
                self.line_bytes = 0;
                if size == 0 {
                    State::TrailerStart
                } else {
                    State::Data(size)
                }
            }
            State::DataCr if byte == b'\r' => State::DataLf,
            State::DataLf if byte == b'\n' => State::Size { size: 0, digits: 0 },
            State::DataCr | State::DataLf => {
                return Err(ChunkedError("chunk data not followed by CRLF"));
            }
            State::TrailerStart if byte == b'\r' => State::EndLf,
            State::TrailerStart | State::TrailerLine => {
                self.trailer_bytes += 1;
                if self.trailer_bytes > MAX_TRAILERS {
                    return Err(ChunkedError("trailers too large"));
                }
                if byte == b'\n' {
                    State::TrailerStart
                } else {
                    State::TrailerLine
                }
            }
            State::EndLf if byte == b'\n' => State::Done,
            State::EndLf => return Err(ChunkedError("body not ended by CRLF")),
            State::Data(_) | State::Done => self.state,
        })
    }

    fn count_line_byte(&mut self) -> Result<(), ChunkedError> {
        self.line_bytes += 1;
        if self.line_bytes > MAX_SIZE_LINE {
            return Err(ChunkedError("chunk size line too long"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` fed in pieces of `step` bytes; the body and what
    /// was left after its end.
    fn decode_in_pieces(input: &[u8], step: usize) -> Result<(Vec<u8>, Vec<u8>), ChunkedError> {
        let mut decoder = ChunkedDecoder::default();
        let mut buf = BytesMut::new();
        let mut body = Vec::new();
        let mut pieces = input.chunks(step);
        loop {
            match decoder.decode(&mut buf)? {
                Step::Data(data) => body.extend_from_slice(&data),
                Step::Done => {
                    for piece in pieces {
                        buf.extend_from_slice(piece);
                    }
                    return Ok((body, buf.to_vec()));
                }
                Step::NeedMore => match pieces.next() {
                    Some(piece) => buf.extend_from_slice(piece),
                    None => return Err(ChunkedError("input ended")),
                },
            }
        }
    }

    #[test]
    fn decodes_chunks_whole_and_byte_by_byte() {
        let input = b"5\r\nhello\r\n1;name=value\r\n \r\nA\r\n0123456789\r\n0\r\n\r\nNEXT";
        for step in [1, 2, 3, 7, input.len()] {
            let (body, rest) = decode_in_pieces(input, step).unwrap();
            assert_eq!(body, b"hello 0123456789", "step {step}");
            // The bytes after the body's end stay in the buffer.
            assert_eq!(rest, b"NEXT", "step {step}");
        }
    }

    #[test]
    fn trailers_are_read_and_dropped() {
        let input = b"3\r\nabc\r\n0\r\nX-Checksum: 1\r\nX-Other: 2\r\n\r\n";
        let (body, rest) = decode_in_pieces(input, 4).unwrap();
        assert_eq!(body, b"abc");
        assert!(rest.is_empty());
    }

    #[test]
    fn malformed_bodies_are_refused() {
        for input in [
            &b"\r\n"[..],             // no size
            b"zz\r\n",                // not hex
            b"5\r\nhelloXY",          // no CRLF after the data
            b"5\nhello\r\n",          // bare LF
            b"10000000000000000\r\n", // 17 hex digits
            b"0\r\n\r\r",             // bad final line
        ] {
            assert!(
                decode_in_pieces(input, 1).is_err(),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn long_lines_and_trailers_are_bounded() {
        let mut long_extension = b"1;".to_vec();
        long_extension.extend(std::iter::repeat_n(b'x', MAX_SIZE_LINE));
        long_extension.extend_from_slice(b"\r\n");
        assert_eq!(
            decode_in_pieces(&long_extension, 64).unwrap_err(),
            ChunkedError("chunk size line too long")
        );
        let mut long_trailers = b"0\r\n".to_vec();
        long_trailers.extend(std::iter::repeat_n(b'x', MAX_TRAILERS + 1));
        assert_eq!(
            decode_in_pieces(&long_trailers, 64).unwrap_err(),
            ChunkedError("trailers too large")
        );
    }
}
