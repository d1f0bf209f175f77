//! IPTC `DigitalSourceType` from a media file's XMP packet, found where the
//! format puts it (JPEG APP1, PNG `iTXt` `XML:com.adobe.xmp`, the WebP `XMP `
//! chunk) or, in other formats, by scanning for the packet as XMP allows.
//! Hand-rolled because the guarantee is the bound: only segment and chunk
//! headers and the packet itself are read, never pixels, and no packet of
//! more than [`MAX_PACKET`] bytes is buffered or inflated.

use std::io::{self, Read, Seek, SeekFrom};

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

/// The IPTC Extension namespace that `DigitalSourceType` belongs to.
const IPTC_EXT: &[u8] = b"http://iptc.org/std/Iptc4xmpExt/2008-02-29/";
const RDF: &[u8] = b"http://www.w3.org/1999/02/22-rdf-syntax-ns#";

/// A larger packet is not read: XMP with a DigitalSourceType is a few
/// kilobytes, and a file claiming megabytes of it is not to be trusted with
/// memory.
pub const MAX_PACKET: usize = 4 << 20;

const JPEG_XMP: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

/// An XMP packet and where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// `JPEG APP1`, `PNG iTXt`, `WebP XMP chunk` or `XMP packet`.
    pub container: &'static str,
    pub text: String,
}

/// The file's XMP packet, if it has one. `len` bounds what is read.
pub fn find_packet(file: &mut (impl Read + Seek), len: u64) -> io::Result<Option<Packet>> {
    let mut magic = [0u8; 12];
    let n = read_up_to(file, &mut magic)?;
    let magic = &magic[..n];
    file.seek(SeekFrom::Start(0))?;
    if magic.starts_with(b"\xff\xd8\xff") {
        jpeg(file, len)
    } else if magic.starts_with(PNG_MAGIC) {
        png(file, len)
    } else if magic.len() == 12 && magic.starts_with(b"RIFF") && &magic[8..] == b"WEBP" {
        webp(file, len)
    } else {
        scan(file, len)
    }
}

/// The `DigitalSourceType` values a packet states, as written (a URI or a
/// bare term). A packet that is not well-formed XML yields what was read
/// before the error.
pub fn digital_source_types(packet: &str) -> Vec<String> {
    let mut reader = NsReader::from_str(packet);
    let mut found = Vec::new();
    // Inside a <DigitalSourceType> element: its text is the value.
    let mut inside = false;
    loop {
        let event = match reader.read_resolved_event() {
            Ok((_, Event::Eof)) | Err(_) => break,
            Ok(e) => e,
        };
        let empty = matches!(event.1, Event::Empty(_));
        match event {
            (ns, Event::Start(e)) | (ns, Event::Empty(e)) => {
                if is_dst(&ns, e.local_name().as_ref()) {
                    // <DigitalSourceType rdf:resource="..."/>, or text to come.
                    let resource = e.attributes().flatten().find(|a| {
                        let (ans, local) = reader.resolver().resolve_attribute(a.key);
                        is_ns(&ans, RDF) && local.as_ref() == b"resource"
                    });
                    match resource
                        .and_then(|a| a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok())
                    {
                        Some(v) => found.push(v.trim().to_string()),
                        None => inside = !empty,
                    }
                    continue;
                }
                // <rdf:Description Iptc4xmpExt:DigitalSourceType="..."/>
                for a in e.attributes().flatten() {
                    let (ans, local) = reader.resolver().resolve_attribute(a.key);
                    if is_dst(&ans, local.as_ref())
                        && let Ok(v) = a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    {
                        found.push(v.trim().to_string());
                    }
                }
            }
            (_, Event::Text(t)) if inside => {
                if let Ok(v) = t.decode() {
                    let v = v.trim();
                    if !v.is_empty() {
                        found.push(v.to_string());
                    }
                }
            }
            (_, Event::End(_)) => inside = false,
            _ => {}
        }
    }
    found
}

fn is_ns(ns: &ResolveResult, uri: &[u8]) -> bool {
    matches!(ns, ResolveResult::Bound(n) if n.as_ref() == uri)
}

fn is_dst(ns: &ResolveResult, local: &[u8]) -> bool {
    is_ns(ns, IPTC_EXT) && local == b"DigitalSourceType"
}

