//! The answer to `AT%ATTESTTOKEN`: `%ATTESTTOKEN: "<base64url(payload)>.<base64url(COSE_Sign1)>"`,
//! whose payload is the CBOR array `[1, device UUID (16 bytes), device type, modem
//! firmware UUID (16 bytes), nonce]`. The station reads the device UUID from it before
//! any key exists, to identify the modem by UUID and to check the key attestation
//! against it later. (The COSE signature is Nordic's device key's; nRF Cloud checks it.)

use super::at::bounded;
use super::cbor::Reader;
use super::keygen::uuid_text;
use base64::Engine as _;

/// The message type of a device attestation token.
const TOKEN_MESSAGE: u64 = 1;
/// The longest token accepted.
const MAX_TOKEN: usize = 1024;

/// What the token says about the modem.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DeviceToken {
    /// The device UUID (8-4-4-4-12).
    pub device_uuid: String,
    /// Nordic's device type (1–3 nRF9160, 4 nRF9161, 5 nRF9131, 6 nRF9151).
    pub device_type: u64,
    /// The modem firmware build's UUID.
    pub firmware_uuid: String,
}

/// Reads the reply lines of `AT%ATTESTTOKEN`.
pub fn parse(lines: &[String]) -> Result<DeviceToken, String> {
    let mut answers = lines.iter().filter_map(|l| l.strip_prefix("%ATTESTTOKEN:"));
    let answer = answers.next().ok_or("no %ATTESTTOKEN line")?.trim();
    if answers.next().is_some() {
        return Err("more than one %ATTESTTOKEN line".into());
    }
    let body = answer
        .strip_prefix('"')
        .and_then(|b| b.strip_suffix('"'))
        .ok_or_else(|| format!("not quoted: {}", bounded(answer)))?;
    let (payload, _cose) = body.split_once('.').ok_or("no '.' between the payload and its signature")?;
    if payload.len() > MAX_TOKEN * 4 / 3 + 4 {
        return Err("token longer than 1024 bytes".into());
    }
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|e| format!("payload is not base64url: {e}"))?;
    let e = |e: super::cbor::CborError| e.to_string();
    let mut r = Reader::new(&payload);
    match r.tag().map_err(e)? {
        None | Some(55799) => {}
        Some(other) => return Err(format!("payload tagged {other}")),
    }
    if r.array().map_err(e)? != 5 {
        return Err("payload is not an array of 5".into());
    }
    let message = r.uint().map_err(e)?;
    if message != TOKEN_MESSAGE {
        return Err(format!("message type {message}, not a device token ({TOKEN_MESSAGE})"));
    }
    let uuid: [u8; 16] = r.bytes().map_err(e)?.try_into().map_err(|_| "device UUID is not 16 bytes".to_string())?;
    let device_type = r.uint().map_err(e)?;
    let firmware: [u8; 16] =
        r.bytes().map_err(e)?.try_into().map_err(|_| "firmware UUID is not 16 bytes".to_string())?;
    let nonce = r.bytes().map_err(e)?;
    if nonce.len() > 64 {
        return Err("nonce longer than 64 bytes".into());
    }
    r.finish().map_err(e)?;
    Ok(DeviceToken { device_uuid: uuid_text(&uuid), device_type, firmware_uuid: uuid_text(&firmware) })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A token from a real modem (Nordic's published fixture; see
    /// `hallmark-ca/tests/fixtures/README.md`).
    const REAL: &str = "2dn3hQFQUDYxVDkxRPCAIhIbZAFifQNQGv86y_GmR2SiY0wmRsHGVFDT791_BPH8YOWFiyCHND1q.0oRDoQEmoQRBIfZYQGuXwJliinHc6xDPruiyjsaXyXZbZVpUuOhHG9YS8L05VuglCcJhMN4EUhWVGpaHgNnHHno6ahi-d5tOeZmAcNY";

    #[test]
    fn a_real_token_names_the_device() {
        let token = parse(&[format!("%ATTESTTOKEN: \"{REAL}\"")]).expect("parses");
        assert_eq!(token.device_uuid, "50363154-3931-44f0-8022-121b6401627d");
        assert_eq!(token.device_type, 3);
    }

    #[test]
    fn anything_else_is_refused() {
        for lines in [
            vec![],
            vec!["%ATTESTTOKEN: unquoted".to_string()],
            vec!["%ATTESTTOKEN: \"abc\"".to_string()],
            vec!["%ATTESTTOKEN: \"!!.x\"".to_string()],
            vec![format!("%ATTESTTOKEN: \"{}.x\"", "A".repeat(2000))],
        ] {
            assert!(parse(&lines).is_err(), "{lines:?}");
        }
    }
}
