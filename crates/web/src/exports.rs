//! Exports of statistics as CSV and XLSX that open cleanly in Excel and LibreOffice: Vietnamese text
//! intact (CSV starts with a UTF-8 byte-order mark, which Excel needs to read it as UTF-8), numbers
//! as numbers, and every text cell that a spreadsheet could take for a formula neutralised (one
//! beginning with `=`, `+`, `-`, `@`, a tab or a carriage return: formula injection through
//! exported names hit a real tracing system's health offices).

use rust_xlsxwriter::{Format, Workbook};
use vaora_app::AppError;

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text, neutralised on the way out.
    Text(String),
    /// A whole number.
    Int(i64),
    /// A share, 0 to 1 (shown as a percentage in XLSX).
    Share(f64),
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_owned())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}

impl From<i64> for Cell {
    fn from(n: i64) -> Self {
        Cell::Int(n)
    }
}

impl From<usize> for Cell {
    fn from(n: usize) -> Self {
        Cell::Int(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

/// A table: a sheet of a workbook, or one CSV file.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Its name (the sheet's name; at most 31 characters, no `[]:*?/\`).
    pub name: String,
    /// The header row.
    pub header: Vec<String>,
    /// The rows.
    pub rows: Vec<Vec<Cell>>,
}

/// A time of day in Vietnam, `HH:MM`.
pub fn vn_clock(t: vaora_domain::Timestamp) -> String {
    t.to_utc().with_timezone(&vaora_domain::time::VIETNAM).format("%H:%M").to_string()
}

/// Whether a spreadsheet could read this text as a formula.
pub fn risky(text: &str) -> bool {
    text.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// The text as a CSV cell may carry it: a risky one gets a leading apostrophe, which spreadsheets
/// show as text and never evaluate.
pub fn neutralise(text: &str) -> String {
    if risky(text) { format!("'{text}") } else { text.to_owned() }
}

fn csv_text(cell: &Cell) -> String {
    match cell {
        Cell::Text(t) => neutralise(t),
        Cell::Int(n) => n.to_string(),
        Cell::Share(x) => format!("{x:.4}"),
    }
}

/// A table as CSV (UTF-8 with a byte-order mark, comma-separated, CRLF line ends).
pub fn csv(table: &Table) -> Result<Vec<u8>, AppError> {
    let mut out = Vec::from(&b"\xEF\xBB\xBF"[..]);
    {
        let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(&mut out);
        w.write_record(table.header.iter().map(|h| neutralise(h))).map_err(AppError::internal)?;
        for row in &table.rows {
            w.write_record(row.iter().map(csv_text)).map_err(AppError::internal)?;
        }
        w.flush().map_err(AppError::internal)?;
    }
    Ok(out)
}

/// Tables as an XLSX workbook, one sheet each. Text is written as text cells; a risky one also
/// carries Excel's quote prefix, so that editing the cell does not turn it into a formula.
pub fn xlsx(tables: &[Table]) -> Result<Vec<u8>, AppError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let quoted = Format::new().set_quote_prefix();
    let percent = Format::new().set_num_format("0.0%");
    for table in tables {
        let sheet = book.add_worksheet();
        sheet.set_name(&table.name).map_err(AppError::internal)?;
        for (c, h) in table.header.iter().enumerate() {
            let col = u16::try_from(c).map_err(AppError::internal)?;
            sheet.write_string_with_format(0, col, h, &bold).map_err(AppError::internal)?;
            sheet.set_column_width(col, (h.chars().count() as f64 + 4.0).max(12.0)).map_err(AppError::internal)?;
        }
        for (r, row) in table.rows.iter().enumerate() {
            let r = u32::try_from(r + 1).map_err(AppError::internal)?;
            for (c, cell) in row.iter().enumerate() {
                let c = u16::try_from(c).map_err(AppError::internal)?;
                match cell {
                    Cell::Text(t) if risky(t) => sheet.write_string_with_format(r, c, t, &quoted),
                    Cell::Text(t) => sheet.write_string(r, c, t),
                    Cell::Int(n) => sheet.write_number(r, c, *n as f64),
                    Cell::Share(x) => sheet.write_number_with_format(r, c, *x, &percent),
                }
                .map_err(AppError::internal)?;
            }
        }
        sheet.set_freeze_panes(1, 0).map_err(AppError::internal)?;
    }
    book.save_to_buffer().map_err(AppError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risky_cells_are_neutralised_and_others_kept() {
        for bad in ["=1+1", "+84912", "-Lan", "@SUM(A1)", "\tx", "\rx"] {
            assert!(risky(bad), "{bad:?}");
            assert_eq!(neutralise(bad), format!("'{bad}"));
        }
        for fine in ["Nguyễn Văn An", "1+1", "a=b", "", "'quoted"] {
            assert!(!risky(fine), "{fine:?}");
            assert_eq!(neutralise(fine), fine);
        }
    }

    #[test]
    fn csv_starts_with_a_byte_order_mark_and_quotes_what_needs_it() {
        let t = Table {
            name: "x".into(),
            header: vec!["Họ tên".into(), "Số".into()],
            rows: vec![vec!["=HYPERLINK(\"x\")".into(), 3i64.into()], vec!["Lê, Thị \"Bé\"".into(), Cell::Share(0.5)]],
        };
        let out = String::from_utf8(csv(&t).unwrap()).unwrap();
        assert_eq!(out, "\u{feff}Họ tên,Số\r\n\"'=HYPERLINK(\"\"x\"\")\",3\r\n\"Lê, Thị \"\"Bé\"\"\",0.5000\r\n");
    }
}
