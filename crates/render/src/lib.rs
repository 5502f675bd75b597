//! vaora's printables: QR images, A4 venue posters (SVG, PNG, PDF), sheets of printed cards (PDF,
//! ten credit-card-sized cards on an A4 page) and printed reports (PDF).
//!
//! Every document is first laid out once as SVG (millimetre units, DejaVu Sans, which has every
//! Vietnamese glyph); PNG is that SVG rasterised by resvg and PDF is the same SVG drawn by krilla,
//! with its text kept as text. Reports (an agency's day) are laid out the same way, over as many
//! pages as they need. No I/O: callers get bytes.

mod report;

pub use report::{Column, Report, Section, report_svgs};

use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};

use krilla::geom::Size;
use krilla::page::PageSettings;
use krilla_svg::{SurfaceExt, SvgSettings};
use qrcode::{Color, EcLevel, QrCode};
use resvg::{tiny_skia, usvg};

/// A4 in millimetres.
const A4_W: f32 = 210.0;
const A4_H: f32 = 297.0;
/// A credit card (ISO/IEC 7810 ID-1) in millimetres.
const CARD_W: f32 = 85.6;
const CARD_H: f32 = 53.98;
/// PDF points per millimetre.
const PT_PER_MM: f32 = 72.0 / 25.4;
/// The font every document uses.
const FONT: &str = "DejaVu Sans";

/// Why a document could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The text does not fit in a QR code.
    #[error("the text is too long for a QR code")]
    TooLong,
    /// The SVG did not parse (a bug: we wrote it).
    #[error("internal SVG error: {0}")]
    Svg(String),
    /// The PDF writer failed.
    #[error("PDF error: {0}")]
    Pdf(String),
    /// The PNG encoder failed.
    #[error("PNG error: {0}")]
    Png(String),
}

/// How much of a QR code may be damaged and still read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Correction {
    /// ~15 %: screens.
    Medium,
    /// ~25 %: print, which gets scratched, stained and photographed at an angle.
    Quartile,
}

/// A QR code's modules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrMatrix {
    /// Modules per side (without the quiet zone).
    pub width: usize,
    dark: Vec<bool>,
}

impl QrMatrix {
    /// Encodes `text` (the encoder picks the most compact mode: vaora's codes are alphanumeric).
    pub fn new(text: &str, correction: Correction) -> Result<Self, RenderError> {
        let level = match correction {
            Correction::Medium => EcLevel::M,
            Correction::Quartile => EcLevel::Q,
        };
        let code = QrCode::with_error_correction_level(text.as_bytes(), level).map_err(|_| RenderError::TooLong)?;
        let width = code.width();
        let dark = code.to_colors().into_iter().map(|c| c == Color::Dark).collect();
        Ok(Self { width, dark })
    }

    /// Whether the module at column `x`, row `y` is dark.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        self.dark.get(y * self.width + x).copied().unwrap_or(false)
    }

    /// An SVG path drawing the dark modules of a code whose top-left module is at (`x`, `y`), each
    /// `module` units wide (runs of a row are merged, which keeps files small).
    pub fn svg_path(&self, x: f32, y: f32, module: f32) -> String {
        let mut d = String::new();
        for row in 0..self.width {
            let mut col = 0;
            while col < self.width {
                if self.is_dark(col, row) {
                    let start = col;
                    while col < self.width && self.is_dark(col, row) {
                        col += 1;
                    }
                    let _ = write!(
                        d,
                        "M{:.3} {:.3}h{:.3}v{:.3}h-{:.3}z",
                        x + start as f32 * module,
                        y + row as f32 * module,
                        (col - start) as f32 * module,
                        module,
                        (col - start) as f32 * module
                    );
                } else {
                    col += 1;
                }
            }
        }
        format!("<path fill=\"#000\" d=\"{d}\"/>")
    }

    /// A standalone SVG of the code with a four-module quiet zone, `size` pixels square (for the
    /// pass screen).
    pub fn to_svg(&self, size: u32) -> String {
        let n = self.width + 8;
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {n} {n}\" width=\"{size}\" height=\"{size}\" shape-rendering=\"crispEdges\"><rect width=\"{n}\" height=\"{n}\" fill=\"#fff\"/>{}</svg>",
            self.svg_path(4.0, 4.0, 1.0)
        )
    }
}

