//! `/import` (admins): choose a CSV or JSON file, see what it holds (each
//! rejected row with its reason), confirm, follow the import's progress, and
//! read what it did. Uploading is a plain form post; the server holds the
//! file (`?upload=` names it) and writes it in the background, so leaving the
//! page does not stop an import. With JavaScript the progress updates by
//! itself; without, a link shows it again.

use super::{error_fallback, thousands, ErrorNotice, FormPage};
use crate::api::{import_report, DiscardImport, StartImport};
use crate::bundle::PreloadIsland;
use crate::domain::{Customer, ImportReport, ImportStage, RowProblem, ROWS_SHOWN};
use crate::island_prop::IslandProp;
use crate::url::with_query;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;
#[cfg(feature = "hydrate")]
use std::time::Duration;

/// How often a running import's progress is asked for (with JavaScript).
#[cfg(feature = "hydrate")]
const PROGRESS_EVERY: Duration = Duration::from_millis(400);

#[component]
pub fn ImportCustomers() -> impl IntoView {
    let query = use_query_map();
    let upload = Memo::new(move |_| query.read().get("upload").filter(|u| !u.is_empty()));
    view! {
        <Title text="Import customers"/>
        <h1>"Import customers"</h1>
        {move || match upload.get() {
            None => view! { <ChooseFile/> }.into_any(),
            Some(token) => view! { <Upload token/> }.into_any(),
        }}
    }
}

/// The file form: a plain multipart post to the server (see `server/src/http/upload.rs`).
#[component]
fn ChooseFile() -> impl IntoView {
    view! {
        <form class="import-file" method="post" action="/import/upload" enctype="multipart/form-data">
            <p>
                "A CSV file with the header " <code>"customerID,firstName,lastName"</code>
                " (UTF-8, as spreadsheets save it), or a JSON file like the download of every customer. "
                "Nothing is written until you have seen what the file holds and confirmed."
            </p>
            <label for="import-file">"File to import"</label>
            <input id="import-file" type="file" name="file" required
                accept=".csv,.json,text/csv,application/json"/>
            <div class="form-actions">
                <button type="submit" class="button primary">"Check the file"</button>
                <A href="/" attr:class="button">"Cancel"</A>
            </div>
        </form>
        <PreloadIsland island="escape_goes_to"/>
        <super::EscapeGoesTo href="/".to_owned()/>
    }
}

/// One upload: its preview, its progress or its summary.
#[component]
fn Upload(token: String) -> impl IntoView {
    let start = ServerAction::<StartImport>::new();
    let discard = ServerAction::<DiscardImport>::new();
    let report = {
        let token = token.clone();
        Resource::new(
            move || start.version().get(),
            move |_| import_report(token.clone()),
        )
    };
    let failure = move || {
        (start.value().get().and_then(Result::err))
            .or_else(|| discard.value().get().and_then(Result::err))
    };
    view! {
        {move || failure().map(|error| view! { <ErrorNotice error/> })}
        <Transition fallback=|| view! { <p class="loading">"Loading the upload…"</p> }>
            <ErrorBoundary fallback=|errors| view! {
                {error_fallback(errors)}
                <p><a href="/import" class="button primary">"Choose a file"</a></p>
            }>
                {move || {
                    let token = token.clone();
                    Suspend::new(async move {
                        report.await.map(|report| match report.stage.clone() {
                            ImportStage::Ready => view! {
                                <Preview report token start discard/>
                            }.into_any(),
                            ImportStage::Running => view! {
                                <PreloadIsland island="progress"/>
                                <Progress report=report.into() token/>
                            }.into_any(),
                            ImportStage::Finished => view! {
                                <Summary report stopped=None/>
                            }.into_any(),
                            ImportStage::Stopped(reason) => view! {
                                <Summary report stopped=Some(reason)/>
                            }.into_any(),
                        })
                    })
                }}
            </ErrorBoundary>
        </Transition>
    }
}

/// What the file holds, before anything is written.
#[component]
fn Preview(
    report: ImportReport,
    token: String,
    start: ServerAction<StartImport>,
    discard: ServerAction<DiscardImport>,
) -> impl IntoView {
    let pending = start.pending();
    let valid = report.valid;
    let read = format!(
        "{}: {} {} read, {} ready to import, {} rejected.",
        report.file_name,
        thousands(report.rows),
        plural(report.rows, "row", "rows"),
        thousands(report.valid),
        thousands(report.rejected),
    );
    let import_button = move || match pending.get() {
        true => "Starting…".to_owned(),
        false => format!(
            "Import {} {}",
            thousands(valid),
            plural(valid, "customer", "customers")
        ),
    };
    let confirm = (valid > 0).then({
        let token = token.clone();
        move || {
            view! {
                <ActionForm action=start attr:class="start-import">
                    <FormPage/>
                    <input type="hidden" name="upload" value=token.clone()/>
                    <button type="submit" class="button primary" disabled=move || pending.get()>
                        {import_button}
                    </button>
                </ActionForm>
            }
        }
    });
    let nothing = (valid == 0).then(|| {
        view! { <p class="notice warning" role="status">"Nothing in this file can be imported."</p> }
    });
    view! {
        <p class="import-read" role="status">{read}</p>
        <SampleRows customers=report.sample total=valid/>
        <Problems caption="Rejected rows" rows=report.rejected_rows total=report.rejected/>
        {nothing}
        <p class="hint">
            "A row equal to the stored customer is left unchanged. A customer someone else "
            "changes while the import runs keeps their change, and is listed afterwards."
        </p>
        <div class="form-actions">
            {confirm}
            <ActionForm action=discard attr:class="discard-import">
                <FormPage/>
                <input type="hidden" name="upload" value=token/>
                <button type="submit" class="button">"Choose another file"</button>
            </ActionForm>
        </div>
    }
}

