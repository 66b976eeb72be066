//! Fuzz targets for every parser that faces untrusted input: one function per
//! target, each taking arbitrary bytes.
//!
//! The same functions run under libFuzzer (`fuzz/fuzz_targets/<name>.rs`, see
//! `scripts/fuzz.sh`) and in `tests/replay.rs`, which replays every committed corpus
//! file on stable `cargo test`. A target never panics on its own account: a panic
//! is either a panic in the code under test or one of the invariants asserted here
//! failing, and both are findings.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use hallmark_label::layout::{Item, Layout, Rect};
use hallmark_label::{Format, LabelData, Template};
use hallmark_protocol::{Frame, FrameDecoder, FrameError, Request, Response, MAX_ENCODED_FRAME, MAX_FRAME};
use std::path::Path;

/// A fuzz target: arbitrary bytes in, a panic only for a finding.
pub type Target = fn(&[u8]);

/// Every target by name (the names of `fuzz/fuzz_targets/*.rs` and of
/// `fuzz/corpus/*/`). An AT-command reply parser goes here when it exists.
pub const TARGETS: &[(&str, Target)] = &[
    ("frame_decoder", frame_decoder),
    ("message_decoder", message_decoder),
    ("csr_check", csr_check),
    ("label_template", label_template),
    ("config_parser", config_parser),
    ("mqtt_packet", mqtt_packet),
];

/// The target called `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// Bytes from a board, fed one at a time to the station's stream decoder.
///
/// Checks: a frame only completes on a delimiter; a decoded frame fits the protocol
/// limits, re-encodes within [`MAX_ENCODED_FRAME`] and decodes back to itself; an
/// oversized block is reported at most once before the next delimiter. Each frame's
/// body also goes through [`Response::from_body`], as in the station.
pub fn frame_decoder(data: &[u8]) {
    let mut decoder = FrameDecoder::new();
    let mut too_large_since_delimiter = 0;
    for &byte in data {
        let got = decoder.push(byte);
        if byte == 0 {
            too_large_since_delimiter = 0;
        }
        match got {
            None => {}
            Some(Ok(frame)) => {
                assert_eq!(byte, 0, "a frame completed without a delimiter");
                check_frame(&frame);
                let _ = Response::from_body(&frame.body);
            }
            Some(Err(FrameError::TooLarge)) if byte != 0 => {
                too_large_since_delimiter += 1;
                assert_eq!(too_large_since_delimiter, 1, "an oversized block was reported twice");
            }
            Some(Err(_)) => assert_eq!(byte, 0, "a decoding error was reported before the delimiter"),
        }
    }
    // The whole input as one delimiter-stripped block, as `Frame::decode` sees it.
    if let Ok(frame) = Frame::decode(data) {
        check_frame(&frame);
    }
}

fn check_frame(frame: &Frame) {
    assert!(frame.body.len() + 7 <= MAX_FRAME, "decoded a frame larger than MAX_FRAME");
    let Some(wire) = frame.encode() else { panic!("a decoded frame does not re-encode: {frame:?}") };
    assert!(wire.len() - 1 <= MAX_ENCODED_FRAME, "re-encoded frame of {} bytes is over MAX_ENCODED_FRAME", wire.len());
    assert_eq!(wire.last(), Some(&0), "encoded frame without its delimiter");
    assert!(!wire[..wire.len() - 1].contains(&0), "encoded frame with a delimiter inside");
    let mut again = FrameDecoder::new();
    let frames: Vec<_> = wire.iter().filter_map(|&b| again.push(b)).collect();
    assert_eq!(frames, vec![Ok(frame.clone())], "a frame does not survive encode + decode");
}

/// A frame body as a request (what the agent decodes) and as a response (what the
/// station decodes). Whatever decodes re-encodes, decodes to the same value,
/// re-encodes to the same bytes, and fits in one frame.
pub fn message_decoder(data: &[u8]) {
    if let Ok(request) = Request::from_body(data) {
        let body = request.to_body();
        assert_eq!(Request::from_body(&body).as_ref(), Ok(&request), "request does not round-trip");
        let again = Request::from_body(&body).map(|r| r.to_body());
        assert_eq!(again.as_ref(), Ok(&body), "request encoding is not stable");
        assert!(fits_frame(&body), "a request within the limits does not fit one frame ({} bytes)", body.len());
    }
    if let Ok(response) = Response::from_body(data) {
        let body = response.to_body();
        assert_eq!(Response::from_body(&body).as_ref(), Ok(&response), "response does not round-trip");
        let again = Response::from_body(&body).map(|r| r.to_body());
        assert_eq!(again.as_ref(), Ok(&body), "response encoding is not stable");
        assert!(fits_frame(&body), "a response within the limits does not fit one frame ({} bytes)", body.len());
    }
}

fn fits_frame(body: &[u8]) -> bool {
    Frame { version: hallmark_protocol::PROTOCOL_VERSION, request_id: u16::MAX, body: body.to_vec() }.encode().is_some()
}

