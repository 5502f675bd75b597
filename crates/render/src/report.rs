//! Printable reports: A4 pages with a title, key figures, tables that run over as many pages as
//! they need (their header repeated on each) and bar charts, laid out as SVG like every other
//! document here and turned into PDF by [`crate::svgs_to_pdf`]. The caller supplies every word, in
//! the reader's language; this module only measures and places them.

use std::fmt::Write as _;
use std::sync::OnceLock;

use crate::{A4_H, A4_W, FONT, RenderError, esc};

/// Page margin, millimetres.
const MARGIN: f32 = 15.0;
/// The lowest baseline of the page's content (the footer sits below it).
const BOTTOM: f32 = A4_H - MARGIN - 6.0;
/// Table text size and row height, millimetres (about 8.5 pt).
const CELL_SIZE: f32 = 3.0;
const ROW_H: f32 = 5.2;
/// Space a cell keeps from its column's edges.
const PAD: f32 = 1.5;
/// The width the content may use.
const CONTENT_W: f32 = A4_W - 2.0 * MARGIN;

const INK: &str = "#16202b";
const MUTED: &str = "#505c69";
const BRAND: &str = "#0b5cab";
const RULE: &str = "#c9d3de";
const SHADE: &str = "#e8eef5";

/// A report to print.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The title, e.g. `Báo cáo ra vào ngày 27/11/2026`.
    pub title: String,
    /// Lines under the title (the agency, its working-day start, when the report was made).
    pub subtitle: Vec<String>,
    /// Key figures shown as boxes: label and value.
    pub figures: Vec<(String, String)>,
    /// The body, in order.
    pub sections: Vec<Section>,
    /// Small print at the foot of every page.
    pub footer: String,
    /// The page number, with `{page}` and `{pages}` in it: `Trang {page}/{pages}`.
    pub page_label: String,
    /// Added to a table's heading where it continues on a new page: `(tiếp)`.
    pub continued: String,
}

/// A part of a report.
#[derive(Debug, Clone, PartialEq)]
pub enum Section {
    /// A table; `empty` is printed instead when it has no rows.
    Table {
        /// Its heading.
        heading: String,
        /// Its columns.
        columns: Vec<Column>,
        /// Its rows, one text per column (a text too wide for its column is cut short with `…`).
        rows: Vec<Vec<String>>,
        /// What to print when there are no rows.
        empty: String,
    },
    /// A bar chart of counts, one bar per label.
    Bars {
        /// Its heading.
        heading: String,
        /// Under each bar (an empty label leaves the place unlabelled).
        labels: Vec<String>,
        /// The counts.
        values: Vec<i64>,
    },
}

/// A table column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Its header.
    pub title: String,
    /// Its share of the page's width (the shares of a table's columns are scaled to fill it).
    pub weight: f32,
    /// Numbers: right-aligned.
    pub numeric: bool,
}

impl Column {
    /// A text column.
    pub fn text(title: impl Into<String>, weight: f32) -> Self {
        Self { title: title.into(), weight, numeric: false }
    }

    /// A number column.
    pub fn number(title: impl Into<String>, weight: f32) -> Self {
        Self { title: title.into(), weight, numeric: true }
    }
}

/// Advance widths of DejaVu Sans (regular and bold) in font units, for the glyphs a report uses.
struct Metrics {
    regular: ttf_parser::Face<'static>,
    bold: ttf_parser::Face<'static>,
}

fn metrics() -> Option<&'static Metrics> {
    static M: OnceLock<Option<Metrics>> = OnceLock::new();
    M.get_or_init(|| {
        Some(Metrics {
            regular: ttf_parser::Face::parse(dejavu::sans::regular(), 0).ok()?,
            bold: ttf_parser::Face::parse(dejavu::sans::bold(), 0).ok()?,
        })
    })
    .as_ref()
}

/// How wide `text` is at `size` millimetres. Decomposed Vietnamese (a letter followed by combining
/// marks) counts only the letters, as the marks do not advance.
pub(crate) fn text_width(text: &str, size: f32, bold: bool) -> f32 {
    let Some(m) = metrics() else {
        return text.chars().count() as f32 * size * 0.62;
    };
    let face = if bold { &m.bold } else { &m.regular };
    let em = f32::from(face.units_per_em());
    text.chars()
        .map(|c| {
            face.glyph_index(c)
                .and_then(|g| face.glyph_hor_advance(g))
                .map_or(size * 0.62, |a| f32::from(a) / em * size)
        })
        .sum()
}

