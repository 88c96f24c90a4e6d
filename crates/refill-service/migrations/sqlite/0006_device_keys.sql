-- A device may name its own Ed25519 public key when it registers, and sign the authorization
-- request's PKCE challenge with it. The key is kept with the registration: after a factory
-- reset, the same device proves with a new signature that it is the device, and a new owner
-- can register it without the previous owner removing it first. `key_challenge` is the challenge
-- the registration's proof signed; a proof is good for one registration only.
ALTER TABLE devices ADD COLUMN device_key TEXT;
ALTER TABLE devices ADD COLUMN key_challenge TEXT;