fn read_up_to(file: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Reads `n` bytes at the current position, if `n` is within the bound.
fn read_exact_bounded(file: &mut impl Read, n: u64) -> io::Result<Option<Vec<u8>>> {
    if n > MAX_PACKET as u64 {
        return Ok(None);
    }
    let mut buf = vec![0u8; n as usize];
    file.read_exact(&mut buf)?;
    Ok(Some(buf))
}

fn text(container: &'static str, bytes: &[u8]) -> Option<Packet> {
    // XMP is UTF-8 by default; UTF-16 packets are rare enough to read lossily.
    Some(Packet {
        container,
        text: String::from_utf8_lossy(bytes).into_owned(),
    })
}

/// JPEG: the segments before the scan data; XMP is APP1 with its namespace.
fn jpeg(file: &mut (impl Read + Seek), len: u64) -> io::Result<Option<Packet>> {
    let mut pos = 2u64;
    file.seek(SeekFrom::Start(pos))?;
    loop {
        let mut b = [0u8; 1];
        // Markers may be preceded by fill bytes (0xFF).
        let mut marker = 0xff;
        while marker == 0xff {
            if pos >= len || read_up_to(file, &mut b)? == 0 {
                return Ok(None);
            }
            pos += 1;
            marker = b[0];
        }
        match marker {
            // Start of scan, end of image: no metadata segments follow.
            0xda | 0xd9 => return Ok(None),
            // Markers without a length.
            0x01 | 0xd0..=0xd7 => continue,
            _ => {}
        }
        let mut l = [0u8; 2];
        if read_up_to(file, &mut l)? < 2 {
            return Ok(None);
        }
        let seg = u16::from_be_bytes(l) as u64;
        if seg < 2 || pos + seg > len {
            return Ok(None);
        }
        let body = seg - 2;
        if marker == 0xe1 && body > JPEG_XMP.len() as u64 {
            let mut head = [0u8; JPEG_XMP.len()];
            file.read_exact(&mut head)?;
            if head == JPEG_XMP {
                let rest = body - JPEG_XMP.len() as u64;
                if let Some(bytes) = read_exact_bounded(file, rest)? {
                    return Ok(text("JPEG APP1", &bytes));
                }
            }
        }
        pos += seg;
        file.seek(SeekFrom::Start(pos))?;
    }
}

/// PNG: every chunk up to IEND (XMP may follow the image data); XMP is the
/// `iTXt` chunk with keyword `XML:com.adobe.xmp`, possibly deflated.
fn png(file: &mut (impl Read + Seek), len: u64) -> io::Result<Option<Packet>> {
    let mut pos = PNG_MAGIC.len() as u64;
    loop {
        file.seek(SeekFrom::Start(pos))?;
        let mut head = [0u8; 8];
        if pos + 12 > len || read_up_to(file, &mut head)? < 8 {
            return Ok(None);
        }
        let n = u32::from_be_bytes(head[..4].try_into().expect("4 bytes")) as u64;
        let kind = &head[4..];
        if kind == b"IEND" || pos + 12 + n > len {
            return Ok(None);
        }
        if kind == b"iTXt"
            && let Some(data) = read_exact_bounded(file, n)?
            && let Some(packet) = itxt_xmp(&data)?
        {
            return Ok(Some(packet));
        }
        pos += 12 + n;
    }
}

/// The text of an `iTXt` chunk whose keyword is XMP's.
fn itxt_xmp(data: &[u8]) -> io::Result<Option<Packet>> {
    let Some(rest) = data.strip_prefix(b"XML:com.adobe.xmp\0") else {
        return Ok(None);
    };
    let [compressed, _method, rest @ ..] = rest else {
        return Ok(None);
    };
    // Language tag and translated keyword, each ending in NUL.
    let mut parts = rest.splitn(3, |&b| b == 0);
    let (Some(_), Some(_), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
        return Ok(None);
    };
    if *compressed == 0 {
        return Ok(text("PNG iTXt", body));
    }
    let mut inflated = Vec::new();
    flate2::read::ZlibDecoder::new(body)
        .take(MAX_PACKET as u64 + 1)
        .read_to_end(&mut inflated)?;
    if inflated.len() > MAX_PACKET {
        return Ok(None);
    }
    Ok(text("PNG iTXt", &inflated))
}

/// WebP: RIFF chunks; XMP is the `XMP ` chunk (after the image data).
fn webp(file: &mut (impl Read + Seek), len: u64) -> io::Result<Option<Packet>> {
    let mut pos = 12u64;
    loop {
        file.seek(SeekFrom::Start(pos))?;
        let mut head = [0u8; 8];
        if pos + 8 > len || read_up_to(file, &mut head)? < 8 {
            return Ok(None);
        }
        let n = u32::from_le_bytes(head[4..].try_into().expect("4 bytes")) as u64;
        if pos + 8 + n > len {
            return Ok(None);
        }
        if &head[..4] == b"XMP "
            && let Some(bytes) = read_exact_bounded(file, n)?
        {
            return Ok(text("WebP XMP chunk", &bytes));
        }
        // Chunks are padded to an even size.
        pos += 8 + n + (n & 1);
    }
}

/// Any other format: the packet is found by its opening, as XMP's packet
/// wrapper is designed for, reading the file once in blocks.
fn scan(file: &mut impl Read, len: u64) -> io::Result<Option<Packet>> {
    const OPEN: &[u8] = b"<x:xmpmeta";
    const CLOSE: &[u8] = b"</x:xmpmeta>";
    const BLOCK: usize = 64 * 1024;
    let mut file = file.take(len);
    let mut window: Vec<u8> = Vec::with_capacity(2 * BLOCK);
    let mut block = vec![0u8; BLOCK];
    let mut started = false;
    loop {
        let n = file.read(&mut block)?;
        if n == 0 {
            return Ok(None);
        }
        window.extend_from_slice(&block[..n]);
        if !started {
            match memchr::memmem::find(&window, OPEN) {
                Some(i) => {
                    window.drain(..i);
                    started = true;
                }
                // Keep a tail in case the opening straddles two blocks.
                None => {
                    let keep = window.len().saturating_sub(OPEN.len());
                    window.drain(..keep);
                    continue;
                }
            }
        }
        if let Some(end) = memchr::memmem::find(&window, CLOSE) {
            return Ok(text("XMP packet", &window[..end + CLOSE.len()]));
        }
        if window.len() > MAX_PACKET {
            return Ok(None);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Cursor;

    pub fn packet(value: &str) -> String {
        format!(
            "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\
             <x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF \
             xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
             <rdf:Description rdf:about=\"\" \
             xmlns:Iptc4xmpExt=\"http://iptc.org/std/Iptc4xmpExt/2008-02-29/\" \
             Iptc4xmpExt:DigitalSourceType=\"{value}\"/>\
             </rdf:RDF></x:xmpmeta><?xpacket end=\"r\"?>"
        )
    }

    const AI: &str = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia";

    #[test]
    fn the_three_ways_xmp_states_a_property() {
        assert_eq!(digital_source_types(&packet(AI)), vec![AI]);
        let element = format!(
            "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF \
             xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description \
             xmlns:e=\"http://iptc.org/std/Iptc4xmpExt/2008-02-29/\">\
             <e:DigitalSourceType> {AI} </e:DigitalSourceType></rdf:Description></rdf:RDF></x:xmpmeta>"
        );
        assert_eq!(digital_source_types(&element), vec![AI]);
        let resource = element.replace(
            &format!("<e:DigitalSourceType> {AI} </e:DigitalSourceType>"),
            &format!("<e:DigitalSourceType rdf:resource=\"{AI}\"/>"),
        );
        assert_eq!(digital_source_types(&resource), vec![AI]);
        // The name alone is not enough: the namespace must be IPTC's.
        let other = packet(AI).replace("Iptc4xmpExt/2008-02-29/", "other/");
        assert!(digital_source_types(&other).is_empty());
        assert!(digital_source_types("<x:xmpmeta").is_empty());
    }

    fn jpeg_with(app1: Option<&[u8]>) -> Vec<u8> {
        let mut out = b"\xff\xd8".to_vec();
        // An APP0 first, to be skipped.
        out.extend_from_slice(b"\xff\xe0\x00\x07JFIF\0");
        if let Some(payload) = app1 {
            let mut body = JPEG_XMP.to_vec();
            body.extend_from_slice(payload);
            out.extend_from_slice(b"\xff\xe1");
            out.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
            out.extend_from_slice(&body);
        }
        out.extend_from_slice(b"\xff\xda\x00\x02<x:xmpmeta in the pixels\xff\xd9");
        out
    }

    fn png_with(chunk: Option<(&[u8], Vec<u8>)>, after_idat: bool) -> Vec<u8> {
        let put = |out: &mut Vec<u8>, kind: &[u8], data: &[u8]| {
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            out.extend_from_slice(kind);
            out.extend_from_slice(data);
            out.extend_from_slice(&[0; 4]);
        };
        let mut out = PNG_MAGIC.to_vec();
        put(&mut out, b"IHDR", &[0; 13]);
        if !after_idat && let Some((kind, data)) = &chunk {
            put(&mut out, kind, data);
        }
        put(&mut out, b"IDAT", b"<x:xmpmeta not here");
        if after_idat && let Some((kind, data)) = &chunk {
            put(&mut out, kind, data);
        }
        put(&mut out, b"IEND", b"");
        out
    }

    fn itxt(compressed: bool, text: &str) -> Vec<u8> {
        let mut data = b"XML:com.adobe.xmp\0".to_vec();
        data.extend_from_slice(&[u8::from(compressed), 0]);
        data.extend_from_slice(b"\0\0");
        if compressed {
            use std::io::Write;
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), Default::default());
            z.write_all(text.as_bytes()).unwrap();
            data.extend_from_slice(&z.finish().unwrap());
        } else {
            data.extend_from_slice(text.as_bytes());
        }
        data
    }

    fn found(bytes: &[u8]) -> Option<(&'static str, Vec<String>)> {
        find_packet(&mut Cursor::new(bytes), bytes.len() as u64)
            .unwrap()
            .map(|p| (p.container, digital_source_types(&p.text)))
    }

    #[test]
    fn packets_are_found_where_each_format_keeps_them() {
        let p = packet(AI);
        assert_eq!(
            found(&jpeg_with(Some(p.as_bytes()))),
            Some(("JPEG APP1", vec![AI.to_string()]))
        );
        // After the scan starts, nothing is metadata.
        assert_eq!(found(&jpeg_with(None)), None);
        for compressed in [false, true] {
            for after in [false, true] {
                let png = png_with(Some((b"iTXt", itxt(compressed, &p))), after);
                assert_eq!(
                    found(&png),
                    Some(("PNG iTXt", vec![AI.to_string()])),
                    "compressed {compressed}, after IDAT {after}"
                );
            }
        }
        let other_keyword = itxt(false, &p)
            .splitn(2, |&b| b == 0)
            .nth(1)
            .unwrap()
            .to_vec();
        let mut comment = b"Comment\0".to_vec();
        comment.extend_from_slice(&other_keyword);
        assert_eq!(found(&png_with(Some((b"iTXt", comment)), false)), None);
        assert_eq!(found(&png_with(None, false)), None);

        let mut webp = b"RIFF\0\0\0\0WEBP".to_vec();
        for (kind, data) in [(&b"VP8L"[..], &b"odd"[..]), (b"XMP ", p.as_bytes())] {
            webp.extend_from_slice(kind);
            webp.extend_from_slice(&(data.len() as u32).to_le_bytes());
            webp.extend_from_slice(data);
            if data.len() % 2 == 1 {
                webp.push(0);
            }
        }
        assert_eq!(found(&webp), Some(("WebP XMP chunk", vec![AI.to_string()])));

        // Anything else: scanned for, across block boundaries.
        let mut gif = b"GIF89a".to_vec();
        gif.extend(std::iter::repeat_n(0u8, 64 * 1024 - 8));
        gif.extend_from_slice(p.as_bytes());
        gif.extend_from_slice(b"\0trailer");
        assert_eq!(found(&gif), Some(("XMP packet", vec![AI.to_string()])));
    }

    #[test]
    fn lengths_that_lie_end_the_walk() {
        // A segment claiming more bytes than the file has.
        let mut jpeg = b"\xff\xd8\xff\xe1\xff\xff".to_vec();
        jpeg.extend_from_slice(JPEG_XMP);
        assert_eq!(found(&jpeg), None);
        let mut png = PNG_MAGIC.to_vec();
        png.extend_from_slice(&u32::MAX.to_be_bytes());
        png.extend_from_slice(b"iTXt");
        assert_eq!(found(&png), None);
        // A packet over the bound is not buffered.
        let huge = format!("<x:xmpmeta {}", " ".repeat(MAX_PACKET + 10));
        assert_eq!(found(huge.as_bytes()), None);
        assert_eq!(found(b""), None);
    }
}