/// `text`, cut short with `…` if it is wider than `max`.
fn fit(text: &str, max: f32, size: f32, bold: bool) -> String {
    if text_width(text, size, bold) <= max {
        return text.to_owned();
    }
    let room = max - text_width("…", size, bold);
    let mut out = String::new();
    let mut w = 0.0;
    for c in text.chars() {
        let cw = text_width(c.encode_utf8(&mut [0; 4]), size, bold);
        if w + cw > room {
            break;
        }
        w += cw;
        out.push(c);
    }
    format!("{}…", out.trim_end())
}

/// Breaks `text` at spaces into lines no wider than `max`.
fn wrap_width(text: &str, max: f32, size: f32, bold: bool) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        let candidate = if cur.is_empty() { word.to_owned() } else { format!("{cur} {word}") };
        if !cur.is_empty() && text_width(&candidate, size, bold) > max {
            lines.push(std::mem::replace(&mut cur, word.to_owned()));
        } else {
            cur = candidate;
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines.into_iter().map(|l| fit(&l, max, size, bold)).collect()
}

/// Pages being laid out.
struct Pages {
    done: Vec<String>,
    body: String,
    y: f32,
}

impl Pages {
    fn new() -> Self {
        Self { done: Vec::new(), body: String::new(), y: MARGIN + 4.0 }
    }

    fn break_page(&mut self) {
        self.done.push(std::mem::take(&mut self.body));
        self.y = MARGIN + 4.0;
    }

    /// Starts a new page unless `height` more millimetres fit on this one.
    fn need(&mut self, height: f32) {
        if self.y + height > BOTTOM {
            self.break_page();
        }
    }

    /// Text at `(x, y)` in `(size, bold)`.
    fn text(&mut self, (x, y): (f32, f32), (size, bold): (f32, bool), fill: &str, anchor: &str, text: &str) {
        let weight = if bold { "bold" } else { "normal" };
        let _ = write!(
            self.body,
            "<text x=\"{x:.2}\" y=\"{y:.2}\" font-family=\"{FONT}\" font-size=\"{size}\" font-weight=\"{weight}\" fill=\"{fill}\" text-anchor=\"{anchor}\">{}</text>",
            esc(text)
        );
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, fill: &str) {
        let _ =
            write!(self.body, "<rect x=\"{x:.2}\" y=\"{y:.2}\" width=\"{w:.2}\" height=\"{h:.2}\" fill=\"{fill}\"/>");
    }

    fn line(&mut self, x1: f32, y: f32, x2: f32, stroke: &str) {
        let _ = write!(
            self.body,
            "<line x1=\"{x1:.2}\" y1=\"{y:.2}\" x2=\"{x2:.2}\" y2=\"{y:.2}\" stroke=\"{stroke}\" stroke-width=\"0.25\"/>"
        );
    }

    fn heading(&mut self, text: &str) {
        let y = self.y + 5.0;
        self.text((MARGIN, y), (4.0, true), BRAND, "start", &fit(text, CONTENT_W, 4.0, true));
        self.y = y + 2.5;
    }
}

/// The report's pages as SVG (A4, millimetre units), ready for [`crate::svgs_to_pdf`].
pub fn report_svgs(r: &Report) -> Result<Vec<String>, RenderError> {
    if metrics().is_none() {
        return Err(RenderError::Svg("the report font did not load".into()));
    }
    let mut p = Pages::new();
    // Title and subtitle.
    for line in wrap_width(&r.title, CONTENT_W, 6.0, true) {
        p.y += 6.5;
        let y = p.y;
        p.text((MARGIN, y), (6.0, true), INK, "start", &line);
    }
    p.y += 1.5;
    for line in r.subtitle.iter().flat_map(|s| wrap_width(s, CONTENT_W, 3.4, false)) {
        p.y += 4.8;
        let y = p.y;
        p.text((MARGIN, y), (3.4, false), MUTED, "start", &line);
    }
    p.y += 4.0;
    // Key figures, four boxes to a row.
    let per_row = 4;
    let gap = 3.0;
    let box_w = (CONTENT_W - gap * (per_row as f32 - 1.0)) / per_row as f32;
    for row in r.figures.chunks(per_row) {
        p.need(17.0);
        for (i, (label, value)) in row.iter().enumerate() {
            let x = MARGIN + i as f32 * (box_w + gap);
            let y = p.y;
            p.rect(x, y, box_w, 15.0, SHADE);
            p.text((x + 2.5, y + 5.0), (2.7, false), MUTED, "start", &fit(label, box_w - 5.0, 2.7, false));
            p.text((x + 2.5, y + 12.0), (5.6, true), INK, "start", &fit(value, box_w - 5.0, 5.6, true));
        }
        p.y += 15.0 + gap;
    }
    for s in &r.sections {
        match s {
            Section::Table { heading, columns, rows, empty } => table(&mut p, r, heading, columns, rows, empty),
            Section::Bars { heading, labels, values } => bars(&mut p, heading, labels, values),
        }
    }
    p.done.push(std::mem::take(&mut p.body));
    let pages = p.done.len();
    Ok(p.done
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            let mut page = Pages { done: Vec::new(), body, y: 0.0 };
            let y = A4_H - MARGIN + 2.0;
            page.line(MARGIN, y - 4.5, A4_W - MARGIN, RULE);
            let number = r.page_label.replace("{page}", &(i + 1).to_string()).replace("{pages}", &pages.to_string());
            let number_w = text_width(&number, 2.6, false);
            page.text((MARGIN, y), (2.6, false), MUTED, "start", &fit(&r.footer, CONTENT_W - number_w - 5.0, 2.6, false));
            page.text((A4_W - MARGIN, y), (2.6, false), MUTED, "end", &number);
            format!(
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{A4_W}mm\" height=\"{A4_H}mm\" viewBox=\"0 0 {A4_W} {A4_H}\"><rect width=\"{A4_W}\" height=\"{A4_H}\" fill=\"#fff\"/>{}</svg>",
                page.body
            )
        })
        .collect())
}

