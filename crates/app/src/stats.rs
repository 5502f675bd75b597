//! Agency statistics: for one agency and one day (Vietnam time), who of its staff checked in and
//! when, who is missing, who came late, how many visitors came, whether staff had a valid health
//! declaration when they arrived, and how many scans each checkpoint made each hour. Staff
//! check-in is a mandatory criterion of the agency's epidemic-safety rating.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, NaiveTime, Timelike};
use serde::Serialize;
use serde_json::json;
use vaora_domain::time::VIETNAM;
use vaora_domain::{AgencyId, CheckpointId, RosterEntryId, Timestamp, UnitId, UserId};

use crate::App;
use crate::auth::Actor;
use crate::error::AppError;
use crate::store::{DayScan, RosterDayLine};

/// When a working day starts if the agency has not said (07:30).
pub const DEFAULT_WORK_START_MINUTE: i64 = 7 * 60 + 30;

/// A staff member who checked in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Arrival {
    /// Their roster entry (the first, if they are on several units' rosters).
    pub entry_id: RosterEntryId,
    /// Name on the roster.
    pub full_name: String,
    /// Their units.
    pub units: Vec<UnitId>,
    /// Their first scan of the day at any of the agency's checkpoints.
    pub first_scan_at: Timestamp,
    /// Where.
    pub checkpoint_id: CheckpointId,
    /// After the working day's start.
    pub late: bool,
    /// With a valid health declaration at that first scan.
    pub declared: bool,
}

/// A roster entry with no check-in that day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Absence {
    /// The roster entry.
    pub entry_id: RosterEntryId,
    /// Name on the roster.
    pub full_name: String,
    /// Position.
    pub position: String,
    /// Whether they have an account at all (without one they cannot check in).
    pub has_account: bool,
}

/// One unit's day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitDay {
    /// The unit.
    pub unit_id: UnitId,
    /// Its name.
    pub name: String,
    /// People on its roster.
    pub roster: usize,
    /// Of those, who checked in.
    pub present: usize,
    /// `present / roster` (0 for an empty roster).
    pub compliance: f64,
    /// Of those present, who arrived after the start.
    pub late: usize,
    /// Of those present, who had a valid declaration when they arrived.
    pub declared: usize,
    /// Who did not check in.
    pub missing: Vec<Absence>,
}

/// One checkpoint's scans per hour of the day (index 0 is 00:00–01:00 Vietnam time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckpointHours {
    /// The checkpoint.
    pub checkpoint_id: CheckpointId,
    /// Its name.
    pub name: String,
    /// 24 counts, refused scans included.
    pub scans: Vec<i64>,
}

/// An agency's day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgencyDay {
    /// The agency.
    pub agency_id: AgencyId,
    /// The day (Vietnam time).
    pub date: NaiveDate,
    /// When the working day starts, `HH:MM`.
    pub work_starts: String,
    /// People on the agency's rosters (someone on two units' rosters counts once).
    pub roster: usize,
    /// Of those, who checked in at any of its checkpoints.
    pub present: usize,
    /// `present / roster`.
    pub compliance: f64,
    /// Of those present, who arrived after the start.
    pub late: usize,
    /// Of those present, who had a valid declaration when they arrived.
    pub declared: usize,
    /// People not on any of its rosters who checked in (visitors).
    pub visitors: usize,
    /// Every scan, refused ones included.
    pub scans: i64,
    /// Per unit.
    pub units: Vec<UnitDay>,
    /// The staff who checked in, by arrival.
    pub arrivals: Vec<Arrival>,
    /// Scans per hour per checkpoint.
    pub hours: Vec<CheckpointHours>,
}

/// An agency in the province's ranking: counts only, never a name of a person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgencyRank {
    /// The agency.
    pub agency_id: AgencyId,
    /// Its name.
    pub name: String,
    /// People on its rosters.
    pub roster: i64,
    /// Staff arrivals over the range (one per person per day).
    pub staff_days: i64,
    /// `staff_days / (roster × days)`.
    pub compliance: f64,
    /// Visitor arrivals over the range.
    pub visitors: i64,
    /// Late staff arrivals.
    pub late: i64,
    /// Staff arrivals with a valid declaration.
    pub declared: i64,
}

