//! Server-sent events as Refill's streams send them (`GET /v1/events/stream`,
//! `GET /v1/screen/events/stream`): the bytes as they arrive, split into each event's `data`.

/// Splits a stream of server-sent events into the `data` of each event, as bytes arrive in
/// chunks of any size. `id:` and `event:` lines repeat what the data says; `:` lines only keep
/// the connection open.
#[derive(Debug, Default)]
pub struct SseFrames {
    /// Bytes of a line not yet complete.
    buffer: Vec<u8>,
    /// The `data:` lines of the event being read.
    data: String,
}

impl SseFrames {
    /// Adds bytes as they arrived.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The `data` of the next complete event, if one is complete.
    pub fn next_data(&mut self) -> Option<String> {
        while let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.buffer.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if self.data.is_empty() {
                    continue;
                }
                return Some(std::mem::take(&mut self.data));
            }
            if let Some(value) = line.strip_prefix("data:") {
                if !self.data.is_empty() {
                    self.data.push('\n');
                }
                self.data.push_str(value.strip_prefix(' ').unwrap_or(value));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_split_however_the_bytes_arrive() {
        let stream = b": keep-alive\n\nid: 7\nevent: OrderPlaced\ndata: {\"a\":1}\n\n\
                       id: 8\r\nevent: X\r\ndata: first\r\ndata:second\r\n\r\n";
        for size in [1, 2, 5, stream.len()] {
            let mut frames = SseFrames::default();
            let mut got = Vec::new();
            for chunk in stream.chunks(size) {
                frames.push(chunk);
                while let Some(data) = frames.next_data() {
                    got.push(data);
                }
            }
            assert_eq!(got, ["{\"a\":1}", "first\nsecond"], "chunks of {size}");
        }
    }

    #[test]
    fn an_event_is_not_given_before_its_blank_line() {
        let mut frames = SseFrames::default();
        frames.push(b"data: {}\n");
        assert_eq!(frames.next_data(), None);
        frames.push(b"\n");
        assert_eq!(frames.next_data().as_deref(), Some("{}"));
    }
}