fn table(p: &mut Pages, r: &Report, heading: &str, columns: &[Column], rows: &[Vec<String>], empty: &str) {
    let total: f32 = columns.iter().map(|c| c.weight.max(0.0)).sum::<f32>().max(f32::EPSILON);
    let widths: Vec<f32> = columns.iter().map(|c| c.weight.max(0.0) / total * CONTENT_W).collect();
    let header = |p: &mut Pages| {
        let y = p.y;
        p.rect(MARGIN, y, CONTENT_W, ROW_H, SHADE);
        let mut x = MARGIN;
        for (c, w) in columns.iter().zip(&widths) {
            let title = fit(&c.title, w - 2.0 * PAD, CELL_SIZE, true);
            if c.numeric {
                p.text((x + w - PAD, y + 3.7), (CELL_SIZE, true), INK, "end", &title);
            } else {
                p.text((x + PAD, y + 3.7), (CELL_SIZE, true), INK, "start", &title);
            }
            x += w;
        }
        p.y += ROW_H;
    };
    // A heading never ends a page: it keeps its header row and a first row with it.
    p.need(7.5 + 2.0 * ROW_H + 2.0);
    p.y += 2.0;
    p.heading(heading);
    if rows.is_empty() {
        p.y += ROW_H;
        let y = p.y - 1.5;
        p.text((MARGIN, y), (CELL_SIZE, false), MUTED, "start", &fit(empty, CONTENT_W, CELL_SIZE, false));
        return;
    }
    header(p);
    for row in rows {
        if p.y + ROW_H > BOTTOM {
            p.break_page();
            p.heading(&format!("{heading} {}", r.continued));
            header(p);
        }
        let y = p.y;
        let mut x = MARGIN;
        for ((c, w), cell) in columns.iter().zip(&widths).zip(row.iter().chain(std::iter::repeat(&String::new()))) {
            let text = fit(cell, w - 2.0 * PAD, CELL_SIZE, false);
            if c.numeric {
                p.text((x + w - PAD, y + 3.7), (CELL_SIZE, false), INK, "end", &text);
            } else {
                p.text((x + PAD, y + 3.7), (CELL_SIZE, false), INK, "start", &text);
            }
            x += w;
        }
        p.y += ROW_H;
        let y = p.y;
        p.line(MARGIN, y, MARGIN + CONTENT_W, RULE);
    }
}

