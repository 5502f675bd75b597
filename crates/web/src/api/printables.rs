//! Printables: venue posters (PDF, PNG, SVG) and sheets of printed cards (PDF).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use vaora_app::{Actor, App, AppError};
use vaora_domain::{AgencyId, CheckpointId, UserId};
use vaora_render::{Card, Poster};

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, CurrentActor};

async fn poster_of(app: &App, actor: &Actor, checkpoint: CheckpointId) -> Result<Poster, AppError> {
    let code = app.venue_code(actor, checkpoint).await?;
    let venue = app.resolve_venue(&code.code).await?;
    Ok(Poster {
        agency: venue.agency_name,
        checkpoint: venue.checkpoint.fields.name,
        address: venue.checkpoint.fields.address_street,
        url: code.url,
        reference: format!("Điểm kiểm soát số {} · mã thế hệ {}", checkpoint.0, code.generation),
    })
}

/// Rendering takes tens of milliseconds of CPU: keep it off the async threads.
pub(crate) async fn render<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, vaora_render::RenderError> + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(f).await.map_err(AppError::internal)?.map_err(AppError::internal)
}

fn file(bytes: Vec<u8>, mime: &'static str, name: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, mime.to_owned()),
            (header::CONTENT_DISPOSITION, format!("inline; filename=\"{name}\"")),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

/// A PDF to save and print: its codes exist nowhere else, so it is an attachment never kept by a
/// cache.
pub(crate) fn pdf_attachment(pdf: Vec<u8>, name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        pdf,
    )
        .into_response()
}

/// A checkpoint's A4 poster, `pdf`, `png` (150 dpi) or `svg` (its agency's admins).
#[utoipa::path(get, path = "/api/v1/checkpoints/{id}/poster.{format}", tag = "checkins",
    params(("id" = i64, Path, description = "Checkpoint id"), ("format" = String, Path, description = "pdf, png or svg")),
    responses((status = 200, description = "The poster", content_type = "application/pdf"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn poster(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath((id, format)): ApiPath<(i64, String)>,
) -> ApiResult<Response> {
    let p = poster_of(&s.app, &a, CheckpointId(id)).await?;
    let svg = vaora_render::poster_svg(&p).map_err(AppError::internal)?;
    let name = format!("poster-{id}");
    Ok(match format.as_str() {
        "svg" => file(svg.into_bytes(), "image/svg+xml", format!("{name}.svg")),
        "png" => file(render(move || vaora_render::svg_to_png(&svg, 150.0)).await?, "image/png", format!("{name}.png")),
        "pdf" => {
            file(render(move || vaora_render::svgs_to_pdf(&[svg])).await?, "application/pdf", format!("{name}.pdf"))
        }
        _ => return Err(AppError::not_found("not_found", "posters are pdf, png or svg").into()),
    })
}

/// One PDF with the poster of every active checkpoint of an agency.
#[utoipa::path(get, path = "/api/v1/agencies/{id}/posters.pdf", tag = "checkins", params(("id" = i64, Path, description = "Agency id")),
    responses((status = 200, description = "The posters", content_type = "application/pdf"), (status = 403, body = ErrorBody)))]
pub async fn agency_posters(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let checkpoints = s.app.list_checkpoints(&a, AgencyId(id)).await?;
    let mut pages = Vec::new();
    for cp in checkpoints.into_iter().filter(|c| c.active) {
        pages.push(vaora_render::poster_svg(&poster_of(&s.app, &a, cp.id).await?).map_err(AppError::internal)?);
    }
    if pages.is_empty() {
        return Err(AppError::not_found("no_checkpoints", "the agency has no active checkpoint").into());
    }
    let pdf = render(move || vaora_render::svgs_to_pdf(&pages)).await?;
    Ok(file(pdf, "application/pdf", format!("posters-agency-{id}.pdf")))
}

/// Whose cards to print.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardSheetRequest {
    /// Account ids (1–200); each gets a new card, and their earlier cards are revoked.
    pub people: Vec<i64>,
}

/// Issue printed cards and get them as an A4 PDF, ten cards a page (officers). The codes exist
/// only in this PDF: print it.
#[utoipa::path(post, path = "/api/v1/cards/sheet", tag = "checkins", request_body = CardSheetRequest,
    responses((status = 200, description = "The cards", content_type = "application/pdf"), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn card_sheet(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiJson(r): ApiJson<CardSheetRequest>,
) -> ApiResult<Response> {
    let people: Vec<UserId> = r.people.into_iter().map(UserId).collect();
    let pdf = card_sheet_pdf(&s.app, &a, &people).await?;
    Ok(file(pdf, "application/pdf", "cards.pdf".to_owned()))
}

/// Issues a new card to each person (1–200) and renders them as an A4 PDF, ten a page (the API
/// and the roster page both print through here).
pub(crate) async fn card_sheet_pdf(
    app: &vaora_app::App,
    actor: &vaora_app::Actor,
    people: &[UserId],
) -> Result<Vec<u8>, AppError> {
    if people.is_empty() || people.len() > 200 {
        return Err(AppError::invalid("invalid_card_count", "print 1 to 200 cards at a time"));
    }
    cards_pdf(app.issue_cards(actor, people).await?).await
}

/// Renders cards just issued as an A4 PDF, ten a page.
pub(crate) async fn cards_pdf(issued: Vec<vaora_app::checkins::IssuedCard>) -> Result<Vec<u8>, AppError> {
    let cards: Vec<Card> =
        issued.into_iter().map(|c| Card { initials: c.initials, number: c.number, code: c.code }).collect();
    render(move || vaora_render::card_sheets_svg(&cards).and_then(|pages| vaora_render::svgs_to_pdf(&pages))).await
}