/// The province's ranking of agencies by compliance over a range of days.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProvinceRanking {
    /// First day.
    pub from: NaiveDate,
    /// Last day (included).
    pub to: NaiveDate,
    /// How many days.
    pub days: i64,
    /// Every agency, best compliance first (ties by name).
    pub agencies: Vec<AgencyRank>,
}

/// One day of an agency's trend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendDay {
    /// The day.
    pub date: NaiveDate,
    /// People on the rosters (today's rosters).
    pub roster: i64,
    /// Staff who arrived.
    pub present: i64,
    /// `present / roster`.
    pub compliance: f64,
    /// Staff who came late.
    pub late: i64,
    /// Staff who had declared.
    pub declared: i64,
    /// Visitors.
    pub visitors: i64,
}

/// A unit's days over a range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitTrend {
    /// The unit.
    pub unit_id: UnitId,
    /// Its name.
    pub name: String,
    /// Lines on its roster (today's roster).
    pub roster: i64,
    /// Per day of the range, in order: staff of the unit who arrived.
    pub present: Vec<i64>,
    /// Per day: `present / roster`.
    pub compliance: Vec<f64>,
}

/// The most days a range may cover (the retention period is shorter still).
pub const MAX_RANGE_DAYS: i64 = 366;

/// The instant a Vietnam-time date starts.
pub fn day_start(date: NaiveDate) -> Timestamp {
    let local = date.and_time(NaiveTime::MIN).and_local_timezone(VIETNAM).single();
    Timestamp(local.map(|t| t.timestamp_millis()).unwrap_or_default())
}

/// From when (Unix milliseconds) an arrival on `day` (days since 1970-01-01, Vietnam time) is late,
/// for a working day starting `start` minutes after midnight: an arrival within the start minute
/// is on time.
pub fn late_from(day: i32, start: i64) -> i64 {
    i64::from(day) * 86_400_000 - 7 * 3_600_000 + (start + 1) * 60_000
}

/// Who a roster line is: their account, or the line itself for someone without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Person {
    Account(UserId),
    Entry(RosterEntryId),
}

/// `HH:MM` for minutes after midnight.
pub fn clock(minute: i64) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// Parses `HH:MM` into minutes after midnight.
pub fn parse_clock(s: &str) -> Result<i64, AppError> {
    let t = NaiveTime::parse_from_str(s.trim(), "%H:%M")
        .map_err(|_| AppError::invalid("invalid_work_start", "a working day starts at a time written HH:MM"))?;
    Ok(i64::from(t.hour()) * 60 + i64::from(t.minute()))
}

fn rate(part: usize, whole: usize) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 / whole as f64 }
}

fn share(part: i64, whole: i64) -> f64 {
    if whole <= 0 { 0.0 } else { part as f64 / whole as f64 }
}

impl App {
    /// When the agency's working day starts, in minutes after midnight.
    pub async fn work_start(&self, actor: &Actor, agency: AgencyId) -> Result<i64, AppError> {
        actor.require_agency_admin(agency)?;
        Ok(self.store.work_start(agency).await?.unwrap_or(DEFAULT_WORK_START_MINUTE))
    }

    /// Sets when the agency's working day starts (`HH:MM`), against which late arrivals count.
    pub async fn set_work_start(&self, actor: &Actor, agency: AgencyId, time: &str) -> Result<i64, AppError> {
        actor.require_agency_admin(agency)?;
        let minute = parse_clock(time)?;
        self.store.agency(agency).await?.ok_or_else(|| AppError::not_found("agency_not_found", "no such agency"))?;
        let mut audit = self.audit(Some(actor), &actor.meta, "work_start_changed", "agency");
        audit.target_id = Some(agency.to_string());
        audit.details = json!({ "work_starts": clock(minute) });
        self.store.set_work_start(agency, minute, audit).await?;
        Ok(minute)
    }

