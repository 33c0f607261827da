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

#[cfg(test)]
mod tests {
    use super::*;

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
