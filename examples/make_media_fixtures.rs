//! Writes the media fixtures of fixtures/media/ (maintainers only; run by
//! fixtures/tools/media.sh, which makes the test CA and signer first):
//!
//!   cargo run --example make_media_fixtures -- CHAIN.pem KEY.pem OUT_DIR
//!
//! Every image is written here, byte by byte (no image library, nothing
//! fetched): an 8x8 grey PNG and an 8x8 grey baseline JPEG, then
//!
//! - `ai-signed.png`: C2PA manifest, `c2pa.created` with digitalSourceType
//!   trainedAlgorithmicMedia, signed by the test signer;
//! - `camera-signed.jpg`: the same with digitalCapture;
//! - `tampered.jpg`: `camera-signed.jpg` with one byte of its quantisation
//!   table changed after signing, so its hash no longer validates;
//! - `unsigned.png`: no provenance at all;
//! - `iptc-ai.jpg`: no manifest, IPTC `Iptc4xmpExt:DigitalSourceType`
//!   trainedAlgorithmicMedia in its XMP (JPEG APP1).
//!
//! Signatures and keys differ on every run, so the signed files do too.

use std::io::Cursor;
use std::path::Path;

use c2pa::{Builder, BuilderIntent, Context, DigitalSourceType, Settings, SigningAlg};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [chain, key, out] = args.as_slice() else {
        anyhow::bail!("usage: make_media_fixtures CHAIN.pem KEY.pem OUT_DIR");
    };
    let chain = std::fs::read(chain)?;
    let key = std::fs::read(key)?;
    let out = Path::new(out);
    std::fs::create_dir_all(out)?;

    let png = png_8x8();
    let jpeg = jpeg_8x8(None);
    let sign = |source: &[u8], format: &str, kind: DigitalSourceType, title: &str| {
        sign(&chain, &key, source, format, kind, title)
    };

    let ai = sign(
        &png,
        "image/png",
        DigitalSourceType::TrainedAlgorithmicMedia,
        "ai-signed.png",
    )?;
    std::fs::write(out.join("ai-signed.png"), ai)?;
    let camera = sign(
        &jpeg,
        "image/jpeg",
        DigitalSourceType::DigitalCapture,
        "camera-signed.jpg",
    )?;
    std::fs::write(out.join("camera-signed.jpg"), &camera)?;
    std::fs::write(out.join("tampered.jpg"), tamper(&camera)?)?;
    std::fs::write(out.join("unsigned.png"), &png)?;
    std::fs::write(out.join("iptc-ai.jpg"), jpeg_8x8(Some(&xmp_ai())))?;
    Ok(())
}

fn sign(
    chain: &[u8],
    key: &[u8],
    source: &[u8],
    format: &str,
    kind: DigitalSourceType,
    title: &str,
) -> anyhow::Result<Vec<u8>> {
    let settings = Settings::new().with_json(r#"{"verify": {"verify_after_sign": false}}"#)?;
    let context = Context::new().with_settings(settings)?.into_shared();
    let definition = serde_json::json!({
        "title": title,
        "format": format,
        "claim_generator_info": [{"name": "crmguard fixtures", "version": env!("CARGO_PKG_VERSION")}],
    });
    let mut builder =
        Builder::from_shared_context(&context).with_definition(definition.to_string())?;
    builder.set_intent(BuilderIntent::Create(kind));
    let signer = c2pa::create_signer::from_keys(chain, key, SigningAlg::Es256, None)?;
    let mut dest = Cursor::new(Vec::new());
    builder.sign(signer.as_ref(), format, &mut Cursor::new(source), &mut dest)?;
    Ok(dest.into_inner())
}

/// The signed JPEG with the first quantisation value changed: the file
/// still parses, but its bytes are no longer the ones the manifest hashed.
fn tamper(jpeg: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut bytes = jpeg.to_vec();
    let dqt = bytes
        .windows(2)
        .position(|w| w == [0xff, 0xdb])
        .ok_or_else(|| anyhow::anyhow!("no DQT segment"))?;
    // Marker (2), length (2), table id (1), then the first value.
    bytes[dqt + 5] ^= 0x02;
    Ok(bytes)
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

/// An 8x8 8-bit greyscale PNG, mid grey.
fn png_8x8() -> Vec<u8> {
    use std::io::Write;
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&8u32.to_be_bytes());
    ihdr.extend_from_slice(&8u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // depth 8, greyscale, deflate, filter 0, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    let mut raw = Vec::new();
    for _ in 0..8 {
        raw.push(0); // filter: none
        raw.extend_from_slice(&[0x80; 8]);
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&raw).expect("in memory");
    chunk(&mut out, b"IDAT", &z.finish().expect("in memory"));
    chunk(&mut out, b"IEND", &[]);
    out
}

/// An 8x8 greyscale baseline JPEG, every sample 128: one block whose DC
/// difference and AC coefficients are all zero, coded with one-symbol
/// Huffman tables. `app1`: an XMP packet to carry.
fn jpeg_8x8(app1: Option<&str>) -> Vec<u8> {
    let mut out = vec![0xff, 0xd8];
    let segment = |out: &mut Vec<u8>, marker: u8, data: &[u8]| {
        out.extend_from_slice(&[0xff, marker]);
        out.extend_from_slice(&((data.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(data);
    };
    segment(&mut out, 0xe0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    if let Some(xmp) = app1 {
        let mut data = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
        data.extend_from_slice(xmp.as_bytes());
        segment(&mut out, 0xe1, &data);
    }
    let mut dqt = vec![0u8];
    dqt.extend_from_slice(&[1u8; 64]);
    segment(&mut out, 0xdb, &dqt);
    // SOF0: 8-bit, 8x8, one component (id 1, no subsampling, table 0).
    segment(&mut out, 0xc0, &[8, 0, 8, 0, 8, 1, 1, 0x11, 0]);
    // One code of length 1 per table: DC category 0, AC end of block.
    let mut dht = Vec::new();
    for class in [0x00u8, 0x10] {
        dht.push(class);
        let mut counts = [0u8; 16];
        counts[0] = 1;
        dht.extend_from_slice(&counts);
        dht.push(0x00);
    }
    segment(&mut out, 0xc4, &dht);
    segment(&mut out, 0xda, &[1, 1, 0x00, 0, 63, 0]);
    // DC code 0, EOB code 0, padded with ones.
    out.push(0b0011_1111);
    out.extend_from_slice(&[0xff, 0xd9]);
    out
}

fn xmp_ai() -> String {
    "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
     <x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n\
     <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n\
     <rdf:Description rdf:about=\"\"\n\
       xmlns:Iptc4xmpExt=\"http://iptc.org/std/Iptc4xmpExt/2008-02-29/\"\n\
       Iptc4xmpExt:DigitalSourceType=\"http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia\"/>\n\
     </rdf:RDF>\n\
     </x:xmpmeta>\n\
     <?xpacket end=\"r\"?>"
        .to_string()
}