/// A CSR read from a board, through the CA's proof-of-possession check. An
/// accepted CSR is kept byte for byte, its key has the algorithm's length, its
/// SubjectPublicKeyInfo comes from the input, and it is accepted again.
pub fn csr_check(data: &[u8]) {
    let Ok(csr) = hallmark_ca::VerifiedCsr::from_der(data) else { return };
    assert_eq!(csr.raw, data, "the CSR is not kept as received");
    let expected = match csr.algorithm {
        hallmark_ca::KeyAlgorithm::P256 => 65,
        hallmark_ca::KeyAlgorithm::P384 => 97,
        hallmark_ca::KeyAlgorithm::Ed25519 => 32,
        // A new algorithm: nothing to compare against yet.
        #[allow(unreachable_patterns)]
        _ => csr.public_key.len(),
    };
    assert_eq!(csr.public_key.len(), expected, "{:?} key of the wrong length", csr.algorithm);
    assert!(contains(data, &csr.spki_der), "SubjectPublicKeyInfo not taken from the CSR");
    assert!(contains(&csr.spki_der, &csr.public_key), "public key not taken from the SubjectPublicKeyInfo");
    assert!(hallmark_ca::VerifiedCsr::from_der(data).is_ok(), "the same CSR is not accepted twice");
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// Largest template text the label target reads; the shipped ones are about 1 KB.
pub const MAX_TEMPLATE_BYTES: usize = 8 * 1024;
/// Largest label (in printer dots) the target draws as PNG and PDF; a 100 x 50 mm
/// label at 300 dpi is 0.7 M dots, the shipped ones at most 0.25 M. Larger ones are
/// laid out, checked and drawn as ZPL only, so that one input cannot take seconds.
pub const MAX_RENDER_DOTS: i64 = 750_000;

/// A label template (UTF-8 TOML) as `hallmark label check` and the engineer screen
/// take it: parsed with images from `assets/`, checked with sample values. A
/// template that passes must keep every item of its layout on the label and render
/// as ZPL; one in four (by input length) is also drawn as PNG and PDF, which must
/// succeed too: drawing costs ten times the parsing and layout that are the point
/// here.
pub fn label_template(data: &[u8]) {
    if data.len() > MAX_TEMPLATE_BYTES {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(template) = Template::parse_unchecked(text, Path::new(hallmark_label::ASSETS_DIR)) else { return };
    let sample = LabelData::sample();
    let problems = template.check(&sample);
    if !problems.is_empty() {
        return;
    }
    // `check` passed, so the layout exists.
    let laid = match hallmark_label::layout::layout(&template, &sample) {
        Ok(laid) => laid,
        Err(errors) => panic!("check passed but layout failed: {errors:?}"),
    };
    check_layout(&laid);
    let zpl = hallmark_label::render(&template, &sample, Format::Zpl);
    assert!(zpl.is_ok(), "check passed but ZPL rendering failed: {zpl:?}");
    if data.len().is_multiple_of(4) && laid.width.saturating_mul(laid.height) <= MAX_RENDER_DOTS {
        for format in [Format::Png, Format::Pdf] {
            let out = hallmark_label::render(&template, &sample, format);
            assert!(out.is_ok(), "check passed but {format:?} rendering failed: {:?}", out.err());
        }
    }
}

/// Every item of a checked layout lies on the label.
fn check_layout(laid: &Layout) {
    // In i128 so that the check itself cannot overflow on absurd coordinates.
    let on_label = |r: &Rect| {
        let (x, y, w, h) = (r.x as i128, r.y as i128, r.w as i128, r.h as i128);
        x >= 0 && y >= 0 && w >= 0 && h >= 0 && x + w <= laid.width as i128 && y + h <= laid.height as i128
    };
    for item in &laid.items {
        let area = match item {
            Item::Fill(r) => r,
            Item::Text { area, .. } => area,
            Item::Image { area, .. } => area,
        };
        assert!(on_label(area), "checked layout places {item:?} outside the {}x{} dot label", laid.width, laid.height);
    }
}

/// Largest configuration text the config target reads (the example is ~5 KB).
pub const MAX_CONFIG_BYTES: usize = 64 * 1024;

/// Station configuration text through the one parser (`LoadedConfig::parse`). A
/// configuration that parses has the documented shape, and parses again to the
/// same hash.
pub fn config_parser(data: &[u8]) {
    if data.len() > MAX_CONFIG_BYTES {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(loaded) = hallmark_config::LoadedConfig::parse(text, "fuzz") else { return };
    assert_eq!(loaded.config.version, hallmark_config::CONFIG_VERSION, "accepted another configuration version");
    assert_eq!(loaded.hash.len(), 64, "configuration hash is not SHA-256 hex");
    let again = hallmark_config::LoadedConfig::parse(text, "fuzz");
    assert!(matches!(again, Ok(ref c) if c.hash == loaded.hash), "the same configuration parses differently");
}

/// Bytes from an MQTT broker through the client's packet parsing.
pub fn mqtt_packet(data: &[u8]) {
    hallmark_mqtt::fuzz_parse_packet(data);
}