/// A running import: how far it is. With JavaScript the bar moves by itself,
/// and the page is loaded again once the import is over, to show its summary.
/// Lazy, like every island but the list's and the theme switch's.
#[island(lazy)]
fn Progress(report: IslandProp<ImportReport>, token: String) -> impl IntoView {
    let report = RwSignal::new(report.into_inner());
    #[cfg(feature = "hydrate")]
    follow_progress(token.clone(), report);
    let percent = move || report.with(|r| (r.done * 100).checked_div(r.valid).unwrap_or(100));
    let text = move || {
        report.with(|r| {
            format!(
                "{} of {} rows written or checked ({}%)",
                thousands(r.done),
                thousands(r.valid),
                percent()
            )
        })
    };
    view! {
        <p>{format!("Importing {}…", report.with_untracked(|r| r.file_name.clone()))}</p>
        <progress class="import-progress" max=move || report.with(|r| r.valid)
            value=move || report.with(|r| r.done)
            aria-label="Import progress">{move || format!("{}%", percent())}</progress>
        <p class="import-done">{text}</p>
        <p class="hint">
            "The import goes on if you leave this page. "
            <a href=with_query("/import", &[("upload", Some(&token))])>"Show the progress again"</a>
        </p>
    }
}

/// Asks for the import's progress every [`PROGRESS_EVERY`] while it runs,
/// then loads the page again.
#[cfg(feature = "hydrate")]
fn follow_progress(token: String, report: RwSignal<ImportReport>) {
    set_timeout(
        move || {
            leptos::task::spawn_local(async move {
                match import_report(token.clone()).await {
                    Ok(now) if now.is_running() => {
                        report.set(now);
                        follow_progress(token, report);
                    }
                    Ok(_) => {
                        let _ = window().location().reload();
                    }
                    // Asked again: the server may be restarting, the import goes on.
                    Err(_) => follow_progress(token, report),
                }
            });
        },
        PROGRESS_EVERY,
    );
}

/// What a finished (or stopped) import did.
#[component]
fn Summary(report: ImportReport, stopped: Option<String>) -> impl IntoView {
    let heading = match &stopped {
        None => format!("Imported {} in {:.1} s.", report.file_name, report.seconds),
        Some(_) => format!("The import of {} stopped.", report.file_name),
    };
    let counts = [
        ("Created", report.created),
        ("Updated", report.updated),
        ("Unchanged", report.unchanged),
        ("Rejected", report.rejected),
        ("Kept as someone else changed them", report.conflicts),
    ];
    let not_tried = report.valid - report.done;
    view! {
        <p class="notice" class:success=stopped.is_none() class:warning=stopped.is_some() role="status">{heading}</p>
        {stopped.map(|reason| view! { <p class="notice error" role="alert">{reason}</p> })}
        <dl class="import-summary">
            {counts.into_iter().map(|(what, n)| view! { <dt>{what}</dt><dd>{thousands(n)}</dd> }).collect_view()}
            {(not_tried > 0).then(|| view! { <dt>"Not written"</dt><dd>{thousands(not_tried)}</dd> })}
        </dl>
        <Problems caption="Rejected rows" rows=report.rejected_rows total=report.rejected/>
        <Problems caption="Kept as someone else changed them" rows=report.conflict_rows total=report.conflicts/>
        <p>
            <A href="/" attr:class="button primary">"Back to the customers"</A>
            " "
            <a href="/import" class="button">"Import another file"</a>
        </p>
    }
}

/// The first valid rows of the file.
#[component]
fn SampleRows(customers: Vec<Customer>, total: u64) -> impl IntoView {
    (!customers.is_empty()).then(|| {
        let caption = format!("First {} of the {} rows to import", customers.len(), thousands(total));
        let rows = customers
            .into_iter()
            .map(|c| view! { <tr><td class="id">{c.id}</td><td>{c.first_name}</td><td>{c.last_name}</td></tr> })
            .collect_view();
        view! {
            <table class="import-rows">
                <caption>{caption}</caption>
                <thead><tr><th scope="col">"ID"</th><th scope="col">"First name"</th><th scope="col">"Last name"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
    })
}

/// Rows not imported, with why: the first [`ROWS_SHOWN`] of `total`.
#[component]
fn Problems(caption: &'static str, rows: Vec<RowProblem>, total: u64) -> impl IntoView {
    (total > 0).then(|| {
        let caption = match total as usize > ROWS_SHOWN {
            true => format!("{caption}: the first {} of {}", rows.len(), thousands(total)),
            false => format!("{caption}: {}", thousands(total)),
        };
        let rows = rows
            .into_iter()
            .map(|p| view! { <tr><td>{p.row}</td><td class="id">{p.id}</td><td>{p.reason}</td></tr> })
            .collect_view();
        view! {
            <table class="import-problems">
                <caption>{caption}</caption>
                <thead><tr><th scope="col">"Row"</th><th scope="col">"ID"</th><th scope="col">"Why"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
    })
}

fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}