/// Escapes text for SVG.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Breaks text into lines of at most `max` characters, at spaces.
fn wrap(text: &str, max: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > max {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

/// Centred lines of text starting at baseline `y`; returns the next free `y`.
fn text_block(out: &mut String, lines: &[String], y: f32, size: f32, weight: &str, fill: &str) -> f32 {
    let mut y = y;
    for l in lines {
        let _ = write!(
            out,
            "<text x=\"{:.2}\" y=\"{y:.2}\" font-family=\"{FONT}\" font-size=\"{size}\" font-weight=\"{weight}\" fill=\"{fill}\" text-anchor=\"middle\">{}</text>",
            A4_W / 2.0,
            esc(l)
        );
        y += size * 1.3;
    }
    y
}

/// What a venue poster says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poster {
    /// The agency, e.g. `Sở Giao thông Vận tải tỉnh Thừa Thiên Huế`.
    pub agency: String,
    /// The checkpoint, e.g. `Cổng chính`.
    pub checkpoint: String,
    /// Its address.
    pub address: String,
    /// The URL in the QR code.
    pub url: String,
    /// A short reference printed small (checkpoint and code generation), for the office.
    pub reference: String,
}

/// An A4 poster as SVG (millimetre units), in Vietnamese.
pub fn poster_svg(p: &Poster) -> Result<String, RenderError> {
    let qr = QrMatrix::new(&p.url, Correction::Quartile)?;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{A4_W}mm\" height=\"{A4_H}mm\" viewBox=\"0 0 {A4_W} {A4_H}\"><rect width=\"{A4_W}\" height=\"{A4_H}\" fill=\"#fff\"/>"
    );
    let _ = write!(s, "<rect x=\"0\" y=\"0\" width=\"{A4_W}\" height=\"16\" fill=\"#0b5cab\"/>");
    text_block(&mut s, &["QUÉT MÃ QR KHI VÀO".to_owned()], 11.0, 7.0, "bold", "#fff");
    let mut y = text_block(&mut s, &wrap(&p.agency, 48), 28.0, 6.0, "normal", "#16202b");
    y = text_block(&mut s, &wrap(&p.checkpoint, 26), y + 5.0, 11.0, "bold", "#0b5cab");
    y = text_block(&mut s, &wrap(&p.address, 70), y, 4.5, "normal", "#505c69");
    // The code: 140 mm with a quiet zone of four modules, readable from 1.5 m.
    let side = 140.0_f32;
    let module = side / (qr.width + 8) as f32;
    let top = y.max(70.0) - 2.0;
    let left = (A4_W - side) / 2.0;
    let _ = write!(s, "<rect x=\"{left}\" y=\"{top}\" width=\"{side}\" height=\"{side}\" fill=\"#fff\"/>");
    s.push_str(&qr.svg_path(left + 4.0 * module, top + 4.0 * module, module));
    let mut y = top + side + 9.0;
    let steps = [
        "1. Mở camera hoặc ứng dụng quét mã trên điện thoại.",
        "2. Hướng camera vào mã QR này và mở đường dẫn.",
        "3. Đăng nhập vaora; lượt vào được ghi nhận ngay.",
    ];
    for step in steps {
        y = text_block(&mut s, &[step.to_owned()], y, 5.0, "normal", "#16202b");
    }
    y = text_block(
        &mut s,
        &wrap("Không có điện thoại thông minh? Đưa thẻ kiểm soát dịch bệnh hoặc mã QR cá nhân cho người kiểm tra.", 80),
        y + 2.0,
        4.2,
        "normal",
        "#505c69",
    );
    let _ = y;
    text_block(
        &mut s,
        &[format!("Mã được ký số — mã dán đè sẽ bị từ chối · {}", p.reference)],
        A4_H - 8.0,
        3.2,
        "normal",
        "#505c69",
    );
    s.push_str("</svg>");
    Ok(s)
}

/// What a printed card shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    /// The holder's initials.
    pub initials: String,
    /// The card number.
    pub number: String,
    /// The secret code in the QR image.
    pub code: String,
}

/// Cards on one A4 page.
pub const CARDS_PER_PAGE: usize = 10;