fn bars(p: &mut Pages, heading: &str, labels: &[String], values: &[i64]) {
    let chart_h = 38.0;
    p.need(7.5 + chart_h + 12.0);
    p.y += 2.0;
    p.heading(heading);
    let n = values.len().max(1);
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    let slot = CONTENT_W / n as f32;
    let base = p.y + 4.0 + chart_h;
    p.line(MARGIN, base, MARGIN + CONTENT_W, MUTED);
    for (i, v) in values.iter().enumerate() {
        let x = MARGIN + i as f32 * slot;
        let h = (*v).max(0) as f32 / max as f32 * chart_h;
        if h > 0.0 {
            p.rect(x + slot * 0.15, base - h, slot * 0.7, h, BRAND);
        }
        if *v > 0 {
            let value = v.to_string();
            let size = 2.2_f32.min(slot / text_width(&value, 1.0, false).max(0.1) * 0.95);
            p.text((x + slot / 2.0, base - h - 1.0), (size, false), INK, "middle", &value);
        }
        if let Some(label) = labels.get(i).filter(|l| !l.is_empty()) {
            p.text((x + slot / 2.0, base + 3.8), (2.4, false), MUTED, "middle", label);
        }
    }
    p.y = base + 6.0;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(rows: usize) -> Report {
        Report {
            title: "Báo cáo ra vào ngày 27/11/2026".into(),
            subtitle: vec!["Sở Giao thông Vận tải tỉnh Thừa Thiên Huế".into(), "Giờ bắt đầu làm việc: 07:30".into()],
            figures: vec![("Cán bộ".into(), "120".into()), ("Đã quét mã".into(), "97".into())],
            sections: vec![
                Section::Table {
                    heading: "Chưa quét mã".into(),
                    columns: vec![
                        Column::number("STT", 1.0),
                        Column::text("Họ và tên", 6.0),
                        Column::text("Đơn vị", 5.0),
                    ],
                    rows: (1..=rows)
                        .map(|i| vec![i.to_string(), format!("Nguyễn Thị Người {i:03}"), "Phòng Hành chính".into()])
                        .collect(),
                    empty: "Không có".into(),
                },
                Section::Bars {
                    heading: "Lượt quét theo giờ".into(),
                    labels: (0..24).map(|h| if h % 3 == 0 { format!("{h:02}") } else { String::new() }).collect(),
                    values: (0..24).map(|h| if (7..9).contains(&h) { 400 } else { h }).collect(),
                },
            ],
            footer: "vaora · lập lúc 08:15 27/11/2026".into(),
            page_label: "Trang {page}/{pages}".into(),
            continued: "(tiếp)".into(),
        }
    }

    #[test]
    fn text_is_measured_with_the_font_and_cut_to_fit() {
        // DejaVu Sans: "i" is narrow, "M" wide; marks on Vietnamese letters take no room.
        assert!(text_width("iiii", 3.0, false) < text_width("MMMM", 3.0, false) / 2.0);
        assert!((text_width("Nguyễn", 3.0, false) - text_width("Nguyen", 3.0, false)).abs() < 0.05);
        assert!(text_width("Hà", 3.0, true) > text_width("Hà", 3.0, false));
        let cut = fit("Trung tâm Kiểm soát bệnh tật tỉnh Thừa Thiên Huế", 30.0, 3.0, false);
        assert!(cut.ends_with('…') && text_width(&cut, 3.0, false) <= 30.0, "{cut}");
        assert_eq!(fit("Phòng A", 30.0, 3.0, false), "Phòng A");
        assert_eq!(wrap_width("một hai ba bốn năm sáu", 15.0, 3.0, false).len(), 3);
    }

    #[test]
    fn a_long_table_runs_over_pages_with_its_header_on_each() {
        let short = report_svgs(&report(3)).unwrap();
        assert_eq!(short.len(), 1);
        assert!(short[0].contains("Trang 1/1") && short[0].contains("Nguyễn Thị Người 003"));
        let long = report_svgs(&report(120)).unwrap();
        assert!(long.len() >= 3, "{} pages", long.len());
        for (i, page) in long.iter().enumerate() {
            assert!(page.contains(&format!("Trang {}/{}", i + 1, long.len())), "page {i}");
            if i > 0 {
                assert!(page.contains("Chưa quét mã (tiếp)") || page.contains("Lượt quét theo giờ"), "page {i}");
            }
        }
        let all = long.concat();
        for i in 1..=120 {
            assert_eq!(all.matches(&format!("Nguyễn Thị Người {i:03}<")).count(), 1, "row {i} once");
        }
        for page in &long {
            assert_eq!(
                page.contains(">Họ và tên<"),
                page.contains("Nguyễn Thị Người"),
                "a page of rows has the header"
            );
        }
        let empty = report_svgs(&report(0)).unwrap();
        assert!(empty[0].contains(">Không có<") && !empty[0].contains(">Họ và tên<"));
    }

    #[test]
    fn the_report_is_a_pdf_whose_text_reads_back() {
        let pdf = crate::svgs_to_pdf(&report_svgs(&report(60)).unwrap()).unwrap();
        let dir = std::env::temp_dir().join(format!("vaora-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("report.pdf");
        std::fs::write(&file, pdf).unwrap();
        let out = std::process::Command::new("pdftotext")
            .args(["-layout", file.to_str().unwrap(), "-"])
            .output()
            .expect("pdftotext is needed for this test (apt-get install poppler-utils)");
        let text = String::from_utf8_lossy(&out.stdout);
        for line in ["Báo cáo ra vào ngày 27/11/2026", "Thừa Thiên Huế", "Nguyễn Thị Người 060", "Trang 2/2", "(tiếp)"]
        {
            assert!(text.contains(line), "{line:?} missing:\n{text}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