    /// An agency's day (its admins and the province's; audited, since it names people).
    pub async fn agency_day(&self, actor: &Actor, agency: AgencyId, date: NaiveDate) -> Result<AgencyDay, AppError> {
        actor.require_agency_admin(agency)?;
        self.store.agency(agency).await?.ok_or_else(|| AppError::not_found("agency_not_found", "no such agency"))?;
        let today = self.now().vietnam_date();
        if date > today {
            return Err(AppError::invalid("stats_date_in_future", "there are no statistics for a day to come"));
        }
        if (today - date).num_days() > self.settings.retention_days {
            return Err(AppError::invalid("stats_date_too_old", "that day is past the retention period"));
        }
        let from = day_start(date);
        let to = day_start(date + chrono::Days::new(1));
        let start_minute = self.store.work_start(agency).await?.unwrap_or(DEFAULT_WORK_START_MINUTE);
        let late_from = Timestamp(late_from(vaora_domain::time::date_day(date), start_minute));

        // The view is audited whether or not the reads then succeed; the audit's durable write
        // and the reads overlap.
        let mut audit = self.audit(Some(actor), &actor.meta, "agency_day_viewed", "agency");
        audit.target_id = Some(agency.to_string());
        audit.details = json!({ "date": date.to_string() });
        let (units, day, checkpoints, hours, ()) = tokio::try_join!(
            self.store.units_of(agency),
            self.store.roster_day(agency, vaora_domain::time::date_day(date)),
            self.store.checkpoints_of(agency),
            self.store.scans_per_hour(agency, from, to),
            self.store.append_audit(audit),
        )?;
        let roster = day.lines;

        // A person on several rosters is one person: by account, or by entry when they have none.
        let mut people: HashMap<Person, Vec<usize>> = HashMap::with_capacity(roster.len());
        for (i, e) in roster.iter().enumerate() {
            let key = match e.line.user_id {
                Some(u) => Person::Account(u),
                None => Person::Entry(e.line.id),
            };
            people.entry(key).or_default().push(i);
        }
        let mut arrivals: Vec<Arrival> = Vec::new();
        for entries in people.values_mut() {
            // A person's lines in name order, as the report lists them.
            entries.sort_by(|a, b| {
                let (a, b) = (&roster[*a].line, &roster[*b].line);
                a.full_name.cmp(&b.full_name).then(a.id.0.cmp(&b.id.0))
            });
            let e = &roster[entries[0]];
            let Some(scan) = &e.arrival else { continue };
            arrivals.push(Arrival {
                entry_id: e.line.id,
                full_name: e.line.full_name.clone(),
                units: entries.iter().map(|i| roster[*i].line.unit_id).collect(),
                first_scan_at: scan.scanned_at,
                checkpoint_id: scan.checkpoint_id,
                late: scan.scanned_at >= late_from,
                declared: scan.declared,
            });
        }
        arrivals.sort_by_key(|a| (a.first_scan_at, a.entry_id.0));

        let mut by_unit: HashMap<UnitId, Vec<&RosterDayLine>> = HashMap::with_capacity(units.len());
        for e in &roster {
            by_unit.entry(e.line.unit_id).or_default().push(e);
        }
        let unit_days = units
            .iter()
            .map(|u| {
                let mine = by_unit.get(&u.id).map(Vec::as_slice).unwrap_or_default();
                let present: Vec<&DayScan> = mine.iter().filter_map(|e| e.arrival.as_ref()).collect();
                let mut missing: Vec<Absence> = mine
                    .iter()
                    .filter(|e| e.arrival.is_none())
                    .map(|e| Absence {
                        entry_id: e.line.id,
                        full_name: e.line.full_name.clone(),
                        position: e.line.position.clone(),
                        has_account: e.line.user_id.is_some(),
                    })
                    .collect();
                missing.sort_by(|a, b| a.full_name.cmp(&b.full_name).then(a.entry_id.0.cmp(&b.entry_id.0)));
                UnitDay {
                    unit_id: u.id,
                    name: u.name.clone(),
                    roster: mine.len(),
                    present: present.len(),
                    compliance: rate(present.len(), mine.len()),
                    late: present.iter().filter(|s| s.scanned_at >= late_from).count(),
                    declared: present.iter().filter(|s| s.declared).count(),
                    missing,
                }
            })
            .collect();

        let names: HashMap<CheckpointId, String> = checkpoints.iter().map(|c| (c.id, c.fields.name.clone())).collect();
        let mut per_checkpoint: BTreeMap<CheckpointId, Vec<i64>> =
            checkpoints.iter().map(|c| (c.id, vec![0; 24])).collect();
        let mut total = 0;
        for h in hours {
            let index = usize::try_from((h.hour.millis() - from.millis()) / 3_600_000).unwrap_or(0).min(23);
            per_checkpoint.entry(h.checkpoint_id).or_insert_with(|| vec![0; 24])[index] += h.scans;
            total += h.scans;
        }

        let present = arrivals.len();
        let result = AgencyDay {
            agency_id: agency,
            date,
            work_starts: clock(start_minute),
            roster: people.len(),
            present,
            compliance: rate(present, people.len()),
            late: arrivals.iter().filter(|a| a.late).count(),
            declared: arrivals.iter().filter(|a| a.declared).count(),
            // Everyone who arrived, less the staff among them.
            visitors: usize::try_from(day.arrivals).unwrap_or(0).saturating_sub(present),
            scans: total,
            units: unit_days,
            hours: per_checkpoint
                .into_iter()
                .map(|(id, scans)| CheckpointHours {
                    checkpoint_id: id,
                    name: names.get(&id).cloned().unwrap_or_default(),
                    scans,
                })
                .collect(),
            arrivals,
        };
        Ok(result)
    }