/// A4 pages of cards (two columns of five, each card 85.6 × 54 mm with cut marks) as SVG.
pub fn card_sheets_svg(cards: &[Card]) -> Result<Vec<String>, RenderError> {
    let margin_x = (A4_W - 2.0 * CARD_W) / 2.0;
    let margin_y = (A4_H - 5.0 * CARD_H) / 2.0;
    let mut pages = Vec::new();
    for chunk in cards.chunks(CARDS_PER_PAGE) {
        let mut s = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{A4_W}mm\" height=\"{A4_H}mm\" viewBox=\"0 0 {A4_W} {A4_H}\"><rect width=\"{A4_W}\" height=\"{A4_H}\" fill=\"#fff\"/>"
        );
        for (i, c) in chunk.iter().enumerate() {
            let x = margin_x + (i % 2) as f32 * CARD_W;
            let y = margin_y + (i / 2) as f32 * CARD_H;
            let qr = QrMatrix::new(&c.code, Correction::Quartile)?;
            let side = 44.0_f32;
            let module = side / (qr.width + 8) as f32;
            let _ = write!(
                s,
                "<rect x=\"{x:.2}\" y=\"{y:.2}\" width=\"{CARD_W}\" height=\"{CARD_H}\" fill=\"none\" stroke=\"#999\" stroke-width=\"0.2\" stroke-dasharray=\"1 1\"/>"
            );
            let _ = write!(s, "<rect x=\"{x:.2}\" y=\"{y:.2}\" width=\"{CARD_W}\" height=\"9\" fill=\"#0b5cab\"/>");
            let _ = write!(
                s,
                "<text x=\"{:.2}\" y=\"{:.2}\" font-family=\"{FONT}\" font-size=\"3.6\" font-weight=\"bold\" fill=\"#fff\">THẺ KIỂM SOÁT DỊCH BỆNH</text>",
                x + 4.0,
                y + 6.2
            );
            let qx = x + 3.0;
            let qy = y + 9.0 + (CARD_H - 9.0 - side) / 2.0;
            s.push_str(&qr.svg_path(qx + 4.0 * module, qy + 4.0 * module, module));
            let tx = x + 3.0 + side + 3.0;
            let _ = write!(
                s,
                "<text x=\"{tx:.2}\" y=\"{:.2}\" font-family=\"{FONT}\" font-size=\"9\" font-weight=\"bold\" fill=\"#16202b\">{}</text>",
                y + 24.0,
                esc(&c.initials)
            );
            let _ = write!(
                s,
                "<text x=\"{tx:.2}\" y=\"{:.2}\" font-family=\"{FONT}\" font-size=\"3\" fill=\"#505c69\">Số thẻ</text><text x=\"{tx:.2}\" y=\"{:.2}\" font-family=\"{FONT}\" font-size=\"4.6\" font-weight=\"bold\" fill=\"#16202b\">{}</text>",
                y + 32.0,
                y + 37.5,
                esc(&c.number)
            );
            let _ = write!(
                s,
                "<text x=\"{tx:.2}\" y=\"{:.2}\" font-family=\"{FONT}\" font-size=\"2.4\" fill=\"#505c69\">Đưa thẻ cho người kiểm tra</text><text x=\"{tx:.2}\" y=\"{:.2}\" font-family=\"{FONT}\" font-size=\"2.4\" fill=\"#505c69\">quét khi vào. Mất thẻ: báo cơ quan.</text>",
                y + 45.0,
                y + 48.5
            );
        }
        s.push_str("</svg>");
        pages.push(s);
    }
    Ok(pages)
}

/// The font database with DejaVu Sans, built once.
fn fonts() -> Arc<usvg::fontdb::Database> {
    static DB: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_font_data(dejavu::sans::regular().to_vec());
        db.load_font_data(dejavu::sans::bold().to_vec());
        Arc::new(db)
    })
    .clone()
}

fn tree(svg: &str) -> Result<usvg::Tree, RenderError> {
    let opts = usvg::Options { fontdb: fonts(), font_family: FONT.to_owned(), ..usvg::Options::default() };
    usvg::Tree::from_str(svg, &opts).map_err(|e| RenderError::Svg(e.to_string()))
}

