//! Reference data: Vietnam's administrative units, for address pickers.

use crate::extract::ApiQuery as Query;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vaora_domain::admin_units::{Registry, Scheme};

use crate::error::ApiResult;

/// Which units to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UnitsQuery {
    /// `current` (default) or `legacy`.
    pub scheme: Option<String>,
    /// The parent's code; omit for provinces.
    pub parent: Option<String>,
}

/// One administrative unit.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnitItem {
    /// Official code.
    pub code: String,
    /// Full name.
    pub name: String,
    /// `province`, `district` or `ward`.
    pub level: String,
}

/// The units under a parent (or the provinces).
#[utoipa::path(get, path = "/api/v1/admin-units", tag = "reference", params(UnitsQuery), security(()),
    responses((status = 200, body = Vec<UnitItem>), (status = 422, body = crate::error::ErrorBody)))]
pub async fn list_units(Query(q): Query<UnitsQuery>) -> ApiResult<Json<Vec<UnitItem>>> {
    let scheme = Scheme::parse(q.scheme.as_deref().unwrap_or("current")).map_err(vaora_app::AppError::from)?;
    let units = Registry::get()
        .children(scheme, q.parent.as_deref())
        .into_iter()
        .map(|u| UnitItem {
            code: u.code.clone(),
            name: u.name.clone(),
            level: serde_json::to_value(u.level).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
        })
        .collect();
    Ok(Json(units))
}