    /// Records that an agency's day left vaora as a file (its admins; audited as
    /// `stats_exported`, with the format and the table).
    pub async fn record_stats_export(
        &self,
        actor: &Actor,
        agency: AgencyId,
        date: NaiveDate,
        format: &str,
        table: &str,
    ) -> Result<(), AppError> {
        actor.require_agency_admin(agency)?;
        let mut audit = self.audit(Some(actor), &actor.meta, "stats_exported", "agency");
        audit.target_id = Some(agency.to_string());
        audit.details = json!({ "date": date.to_string(), "format": format, "table": table });
        self.store.append_audit(audit).await?;
        Ok(())
    }

    /// Checks a range of days: in order, not in the future, within the retention period.
    fn check_range(&self, from: NaiveDate, to: NaiveDate) -> Result<i64, AppError> {
        let today = self.now().vietnam_date();
        if from > to {
            return Err(AppError::invalid("invalid_range", "the range ends before it starts"));
        }
        if to > today {
            return Err(AppError::invalid("stats_date_in_future", "there are no statistics for a day to come"));
        }
        if (today - from).num_days() > self.settings.retention_days {
            return Err(AppError::invalid("stats_date_too_old", "that day is past the retention period"));
        }
        let days = (to - from).num_days() + 1;
        if days > MAX_RANGE_DAYS {
            return Err(AppError::invalid("invalid_range", "a range covers at most a year"));
        }
        Ok(days)
    }