/// Rasterises an SVG at `dpi` (A4 at 150 dpi is 1240 × 1754 pixels).
pub fn svg_to_png(svg: &str, dpi: f32) -> Result<Vec<u8>, RenderError> {
    let t = tree(svg)?;
    // usvg measures in CSS pixels (96 per inch).
    let scale = dpi / 96.0;
    let w = (t.size().width() * scale).ceil() as u32;
    let h = (t.size().height() * scale).ceil() as u32;
    let mut pixmap = tiny_skia::Pixmap::new(w, h).ok_or_else(|| RenderError::Png("empty image".into()))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(&t, tiny_skia::Transform::from_scale(scale, scale), &mut pixmap.as_mut());
    pixmap.encode_png().map_err(|e| RenderError::Png(e.to_string()))
}

/// A PDF with one A4 page per SVG, text kept as text.
pub fn svgs_to_pdf(pages: &[String]) -> Result<Vec<u8>, RenderError> {
    let mut doc = krilla::Document::new();
    for svg in pages {
        let t = tree(svg)?;
        let (w, h) = (A4_W * PT_PER_MM, A4_H * PT_PER_MM);
        let settings = PageSettings::from_wh(w, h).ok_or_else(|| RenderError::Pdf("page size".into()))?;
        let mut page = doc.start_page_with(settings);
        let mut surface = page.surface();
        let size = Size::from_wh(w, h).ok_or_else(|| RenderError::Pdf("page size".into()))?;
        surface
            .draw_svg(&t, size, SvgSettings::default())
            .ok_or_else(|| RenderError::Pdf("cannot draw the page".into()))?;
        surface.finish();
        page.finish();
    }
    doc.finish().map_err(|e| RenderError::Pdf(format!("{e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes every QR code in a PNG with rqrr, an independent decoder.
    fn decode_png(png: &[u8]) -> Vec<String> {
        decode_region(png, (0.0, 0.0, 1.0, 1.0))
    }

    /// Decodes the QR codes inside a region given as fractions of the image (x, y, width, height).
    fn decode_region(png: &[u8], (fx, fy, fw, fh): (f32, f32, f32, f32)) -> Vec<String> {
        let pixmap = tiny_skia::Pixmap::decode_png(png).unwrap();
        let (w, h) = (pixmap.width() as usize, pixmap.height() as usize);
        let (x0, y0) = ((fx * w as f32) as usize, (fy * h as f32) as usize);
        let (rw, rh) = (((fw * w as f32) as usize).min(w - x0), ((fh * h as f32) as usize).min(h - y0));
        let data = pixmap.data();
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(rw, rh, |x, y| data[((y0 + y) * w + x0 + x) * 4]);
        img.detect_grids().into_iter().filter_map(|g| g.decode().ok().map(|(_, text)| text)).collect()
    }

    fn poster() -> Poster {
        Poster {
            agency: "Sở Giao thông Vận tải tỉnh Thừa Thiên Huế".into(),
            checkpoint: "Cổng chính – 100 Hàm Nghi".into(),
            address: "100 Hàm Nghi, Phường Thuận Hóa, Thành phố Huế".into(),
            url: format!("https://vaora.hue.gov.vn/v/VV1{}", "A".repeat(125)),
            reference: "Điểm 1 · mã 1".into(),
        }
    }

    #[test]
    fn a_poster_png_decodes_to_its_url() {
        let svg = poster_svg(&poster()).unwrap();
        assert!(svg.contains("Cổng chính – 100 Hàm Nghi") && svg.contains("QUÉT MÃ QR KHI VÀO"));
        let png = svg_to_png(&svg, 100.0).unwrap();
        assert_eq!(decode_png(&png), [poster().url]);
    }

    #[test]
    fn a_sheet_holds_ten_cards_that_all_decode() {
        let cards: Vec<Card> = (0..12)
            .map(|i| Card {
                initials: "NVA".into(),
                number: format!("{i:08}"),
                code: format!("VC1{:032}", i).replace('0', "A").replace('1', "B"),
            })
            .collect();
        let pages = card_sheets_svg(&cards).unwrap();
        assert_eq!(pages.len(), 2);
        let png = svg_to_png(&pages[0], 200.0).unwrap();
        let (mx, my) = ((A4_W - 2.0 * CARD_W) / 2.0, (A4_H - 5.0 * CARD_H) / 2.0);
        for (i, card) in cards[..10].iter().enumerate() {
            let x = (mx + (i % 2) as f32 * CARD_W) / A4_W;
            let y = (my + (i / 2) as f32 * CARD_H) / A4_H;
            let found = decode_region(&png, (x, y, CARD_W / A4_W, CARD_H / A4_H));
            assert_eq!(found, std::slice::from_ref(&card.code), "card {i}");
        }
        assert!(pages[1].matches("THẺ KIỂM SOÁT DỊCH BỆNH").count() == 2, "the second page holds the last two");
    }

    /// Runs a tool from Debian's poppler-utils or zbar-tools (`.ci/run` installs them).
    fn tool(name: &str, args: &[&str]) -> String {
        let out = std::process::Command::new(name).args(args).output().unwrap_or_else(|e| {
            panic!("{name} is needed for this test (apt-get install poppler-utils zbar-tools): {e}")
        });
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn temp(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("vaora-render-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_poster_pdf_keeps_its_text_and_its_code_reads_back_with_zbar() {
        let dir = temp("pdf");
        let p = poster();
        let svg = poster_svg(&p).unwrap();
        let pdf = dir.join("posters.pdf");
        std::fs::write(&pdf, svgs_to_pdf(&[svg.clone(), svg.clone()]).unwrap()).unwrap();
        let info = tool("pdfinfo", &[pdf.to_str().unwrap()]);
        assert!(info.contains("Pages:           2") && info.contains("(A4)"), "{info}");
        let text = tool("pdftotext", &[pdf.to_str().unwrap(), "-"]);
        for line in [
            "QUÉT MÃ QR KHI VÀO",
            "Sở Giao thông Vận tải tỉnh Thừa Thiên Huế",
            "Cổng chính – 100 Hàm Nghi",
            "Hướng camera vào mã QR",
        ] {
            assert!(text.contains(line), "{line:?} missing from the PDF text:\n{text}");
        }
        // The PDF rendered at 100 dpi, read by an independent decoder (ZBar).
        let prefix = dir.join("page");
        tool("pdftoppm", &["-r", "100", "-png", "-f", "1", "-l", "1", pdf.to_str().unwrap(), prefix.to_str().unwrap()]);
        let page = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|f| f.extension().is_some_and(|x| x == "png"))
            .unwrap();
        let decoded = tool("zbarimg", &["--quiet", "--raw", page.to_str().unwrap()]);
        assert_eq!(decoded.trim(), p.url);
        // And the PNG poster and the SVG rasterised by resvg, by ZBar too.
        let png = dir.join("poster.png");
        std::fs::write(&png, svg_to_png(&svg, 100.0).unwrap()).unwrap();
        assert_eq!(tool("zbarimg", &["--quiet", "--raw", png.to_str().unwrap()]).trim(), p.url);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_pass_screen_qr_reads_back_with_rqrr_and_zbar() {
        // A real pass's shape: VP1 and 148 base32 characters, in a screen-sized image.
        let code = format!("VP1{}", "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".repeat(5)[..148].to_owned());
        let svg = QrMatrix::new(&code, Correction::Medium).unwrap().to_svg(300);
        let png = svg_to_png(&svg, 96.0).unwrap();
        assert_eq!(decode_png(&png), std::slice::from_ref(&code));
        let dir = temp("pass");
        let file = dir.join("pass.png");
        std::fs::write(&file, png).unwrap();
        assert_eq!(tool("zbarimg", &["--quiet", "--raw", file.to_str().unwrap()]).trim(), code);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn text_is_wrapped_and_escaped() {
        assert_eq!(wrap("a bb ccc dddd", 6), ["a bb", "ccc", "dddd"]);
        assert_eq!(esc("<Sở & \"Y tế\">"), "&lt;Sở &amp; &quot;Y tế&quot;&gt;");
        assert!(QrMatrix::new(&"A".repeat(5000), Correction::Quartile).is_err());
        let pass = QrMatrix::new(&format!("VP1{}", "A".repeat(148)), Correction::Medium).unwrap();
        assert!(pass.width <= 45, "a pass fits a version-7 code ({} modules)", pass.width);
    }
}
