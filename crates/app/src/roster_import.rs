//! Importing a staff roster from a CSV or XLSX file: every row is checked and the errors are
//! reported per row; when any row is bad nothing is imported.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::io::Cursor;

use calamine::{Data, Reader};
use serde::Serialize;
use serde_json::json;
use vaora_domain::{AgencyId, UnitId};

use crate::App;
use crate::auth::Actor;
use crate::error::AppError;
use crate::orgs::{RosterInput, roster_conflict, roster_entry};
use crate::store::NewRosterEntry;

/// The largest file accepted.
pub const MAX_FILE_BYTES: usize = 5 * 1024 * 1024;
/// The most rows accepted in one file.
pub const MAX_ROWS: usize = 10_000;

/// The file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    /// Comma-separated, UTF-8 (a byte-order mark is allowed, as Excel writes it).
    Csv,
    /// An Excel workbook; the first sheet is read.
    Xlsx,
}

/// One problem in one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// The row number as a spreadsheet shows it (the header is row 1).
    pub row: usize,
    /// The column's header, when one column is at fault.
    pub column: Option<String>,
    /// Stable error code.
    pub code: &'static str,
    /// Explanation.
    pub message: String,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportOutcome {
    /// Rows imported.
    pub imported: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Column {
    FullName,
    Phone,
    Cccd,
    Position,
    Unit,
}

fn column_of(header: &str) -> Option<Column> {
    let key: String = deunicode::deunicode(header).to_lowercase().chars().filter(char::is_ascii_alphanumeric).collect();
    match key.as_str() {
        "hovaten" | "hoten" | "ten" | "fullname" | "name" => Some(Column::FullName),
        "sodienthoai" | "dienthoai" | "sdt" | "didong" | "phone" | "mobile" | "phonenumber" => Some(Column::Phone),
        "cccd" | "socccd" | "cancuoc" | "socancuoc" | "cancuoccongdan" | "citizenid" | "idnumber" => Some(Column::Cccd),
        "chucvu" | "position" | "title" => Some(Column::Position),
        "donvi" | "phong" | "phongban" | "unit" | "division" => Some(Column::Unit),
        _ => None,
    }
}

fn cell_text(c: &Data) -> String {
    match c {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        // Spreadsheets turn phone and CCCD numbers into numbers; write them back without decimals.
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Int(i) => i.to_string(),
        other => other.to_string(),
    }
}

/// Restores a leading zero that a spreadsheet dropped from a phone (9 digits) or CCCD (11 digits).
fn restore_zero(s: &str, digits: usize) -> String {
    let t = s.trim();
    if t.len() == digits && t.bytes().all(|b| b.is_ascii_digit()) && !t.starts_with('0') {
        format!("0{t}")
    } else {
        t.to_owned()
    }
}

fn read_rows(bytes: &[u8], format: ImportFormat) -> Result<Vec<Vec<String>>, AppError> {
    let unreadable = |what: &str| AppError::invalid("import_unreadable", format!("the file cannot be read: {what}"));
    match format {
        ImportFormat::Csv => {
            let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
                .map_err(|_| unreadable("a CSV file must be UTF-8"))?;
            let delimiter = if text.lines().next().is_some_and(|l| l.matches(';').count() > l.matches(',').count()) {
                b';'
            } else {
                b','
            };
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .delimiter(delimiter)
                .from_reader(text.as_bytes());
            let mut rows = Vec::new();
            for rec in reader.records() {
                let rec = rec.map_err(|e| unreadable(&e.to_string()))?;
                rows.push(rec.iter().map(str::to_owned).collect());
                if rows.len() > MAX_ROWS + 1 {
                    break;
                }
            }
            Ok(rows)
        }
        ImportFormat::Xlsx => {
            let mut wb: calamine::Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
                .map_err(|e: calamine::XlsxError| unreadable(&e.to_string()))?;
            let range = wb
                .worksheet_range_at(0)
                .ok_or_else(|| unreadable("the workbook has no sheet"))?
                .map_err(|e| unreadable(&e.to_string()))?;
            Ok(range.rows().take(MAX_ROWS + 2).map(|r| r.iter().map(cell_text).collect()).collect())
        }
    }
}

impl App {
    /// Imports a roster file into an agency. Rows name their unit in a `Đơn vị` column, or all go
    /// to `default_unit`. Either every row is imported, or none and the error lists every bad row.
    pub async fn import_roster(
        &self,
        actor: &Actor,
        agency: AgencyId,
        default_unit: Option<UnitId>,
        bytes: &[u8],
        format: ImportFormat,
    ) -> Result<ImportOutcome, AppError> {
        actor.require_agency_admin(agency)?;
        if bytes.len() > MAX_FILE_BYTES {
            return Err(AppError::invalid("import_too_large", "the file is larger than 5 MB"));
        }
        if let Some(u) = default_unit {
            self.unit_of_agency(agency, u).await?;
        }
        let units = self.store.units_of(agency).await?;
        let rows = read_rows(bytes, format)?;
        let Some((header, data)) = rows.split_first() else {
            return Err(AppError::invalid("import_empty", "the file has no rows"));
        };
        if data.len() > MAX_ROWS {
            return Err(AppError::invalid("import_too_many_rows", format!("at most {MAX_ROWS} rows per file")));
        }
        let mut cols: HashMap<Column, usize> = HashMap::new();
        for (i, h) in header.iter().enumerate() {
            if let Some(c) = column_of(h) {
                cols.entry(c).or_insert(i);
            }
        }
        if !cols.contains_key(&Column::FullName)
            || !(cols.contains_key(&Column::Phone) || cols.contains_key(&Column::Cccd))
        {
            return Err(AppError::invalid(
                "import_missing_columns",
                "the first row must name the columns: Họ và tên, and Số điện thoại or CCCD (optionally Chức vụ, Đơn vị)",
            ));
        }
        if !cols.contains_key(&Column::Unit) && default_unit.is_none() {
            return Err(AppError::invalid("import_unit_required", "choose a unit, or add a Đơn vị column"));
        }
        let header_of = |c: Column| cols.get(&c).and_then(|i| header.get(*i)).cloned();
        let get = |row: &[String], c: Column| {
            cols.get(&c).and_then(|i| row.get(*i)).map(|s| s.trim().to_owned()).unwrap_or_default()
        };

        let mut errors = Vec::new();
        let mut accepted: Vec<(UnitId, NewRosterEntry)> = Vec::new();
        let mut seen: HashSet<(UnitId, Vec<u8>)> = HashSet::new();
        let mut existing: HashMap<UnitId, HashSet<Vec<u8>>> = HashMap::new();
        for (i, row) in data.iter().enumerate() {
            let row_no = i + 2;
            if row.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            let unit = match get(row, Column::Unit) {
                name if !name.is_empty() => {
                    let key = deunicode::deunicode(&name).to_lowercase();
                    match units.iter().find(|u| deunicode::deunicode(&u.name).to_lowercase() == key) {
                        Some(u) => u.id,
                        None => {
                            errors.push(RowError {
                                row: row_no,
                                column: header_of(Column::Unit),
                                code: "unit_not_found",
                                message: format!("the agency has no unit named {name}"),
                            });
                            continue;
                        }
                    }
                }
                _ => match default_unit {
                    Some(u) => u,
                    None => {
                        errors.push(RowError {
                            row: row_no,
                            column: header_of(Column::Unit),
                            code: "import_unit_required",
                            message: "this row names no unit".into(),
                        });
                        continue;
                    }
                },
            };
            let input = RosterInput {
                full_name: get(row, Column::FullName),
                position: get(row, Column::Position),
                phone: Some(restore_zero(&get(row, Column::Phone), 9)),
                cccd: Some(restore_zero(&get(row, Column::Cccd), 11)),
            };
            let entry = match roster_entry(self, &input) {
                Ok(e) => e,
                Err(e) => {
                    let column = match e.code {
                        "invalid_name" => header_of(Column::FullName),
                        "invalid_phone" => header_of(Column::Phone),
                        c if c.starts_with("cccd") => header_of(Column::Cccd),
                        "invalid_position" => header_of(Column::Position),
                        _ => None,
                    };
                    errors.push(RowError { row: row_no, column, code: e.code, message: e.message });
                    continue;
                }
            };
            let on_roster = match existing.entry(unit) {
                Entry::Occupied(o) => o.into_mut(),
                Entry::Vacant(v) => {
                    let mut set: HashSet<Vec<u8>> =
                        self.store.roster_hashes_in_unit(unit, "phone").await?.into_iter().collect();
                    set.extend(self.store.roster_hashes_in_unit(unit, "cccd").await?);
                    v.insert(set)
                }
            };
            let mut duplicate = None;
            for (hash, code, col) in [
                (&entry.phone_hash, "roster_duplicate_phone", Column::Phone),
                (&entry.cccd_hash, "roster_duplicate_cccd", Column::Cccd),
            ] {
                if let Some(h) = hash
                    && (on_roster.contains(h) || !seen.insert((unit, h.clone())))
                {
                    duplicate = Some((code, col));
                }
            }
            if let Some((code, col)) = duplicate {
                errors.push(RowError {
                    row: row_no,
                    column: header_of(col),
                    code,
                    message: "this person is already on the unit's roster, or twice in the file".into(),
                });
                continue;
            }
            accepted.push((unit, entry));
        }
        if !errors.is_empty() {
            return Err(AppError::invalid(
                "import_rows_invalid",
                format!("{} rows have errors; nothing was imported", errors.len()),
            )
            .with_details(json!({ "rows": errors })));
        }
        if accepted.is_empty() {
            return Err(AppError::invalid("import_empty", "the file has no rows"));
        }
        let total = accepted.len();
        let mut audit = self.audit(Some(actor), &actor.meta, "roster_imported", "agency");
        audit.target_id = Some(agency.to_string());
        audit.details = json!({ "rows": total });
        self.store.add_roster_entries(accepted, self.now(), audit).await.map_err(roster_conflict)?;
        Ok(ImportOutcome { imported: total })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_in_either_language() {
        assert_eq!(column_of("Họ và tên"), Some(Column::FullName));
        assert_eq!(column_of("SỐ ĐIỆN THOẠI"), Some(Column::Phone));
        assert_eq!(column_of("Số CCCD"), Some(Column::Cccd));
        assert_eq!(column_of("Đơn vị"), Some(Column::Unit));
        assert_eq!(column_of("full_name"), Some(Column::FullName));
        assert_eq!(column_of("Ghi chú"), None);
    }

    #[test]
    fn leading_zeros_come_back() {
        assert_eq!(restore_zero("912345678", 9), "0912345678");
        assert_eq!(restore_zero("46085001234", 11), "046085001234");
        assert_eq!(restore_zero("0912345678", 9), "0912345678");
        assert_eq!(cell_text(&Data::Float(912345678.0)), "912345678");
    }

    #[test]
    fn csv_with_bom_and_semicolons() {
        let rows =
            read_rows("\u{feff}Họ và tên;Số điện thoại\nNguyễn Văn An;0912345678\n".as_bytes(), ImportFormat::Csv)
                .unwrap();
        assert_eq!(rows, vec![vec!["Họ và tên", "Số điện thoại"], vec!["Nguyễn Văn An", "0912345678"]]);
        assert_eq!(read_rows(b"\xff\xfe", ImportFormat::Csv).unwrap_err().code, "import_unreadable");
        assert_eq!(read_rows(b"not a zip", ImportFormat::Xlsx).unwrap_err().code, "import_unreadable");
    }
}