    /// All agencies ranked by staff compliance over `from..=to` (province admins). Counts only:
    /// no person's name leaves their agency's view.
    pub async fn province_ranking(
        &self,
        actor: &Actor,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<ProvinceRanking, AppError> {
        actor.require_province_admin()?;
        let days = self.check_range(from, to)?;
        let totals =
            self.store.agency_totals(vaora_domain::time::date_day(from), vaora_domain::time::date_day(to)).await?;
        let mut agencies: Vec<AgencyRank> = totals
            .into_iter()
            .map(|t| AgencyRank {
                compliance: share(t.staff_days, t.people * days),
                agency_id: t.agency_id,
                name: t.name,
                roster: t.people,
                staff_days: t.staff_days,
                visitors: t.visitors,
                late: t.late,
                declared: t.declared,
            })
            .collect();
        agencies.sort_by(|a, b| b.compliance.total_cmp(&a.compliance).then_with(|| a.name.cmp(&b.name)));
        Ok(ProvinceRanking { from, to, days, agencies })
    }

    /// An agency's days over `from..=to`, one entry per day (its admins and the province's).
    pub async fn agency_trend(
        &self,
        actor: &Actor,
        agency: AgencyId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<TrendDay>, AppError> {
        actor.require_agency_admin(agency)?;
        self.check_range(from, to)?;
        let (first, last) = (vaora_domain::time::date_day(from), vaora_domain::time::date_day(to));
        let roster = self.store.roster_people(agency).await?;
        let counted: HashMap<i32, crate::store::DayTotals> =
            self.store.agency_day_totals(agency, first, last).await?.into_iter().map(|d| (d.day, d)).collect();
        Ok((first..=last)
            .map(|day| {
                let d = counted.get(&day);
                let present = d.map_or(0, |d| d.staff);
                TrendDay {
                    date: vaora_domain::time::day_date(day),
                    roster,
                    present,
                    compliance: share(present, roster),
                    late: d.map_or(0, |d| d.late),
                    declared: d.map_or(0, |d| d.declared),
                    visitors: d.map_or(0, |d| d.visitors),
                }
            })
            .collect())
    }

    /// Each of an agency's units over `from..=to`: its staff who arrived each day, and the share
    /// of its roster they are (its admins and the province's). A unit's day here is the unit's
    /// line in the agency's day.
    pub async fn unit_trend(
        &self,
        actor: &Actor,
        agency: AgencyId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<UnitTrend>, AppError> {
        actor.require_agency_admin(agency)?;
        self.check_range(from, to)?;
        let (first, last) = (vaora_domain::time::date_day(from), vaora_domain::time::date_day(to));
        let names: HashMap<UnitId, String> =
            self.store.units_of(agency).await?.into_iter().map(|u| (u.id, u.name)).collect();
        let mut trends: Vec<UnitTrend> = self
            .store
            .unit_days(agency, first, last)
            .await?
            .into_iter()
            .map(|u| {
                let counted: HashMap<i32, i64> = u.present.into_iter().collect();
                let present: Vec<i64> = (first..=last).map(|d| counted.get(&d).copied().unwrap_or(0)).collect();
                UnitTrend {
                    unit_id: u.unit_id,
                    name: names.get(&u.unit_id).cloned().unwrap_or_default(),
                    roster: u.roster,
                    compliance: present.iter().map(|p| share(*p, u.roster)).collect(),
                    present,
                }
            })
            .collect();
        trends.sort_by(|a, b| a.name.cmp(&b.name).then(a.unit_id.0.cmp(&b.unit_id.0)));
        Ok(trends)
    }

    /// Active checkpoints with no scan today (Vietnam time): an unused checkpoint is a risk
    /// (province admins).
    pub async fn idle_checkpoints(&self, actor: &Actor) -> Result<Vec<crate::store::IdleCheckpoint>, AppError> {
        actor.require_province_admin()?;
        Ok(self.store.idle_checkpoints(day_start(self.now().vietnam_date())).await?)
    }

    /// Scans per hour across the province on a day: 24 counts from 00:00 Vietnam time (province
    /// admins).
    pub async fn province_hours(&self, actor: &Actor, date: NaiveDate) -> Result<Vec<i64>, AppError> {
        actor.require_province_admin()?;
        self.check_range(date, date)?;
        let from = day_start(date);
        let mut hours = vec![0; 24];
        for (hour, n) in self.store.province_hours(from, day_start(date + chrono::Days::new(1))).await? {
            let i = usize::try_from((hour.millis() - from.millis()) / 3_600_000).unwrap_or(0).min(23);
            hours[i] += n;
        }
        Ok(hours)
    }

    /// Records that the province's statistics left vaora as a file (province admins; audited as
    /// `stats_exported`).
    pub async fn record_province_export(
        &self,
        actor: &Actor,
        from: NaiveDate,
        to: NaiveDate,
        format: &str,
        table: &str,
    ) -> Result<(), AppError> {
        actor.require_province_admin()?;
        let mut audit = self.audit(Some(actor), &actor.meta, "stats_exported", "province");
        audit.details = json!({ "from": from.to_string(), "to": to.to_string(), "format": format, "table": table });
        self.store.append_audit(audit).await?;
        Ok(())
    }
}
