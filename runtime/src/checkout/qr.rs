//! QR codes drawn by paycore as inline SVG: no image service sees the
//! payment's URL, and the page needs no image requests.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// `content` as an SVG QR code labelled `label` for screen readers.
/// Error correction M survives a scuffed print; the quiet zone is kept.
pub fn svg(content: &str, label: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(content.as_bytes(), EcLevel::M).ok()?;
    let image = code
        .render::<svg::Color>()
        .min_dimensions(232, 232)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .quiet_zone(true)
        .build();
    // Inline in HTML: drop the XML declaration, label the image.
    let start = image.find("<svg")?;
    let label = super::page::esc(label);
    Some(image[start..].replacen(
        "<svg",
        &format!("<svg role=\"img\" aria-label=\"{label}\" class=\"qr\""),
        1,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_labelled_inline_svg_for_the_content() {
        let url = "http://127.0.0.1:8080/sandbox/payer/T202611260001";
        let image = svg(url, "Payment \"QR\" code").unwrap();
        assert!(image.starts_with("<svg role=\"img\" aria-label=\"Payment &quot;QR&quot; code\""));
        assert!(image.ends_with("</svg>"), "{}", &image[image.len() - 20..]);
        assert!(!image.contains("<?xml"));
        // No style attributes: the page's CSP allows no inline styles.
        assert!(!image.contains("style="));
        // The same content draws the same code; other content another.
        assert_eq!(image, svg(url, "Payment \"QR\" code").unwrap());
        assert_ne!(
            image,
            svg("http://127.0.0.1:8080/sandbox/payer/T2", "x").unwrap()
        );
        // This 50-byte URL at level M needs version 4 (33 modules a side).
        let code = QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M).unwrap();
        assert_eq!(code.width(), 33);
        assert!(image.contains("<path"), "{}", &image[..200]);
    }

    #[test]
    fn content_too_long_for_any_qr_code_is_refused() {
        assert!(svg(&"x".repeat(4000), "x").is_none());
    }
}
