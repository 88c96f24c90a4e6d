//! An in-process link to a simulated device, with a configurable round trip, loss and drop: what
//! the sandbox and the tests use instead of a radio.

use crate::device::{Answer, ProtocommDevice};
use crate::error::ProvError;
use crate::protocomm::Transport;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// How the simulated air behaves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Air {
    /// Time for a request to reach the device and its answer to come back.
    pub round_trip: Duration,
    /// The share of exchanges lost (0 to 1).
    pub loss: f64,
    /// How long the app waits for an answer.
    pub timeout: Duration,
}

impl Default for Air {
    fn default() -> Self {
        Self {
            round_trip: Duration::ZERO,
            loss: 0.0,
            timeout: Duration::from_millis(500),
        }
    }
}

/// A connection to a simulated device. Dropping it disconnects (the device forgets the session).
pub struct SimLink {
    device: Arc<Mutex<ProtocommDevice>>,
    air: Air,
    exchanges: u32,
    drop_after: Option<u32>,
    closed: bool,
}

impl SimLink {
    /// Connects to `device` through `air`.
    pub fn connect(device: Arc<Mutex<ProtocommDevice>>, air: Air) -> Self {
        device
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .disconnect();
        Self {
            device,
            air,
            exchanges: 0,
            drop_after: None,
            closed: false,
        }
    }

    /// Makes the link drop after `exchanges` exchanges (as when the device moves out of range).
    pub fn drop_after(mut self, exchanges: u32) -> Self {
        self.drop_after = Some(exchanges);
        self
    }

    /// Exchanges so far.
    pub fn exchanges(&self) -> u32 {
        self.exchanges
    }

    fn close(&mut self) {
        if !self.closed {
            self.closed = true;
            self.device
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .disconnect();
        }
    }
}

impl Drop for SimLink {
    fn drop(&mut self) {
        self.close();
    }
}

impl Transport for SimLink {
    async fn exchange(&mut self, endpoint: &str, request: &[u8]) -> Result<Vec<u8>, ProvError> {
        if self.closed {
            return Err(ProvError::Link("the device disconnected".to_owned()));
        }
        if self.drop_after.is_some_and(|n| self.exchanges >= n) {
            self.close();
            return Err(ProvError::Link("the device disconnected".to_owned()));
        }
        self.exchanges += 1;
        let half = self.air.round_trip / 2;
        tokio::time::sleep(half).await;
        if self.air.loss > 0.0 && rand::random::<f64>() < self.air.loss {
            tokio::time::sleep(self.air.timeout).await;
            return Err(ProvError::Timeout);
        }
        let answer = self
            .device
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .handle(endpoint, request);
        match answer {
            Answer::Bytes(bytes) => {
                tokio::time::sleep(half).await;
                Ok(bytes)
            }
            Answer::Nothing => {
                tokio::time::sleep(self.air.timeout).await;
                Err(ProvError::Timeout)
            }
        }
    }
}
