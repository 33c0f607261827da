//! QR codes of verification links: error correction level M (as KSeF's own generator), a 4-module quiet zone
//! (ISO/IEC 18004), rendered as a 1-bit PNG or as SVG (one path, crisp at any size).

use std::io::Write as _;

use qrcodegen::{QrCode, QrCodeEcc, QrSegment, Version};

/// The quiet zone, in modules.
pub const QUIET_ZONE: usize = 4;

/// A QR code's modules, quiet zone included: `true` is dark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matrix {
    /// Modules per side, quiet zone included.
    pub size: usize,
    /// Row-major, `size × size`.
    pub dark: Vec<bool>,
}

/// The QR code of `text` at level M exactly (not raised to a higher level when it would fit, so every code has
/// KSeF's level). Links are far below QR's capacity; longer text is refused.
pub fn matrix(text: &str) -> Option<Matrix> {
    let segments = QrSegment::make_segments(text);
    let code = QrCode::encode_segments_advanced(&segments, QrCodeEcc::Medium, Version::MIN, Version::MAX, None, false).ok()?;
    let width = usize::try_from(code.size()).ok()?;
    let size = width + 2 * QUIET_ZONE;
    let mut dark = vec![false; size * size];
    for y in 0..width {
        for x in 0..width {
            // Coordinates are below the code's size, which is at most 177.
            if code.get_module(x as i32, y as i32) {
                dark[(y + QUIET_ZONE) * size + x + QUIET_ZONE] = true;
            }
        }
    }
    Some(Matrix { size, dark })
}

impl Matrix {
    /// A 1-bit grayscale PNG, `scale` pixels per module.
    pub fn png(&self, scale: usize) -> Vec<u8> {
        let px = self.size * scale;
        let row_bytes = px.div_ceil(8);
        let mut raw = Vec::with_capacity((row_bytes + 1) * px);
        for y in 0..px {
            raw.push(0); // Filter: none.
            let mut byte = 0u8;
            for x in 0..px {
                // In 1-bit grayscale, 1 is white.
                if !self.dark[(y / scale) * self.size + x / scale] {
                    byte |= 0x80 >> (x % 8);
                }
                if x % 8 == 7 || x == px - 1 {
                    raw.push(byte);
                    byte = 0;
                }
            }
        }
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        zlib.write_all(&raw).expect("writing to memory");
        let idat = zlib.finish().expect("writing to memory");
        let mut ihdr = Vec::with_capacity(13);
        ihdr.extend_from_slice(&(px as u32).to_be_bytes());
        ihdr.extend_from_slice(&(px as u32).to_be_bytes());
        ihdr.extend_from_slice(&[1, 0, 0, 0, 0]); // Bit depth 1, grayscale, deflate, adaptive filtering, no interlace.
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        for (kind, data) in [(b"IHDR", &ihdr), (b"IDAT", &idat), (b"IEND", &Vec::new())] {
            png.extend_from_slice(&(data.len() as u32).to_be_bytes());
            let mut crc = flate2::Crc::new();
            crc.update(kind);
            crc.update(data);
            png.extend_from_slice(kind);
            png.extend_from_slice(data);
            png.extend_from_slice(&crc.sum().to_be_bytes());
        }
        png
    }

    /// An SVG, one unit per module, the dark modules as one path.
    pub fn svg(&self) -> String {
        let mut path = String::new();
        for y in 0..self.size {
            let mut x = 0;
            while x < self.size {
                if self.dark[y * self.size + x] {
                    let start = x;
                    while x < self.size && self.dark[y * self.size + x] {
                        x += 1;
                    }
                    path.push_str(&format!("M{start} {y}h{}v1h-{}z", x - start, x - start));
                } else {
                    x += 1;
                }
            }
        }
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {s} {s}\" shape-rendering=\"crispEdges\"><rect width=\"{s}\" height=\"{s}\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>",
            s = self.size
        )
    }
}

/// Largest PNG read for its QR codes.
pub const MAX_IMAGE_BYTES: usize = 10 * 1024 * 1024;
/// Most pixels of a PNG read for its QR codes (a page scanned at 300 dpi has about 8.7 million).
pub const MAX_IMAGE_PIXELS: u64 = 25_000_000;

