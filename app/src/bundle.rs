//! The links and the start-up script of the browser bundle (`/pkg/`), in the
//! page's `<head>`.
//!
//! The build names each file with a hash of its content (cargo-leptos
//! `hash-files`, listed in `hash.txt` beside the server binary), so the files
//! can be cached for good. The names are read once: Leptos's own
//! `HydrationScripts` reads `hash.txt` from disk on every page, which cost
//! about a tenth of rendering the customers page.

use leptos::prelude::*;

/// The bundle's URLs.
struct Bundle {
    css: String,
    js: String,
    wasm: String,
    lazy: LazyChunks,
}

/// Where the lazy islands' code is (see [`BundleScripts`]): the chunks
/// `cargo leptos build --split` names for each island in the site's
/// `__wasm_split_manifest.*.json`, and the script that loads them.
#[derive(Default)]
struct LazyChunks {
    loader: Option<String>,
    /// Each island's loader (`customer_form_loader_<n>`) and its chunks' URLs.
    chunks: Vec<(String, Vec<String>)>,
}

impl LazyChunks {
    /// The URLs of the chunks `island` (its name in snake case) needs.
    fn of(&self, island: &str) -> &[String] {
        let loader = format!("{island}_loader_");
        self.chunks
            .iter()
            .find(|(name, _)| name.starts_with(&loader))
            .map_or(&[], |(_, urls)| urls.as_slice())
    }

    /// Reads the manifest in the site's package directory; none without `--split`.
    #[cfg(feature = "ssr")]
    fn read(options: &LeptosOptions) -> LazyChunks {
        let pkg = &options.site_pkg_dir;
        let dir = std::path::Path::new(&*options.site_root).join(&**pkg);
        let names: Vec<String> = std::fs::read_dir(&dir)
            .map(|entries| {
                let names = entries.filter_map(|entry| entry.ok()?.file_name().into_string().ok());
                names.collect()
            })
            .unwrap_or_default();
        let named = |prefix: &str, extension: &str| {
            names
                .iter()
                .find(|name| name.starts_with(prefix) && name.ends_with(extension))
        };
        let manifest = named("__wasm_split_manifest.", ".json")
            .and_then(|name| std::fs::read(dir.join(name)).ok())
            .and_then(|json| {
                serde_json::from_slice::<std::collections::BTreeMap<String, Vec<String>>>(&json)
                    .ok()
            })
            .unwrap_or_default();
        let url = |file: &str| pkg_url(options, file);
        LazyChunks {
            loader: named("__wasm_split.", ".js").map(|name| url(name)),
            chunks: manifest
                .into_iter()
                .map(|(loader, files)| {
                    let urls = files.iter().map(|file| url(&format!("{file}.wasm")));
                    (loader, urls.collect())
                })
                .collect(),
        }
    }

    #[cfg(not(feature = "ssr"))]
    fn read(_: &LeptosOptions) -> LazyChunks {
        LazyChunks::default()
    }
}

impl Bundle {
    fn of(options: &LeptosOptions) -> &'static Bundle {
        static BUNDLE: std::sync::OnceLock<Bundle> = std::sync::OnceLock::new();
        BUNDLE.get_or_init(|| {
            let hashes = if options.hash_files {
                read_hashes(options.hash_file.as_ref())
            } else {
                String::new()
            };
            let url = |kind: &str, extension: &str| {
                let hash = hashes.lines().find_map(|line| {
                    let (file, hash) = line.split_once(':')?;
                    (file.trim() == kind).then(|| hash.trim())
                });
                let name = &options.output_name;
                match hash {
                    Some(hash) => pkg_url(options, &format!("{name}.{hash}.{extension}")),
                    None => pkg_url(options, &format!("{name}.{extension}")),
                }
            };
            Bundle {
                css: url("css", "css"),
                js: url("js", "js"),
                wasm: url("wasm", "wasm"),
                lazy: LazyChunks::read(options),
            }
        })
    }
}

