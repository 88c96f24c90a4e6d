//! What can go wrong while onboarding a device, in words a person can act on.

use crate::proto::Status;

/// An onboarding error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProvError {
    /// The link to the device failed or closed.
    #[error(
        "The connection to the device was lost ({0}). Move closer to the device and try again."
    )]
    Link(String),
    /// The device did not answer in time.
    #[error("The device did not answer in time. Move closer to the device and try again.")]
    Timeout,
    /// Security 1: the proof of possession did not match the device's.
    #[error("The device did not accept the proof of possession. Check the code on the device's label or scan its QR code again.")]
    WrongProofOfPossession,
    /// Security 2: the username or password did not match the device's.
    #[error("The device did not accept the username and password. Check them on the device's label or scan its QR code again.")]
    WrongCredentials,
    /// The device has no endpoint of that name.
    #[error("The device does not offer '{0}'. It may run older firmware.")]
    NoEndpoint(String),
    /// The device reported an error status.
    #[error("The device reported an error: {0}.")]
    Device(String),
    /// The device answered something that does not follow the protocol.
    #[error("The device answered something unexpected ({0}).")]
    Protocol(String),
    /// The device could not be linked to the customer's account.
    #[error("The device is on Wi-Fi but could not be linked to your account: {0}. Try linking it again.")]
    Registration(String),
    /// The device could not join the Wi-Fi network (Improv does not say why).
    #[error("The device could not join the network. Check the network's name and password.")]
    NotJoined,
    /// The device needs something this app does not support.
    #[error("This device is not supported: {0}.")]
    Unsupported(String),
}

impl ProvError {
    pub(crate) fn protocol(what: impl Into<String>) -> Self {
        ProvError::Protocol(what.into())
    }

    /// `Ok` for [`Status::Success`], the device's error otherwise.
    pub(crate) fn check(status: i32) -> Result<(), ProvError> {
        match Status::try_from(status) {
            Ok(Status::Success) => Ok(()),
            Ok(Status::InvalidSecScheme) => Err(ProvError::Device(
                "it does not use this kind of security".to_owned(),
            )),
            Ok(Status::InvalidProto) => Err(ProvError::Device(
                "it did not understand the request".to_owned(),
            )),
            Ok(Status::TooManySessions) => Err(ProvError::Device(
                "another app is already connected to it".to_owned(),
            )),
            Ok(Status::InvalidArgument) => {
                Err(ProvError::Device("a value was not accepted".to_owned()))
            }
            Ok(Status::InternalError) => Err(ProvError::Device("an internal error".to_owned())),
            Ok(Status::CryptoError) => {
                Err(ProvError::Device("the secure session failed".to_owned()))
            }
            Ok(Status::InvalidSession) => Err(ProvError::Device(
                "the secure session is not valid any more".to_owned(),
            )),
            Err(_) => Err(ProvError::Device(format!("unknown status {status}"))),
        }
    }
}

impl From<prost::DecodeError> for ProvError {
    fn from(e: prost::DecodeError) -> Self {
        ProvError::Protocol(format!("a message could not be decoded: {e}"))
    }
}