/// The texts of the QR codes in a PNG image (a scan or photo of a paper invoice, or a rendered code), each once,
/// in the order found. The image is bounded in bytes, pixels and decoding memory.
pub fn read_png(png_bytes: &[u8]) -> Result<Vec<String>, String> {
    if png_bytes.len() > MAX_IMAGE_BYTES {
        return Err(format!("the image is over {MAX_IMAGE_BYTES} bytes"));
    }
    let mut decoder = png::Decoder::new_with_limits(std::io::Cursor::new(png_bytes), png::Limits { bytes: 128 * 1024 * 1024 });
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(|e| format!("not a PNG image: {e}"))?;
    let (width, height) = (reader.info().width, reader.info().height);
    if u64::from(width) * u64::from(height) > MAX_IMAGE_PIXELS {
        return Err(format!("the image has {width}×{height} pixels; at most {MAX_IMAGE_PIXELS} are read"));
    }
    let size = reader.output_buffer_size().ok_or_else(|| "the image is too large to decode".to_owned())?;
    let mut buf = vec![0; size];
    let frame = reader.next_frame(&mut buf).map_err(|e| format!("the image cannot be decoded: {e}"))?;
    let channels = match frame.color_type {
        png::ColorType::Grayscale | png::ColorType::Indexed => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
    };
    let line = frame.line_size;
    let luma = |x: usize, y: usize| -> u8 {
        let i = y * line + x * channels;
        match channels {
            1 | 2 => buf[i],
            _ => u8::try_from((u32::from(buf[i]) * 299 + u32::from(buf[i + 1]) * 587 + u32::from(buf[i + 2]) * 114) / 1000).unwrap_or(u8::MAX),
        }
    };
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(frame.width as usize, frame.height as usize, luma);
    let mut found: Vec<String> = Vec::new();
    for grid in image.detect_grids() {
        if let Ok((_, text)) = grid.decode()
            && !found.contains(&text)
        {
            found.push(text);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two codes side by side on a colored page, as an RGB PNG (a scan, not our own 1-bit rendering).
    fn page_with(codes: &[&Matrix], scale: usize) -> Vec<u8> {
        let width = codes.iter().map(|m| m.size * scale + 20).sum::<usize>() + 20;
        let height = codes.iter().map(|m| m.size * scale).max().unwrap_or(0) + 40;
        let mut rgb = vec![0u8; width * height * 3];
        for px in rgb.chunks_mut(3) {
            px.copy_from_slice(&[250, 245, 230]);
        }
        let mut left = 20;
        for m in codes {
            for y in 0..m.size * scale {
                for x in 0..m.size * scale {
                    if m.dark[(y / scale) * m.size + x / scale] {
                        let i = ((y + 20) * width + left + x) * 3;
                        rgb[i..i + 3].copy_from_slice(&[20, 20, 60]);
                    }
                }
            }
            left += m.size * scale + 20;
        }
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, u32::try_from(width).unwrap(), u32::try_from(height).unwrap());
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.write_header().unwrap().write_image_data(&rgb).unwrap();
        out
    }

    #[test]
    fn the_codes_of_an_image_are_read_back_and_anything_else_is_refused() {
        let kod1 = "https://qr-test.ksef.mf.gov.pl/invoice/5265877635/01-02-2026/UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE";
        let other = "https://qr-test.ksef.mf.gov.pl/certificate/Nip/5265877635/5265877635/01F2/UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE/c2ln";
        assert_eq!(read_png(&matrix(kod1).unwrap().png(4)).unwrap(), vec![kod1.to_owned()]);
        let page = page_with(&[&matrix(kod1).unwrap(), &matrix(other).unwrap()], 4);
        let mut found = read_png(&page).unwrap();
        found.sort();
        assert_eq!(found, vec![other.to_owned(), kod1.to_owned()]);
        assert!(read_png(b"not a png").unwrap_err().contains("not a PNG"));
        assert!(read_png(&vec![0; MAX_IMAGE_BYTES + 1]).is_err());
        assert!(read_png(&page_with(&[], 1)).unwrap().is_empty(), "no code: nothing found");
    }

    #[test]
    fn a_kod1_link_is_version_6_at_level_m_with_a_quiet_zone() {
        let link = "https://qr-test.ksef.mf.gov.pl/invoice/1111111111/01-02-2026/UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE";
        let m = matrix(link).unwrap();
        assert_eq!(m.size, 41 + 2 * QUIET_ZONE, "version 6 is 41 modules");
        assert!(m.dark[..m.size * QUIET_ZONE].iter().all(|d| !d), "quiet zone");
        assert!(m.dark[QUIET_ZONE * m.size + QUIET_ZONE], "finder pattern corner");
        let png = m.png(5);
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 245);
    }
}