/// The URL of `file` in the site's package directory.
fn pkg_url(options: &LeptosOptions, file: &str) -> String {
    format!("/{}/{file}", options.site_pkg_dir)
}

/// `hash.txt` (`<kind>: <hash>` lines) beside the running binary; empty if absent.
fn read_hashes(file_name: &str) -> String {
    #[cfg(feature = "ssr")]
    {
        std::env::current_exe()
            .ok()
            .and_then(|exe| std::fs::read_to_string(exe.parent()?.join(file_name)).ok())
            .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = file_name;
        String::new()
    }
}

/// The stylesheet's URL, for pages rendered without Leptos (the sign-in page).
pub fn stylesheet_href(options: &LeptosOptions) -> &'static str {
    &Bundle::of(options).css
}

/// The stylesheet link.
#[component]
pub fn Stylesheet(options: LeptosOptions) -> impl IntoView {
    let href = Bundle::of(&options).css.clone();
    view! { <link rel="stylesheet" id="leptos" href=href/> }
}

/// Preloads the bundle and starts it: load the WebAssembly, then hydrate each
/// island (the interactive parts; the rest of the page stays as the server
/// sent it). Islands are never nested here, so one pass over them in document
/// order does. A `hydrating` event on the document comes first, for the
/// scripts that stand in until then (the list's early search): its `detail`
/// is a list they may add promises to, which hydration waits for (an answer
/// on its way, to be shown first). The script carries the response's CSP nonce.
///
/// The module holds the list's island and the theme switch: the list is the
/// page most used, and the one that must work soonest. Every other island is
/// `#[island(lazy)]`: `cargo leptos build --split` puts its code in chunks of
/// its own, which its hydration (awaited here) fetches first, so the list page
/// does not load the form's, the import's or the status page's code.
#[component]
pub fn BundleScripts(options: LeptosOptions) -> impl IntoView {
    // The server renders hydration markers only inside islands.
    if let Some(context) = Owner::current_shared_context() {
        context.set_is_hydrating(false);
    }
    let Bundle { js, wasm, .. } = Bundle::of(&options);
    let nonce = leptos::nonce::use_nonce().map(|nonce| nonce.to_string());
    let start = format!(
        "import({js:?}).then(async (bundle) => {{ \
         await bundle.default({{ module_or_path: {wasm:?} }}); \
         const waits = []; document.dispatchEvent(new CustomEvent('hydrating', {{ detail: waits }})); \
         await Promise.all(waits); bundle.hydrate(); \
         for (const island of document.querySelectorAll('leptos-island')) {{ \
         const hydrate = bundle[island.dataset.component]; if (hydrate) await hydrate(island); }} \
         document.documentElement.setAttribute('data-hydrated', ''); }});"
    );
    view! {
        <link rel="modulepreload" href=js.clone() crossorigin="anonymous"/>
        <link rel="preload" href=wasm.clone() r#as="fetch" r#type="application/wasm" crossorigin="anonymous"/>
        <script type="module" nonce=nonce>{start}</script>
    }
}

/// Where the page shows the lazy island `island` (its name in snake case):
/// fetches its chunks while the module comes, rather than once it has
/// hydrated. Server-rendered only; the site's options come from the shell.
#[component]
pub fn PreloadIsland(island: &'static str) -> impl IntoView {
    let options = use_context::<LeptosOptions>();
    let lazy = options.map(|options| &Bundle::of(&options).lazy);
    let chunks = lazy.map_or(&[][..], |lazy| lazy.of(island));
    let loader = lazy.and_then(|lazy| lazy.loader.clone());
    view! {
        {(!chunks.is_empty()).then(|| loader.map(|href| {
            view! { <link rel="modulepreload" href=href crossorigin="anonymous"/> }
        }))}
        {chunks.iter().map(|href| view! {
            <link rel="preload" href=href.clone() r#as="fetch" r#type="application/wasm" crossorigin="anonymous"/>
        }).collect_view()}
    }
}
