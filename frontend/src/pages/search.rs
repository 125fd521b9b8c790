//! `/search`: the catalog and the docs searched together (Backstage's search API), with
//! result type tabs and a kind filter counted by the facets endpoint, highlighted matches and
//! paging by cursor. Every bit of state lives in the URL, as in the catalog; the text box
//! updates it once the typing pauses.
//!
//! Also what the command palette and the header share: the API's URL, the page's URL, and a
//! result read into what is shown (its highlights split into text and `<mark>` elements,
//! never HTML).

use std::time::Duration;

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::params::ParamsMap;
use serde_json::Value;

use crate::api::{encode, get_json, text};

const PAGE_SIZE: u32 = 25;
/// How long the typing pauses before the URL (and so the results) follow it.
const TYPING_PAUSE: Duration = Duration::from_millis(200);
/// The longest unhighlighted text shown for a result.
const TEXT_LENGTH: usize = 240;

/// The document types the server searches, as `/api/search/types` lists them: the API's
/// name and the title shown.
pub type TypeTitles = Vec<(String, String)>;

/// The document types, fetched once for the whole portal (its [`provide_type_titles`]);
/// none (names shown as they are) if they cannot be.
#[derive(Clone, Copy)]
struct DocumentTypes(LocalResource<TypeTitles>);

/// Fetches the document types for every page and the palette below.
pub fn provide_type_titles() {
    provide_context(DocumentTypes(LocalResource::new(|| async {
        let listed = get_json::<Value>("/api/search/types")
            .await
            .unwrap_or_default();
        listed
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| (text(&t["type"]), text(&t["title"])))
            .collect()
    })));
}

/// The document types [`provide_type_titles`] fetched.
pub fn type_titles() -> LocalResource<TypeTitles> {
    expect_context::<DocumentTypes>().0
}

/// The search page's URL for some text.
pub fn page_url(query: &str) -> String {
    format!("/search?query={}", encode(query))
}

/// `GET /api/search/query`: `types[i]` and `filters[key]` as Backstage's search client
/// writes them.
pub fn query_url(
    term: &str,
    types: &[&str],
    filters: &[(&str, &str)],
    limit: u32,
    cursor: Option<&str>,
) -> String {
    let mut url = format!("/api/search/query?term={}", encode(term));
    for (i, kind) in types.iter().enumerate() {
        url.push_str(&format!("&types[{i}]={}", encode(kind)));
    }
    for (key, value) in filters {
        url.push_str(&format!("&filters[{key}]={}", encode(value)));
    }
    url.push_str(&format!("&pageLimit={limit}"));
    if let Some(cursor) = cursor {
        url.push_str(&format!("&pageCursor={}", encode(cursor)));
    }
    url
}

/// A piece of a field: marked (a match) or not, and its text.
pub type Segment = (bool, String);

/// A highlighted field split on the answer's tags into plain and marked text. Tags are only
/// ever separators: a stray or unclosed one never becomes markup.
pub fn segments(field: &str, pre: &str, post: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut push = |marked: bool, piece: &str| {
        let mut piece = piece.to_string();
        for tag in [pre, post].into_iter().filter(|t| !t.is_empty()) {
            piece = piece.replace(tag, "");
        }
        if !piece.is_empty() {
            out.push((marked, piece));
        }
    };
    if pre.is_empty() || post.is_empty() {
        push(false, field);
        return out;
    }
    let mut rest = field;
    while let Some(start) = rest.find(pre) {
        let after = &rest[start + pre.len()..];
        let Some(end) = after.find(post) else {
            break;
        };
        push(false, &rest[..start]);
        push(true, &after[..end]);
        rest = &after[end + post.len()..];
    }
    push(false, rest);
    out
}

/// Whether a result's location may be linked: a path on this site, or an http(s) URL.
/// Anything else (`javascript:`, `data:`, `//elsewhere`, control characters) is shown as
/// text.
pub fn is_linkable(location: &str) -> bool {
    if location.chars().any(char::is_control) {
        return false;
    }
    let lower = location.get(..8).unwrap_or(location).to_ascii_lowercase();
    is_site_path(location) || lower.starts_with("http://") || lower.starts_with("https://")
}

/// A path on this site (`/catalog/...`), opened by the router.
pub fn is_site_path(location: &str) -> bool {
    location.starts_with('/') && !location.starts_with("//") && !location.starts_with("/\\")
}

/// One result as shown.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub result_type: String,
    pub title: Vec<Segment>,
    pub text: Vec<Segment>,
    /// The location, when it may be linked.
    pub href: Option<String>,
    /// Kind, owner and lifecycle of a catalog result; the entity's title for a docs page.
    pub details: Vec<String>,
}

impl Hit {
    pub fn read(result: &Value) -> Self {
        let document = &result["document"];
        let highlight = &result["highlight"];
        let (pre, post) = (text(&highlight["preTag"]), text(&highlight["postTag"]));
        let field = |name: &str| match highlight["fields"][name].as_str() {
            Some(highlighted) => segments(highlighted, &pre, &post),
            None => segments(&text(&document[name]), "", ""),
        };
        let result_type = text(&result["type"]);
        let mut title = field("title");
        if title.is_empty() {
            title = segments(&text(&document["name"]), "", "");
        }
        // A docs section is titled by its heading: its page goes first.
        let page_title = text(&document["pageTitle"]);
        if !page_title.is_empty() && page_title != text(&document["title"]) {
            title.insert(0, (false, format!("{page_title} › ")));
        }
        let mut text_segments = field("text");
        if highlight["fields"]["text"].is_null() {
            text_segments = text_segments
                .into_iter()
                .map(|(marked, piece)| (marked, shortened(&piece)))
                .collect();
        }
        let location = text(&document["location"]);
        let details = match result_type.as_str() {
            "software-catalog" => ["kind", "owner", "lifecycle"]
                .iter()
                .map(|key| text(&document[*key]))
                .collect(),
            "techdocs" => vec![
                document["entityTitle"]
                    .as_str()
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .unwrap_or_else(|| text(&document["name"])),
            ],
            // A plugin's type: the entity the document is about, if any.
            _ => vec![text(&document["entityRef"])],
        };
        Hit {
            result_type,
            title,
            text: text_segments,
            href: is_linkable(&location).then_some(location),
            details: details.into_iter().filter(|d| !d.is_empty()).collect(),
        }
    }
}

/// The results of an answer.
pub fn hits(page: &Value) -> Vec<Hit> {
    page["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(Hit::read)
        .collect()
}

fn shortened(text: &str) -> String {
    match text.char_indices().nth(TEXT_LENGTH) {
        Some((end, _)) => format!("{}…", text[..end].trim_end()),
        None => text.to_string(),
    }
}

/// A result type's label: its title, else its name.
pub fn type_label(titles: &[(String, String)], result_type: &str) -> String {
    titles
        .iter()
        .find(|(t, _)| t == result_type)
        .map_or(result_type, |(_, title)| title)
        .to_string()
}

/// Segments as text nodes and `<mark>` elements.
pub fn marked(segments: Vec<Segment>) -> impl IntoView {
    segments
        .into_iter()
        .map(|(marked, piece)| {
            if marked {
                view! { <mark>{piece}</mark> }.into_any()
            } else {
                piece.into_any()
            }
        })
        .collect_view()
}

/// The search as the URL describes it.
#[derive(Clone, Debug, Default, PartialEq)]
struct Search {
    query: String,
    /// A result type (`software-catalog`, `techdocs`), or "" for all.
    result_type: String,
    /// A kind (`component`), or "" for all.
    kind: String,
    cursor: Option<String>,
}

impl Search {
    fn from_query(query: &ParamsMap) -> Self {
        Self {
            query: query.get("query").unwrap_or_default(),
            result_type: query.get("type").unwrap_or_default(),
            kind: query.get("kind").unwrap_or_default(),
            cursor: query.get("cursor").filter(|c| !c.is_empty()),
        }
    }

    fn url(&self) -> String {
        let mut url = page_url(&self.query);
        if !self.result_type.is_empty() {
            url.push_str(&format!("&type={}", encode(&self.result_type)));
        }
        if !self.kind.is_empty() {
            url.push_str(&format!("&kind={}", encode(&self.kind)));
        }
        if let Some(cursor) = &self.cursor {
            url.push_str(&format!("&cursor={}", encode(cursor)));
        }
        url
    }

    fn api_url(&self) -> String {
        let types: Vec<&str> = [self.result_type.as_str()]
            .into_iter()
            .filter(|t| !t.is_empty())
            .collect();
        let filters: Vec<(&str, &str)> = [("kind", self.kind.as_str())]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect();
        query_url(
            &self.query,
            &types,
            &filters,
            PAGE_SIZE,
            self.cursor.as_deref(),
        )
    }

    /// The same search with one setting changed and paging restarted.
    fn with(&self, change: impl FnOnce(&mut Search)) -> Search {
        let mut next = self.clone();
        next.cursor = None;
        change(&mut next);
        next
    }
}

#[component]
pub fn SearchPage() -> impl IntoView {
    let query = use_query_map();
    let search = Memo::new(move |_| Search::from_query(&query.read()));
    let current = move || search.get();
    let term = Memo::new(move |_| search.with(|s| s.query.clone()));
    let results = LocalResource::new(move || {
        let url = search.with(Search::api_url);
        async move { get_json::<Value>(&url).await }
    });
    let facets = LocalResource::new(move || {
        let url = format!("/api/search/facets?term={}", encode(&term.get()));
        async move { get_json::<Value>(&url).await }
    });
    let navigate = use_navigate();
    let go = Callback::new(move |next: Search| navigate(&next.url(), Default::default()));

    // The text box follows the URL when it changes by other means (the header, going back),
    // but not when it only caught up with what was typed.
    let shown = RwSignal::new(String::new());
    let pushed = StoredValue::new(None::<String>);
    let pause = StoredValue::new(None::<TimeoutHandle>);
    let cancel_pause = move || {
        if let Some(Some(handle)) = pause.try_get_value() {
            handle.clear();
        }
    };
    Effect::new(move || {
        let query = term.get();
        if pushed.get_value().as_deref() == Some(query.as_str()) {
            pushed.set_value(None);
        } else {
            cancel_pause();
            shown.set(query);
        }
    });
    let navigate = use_navigate();
    let follow = move |typed: String| {
        cancel_pause();
        let Some(current) = search.try_get_untracked() else {
            return;
        };
        if current.query == typed {
            return;
        }
        pushed.set_value(Some(typed.clone()));
        let next = current.with(|s| s.query = typed);
        navigate(
            &next.url(),
            NavigateOptions {
                replace: true,
                ..Default::default()
            },
        );
    };
    let typing = follow.clone();
    let on_input = move |ev: leptos::ev::Event| {
        let typed = event_target_value(&ev);
        cancel_pause();
        let follow = typing.clone();
        let handle = set_timeout_with_handle(move || follow(typed), TYPING_PAUSE).ok();
        pause.set_value(handle);
    };
    let on_enter = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" {
            follow(event_target_value(&ev));
        }
    };
    // Leaving the page before the typing pauses does not bring it back.
    on_cleanup(cancel_pause);

    // A type's count, or every type's for "All".
    let count = move |value: &str| {
        facets.get().and_then(|f| f.ok()).map(|f| match value {
            "" => f["types"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(_, n)| n.as_u64().unwrap_or_default())
                .sum(),
            _ => f["types"][value].as_u64().unwrap_or_default(),
        })
    };
    let tab = move |value: String, label: String| {
        let active = {
            let value = value.clone();
            move || current().result_type == value
        };
        let choose = {
            let value = value.clone();
            move |_| go.run(current().with(|s| s.result_type = value.clone()))
        };
        let counted = value.clone();
        view! {
            <button type="button" class="search-type" data-type=value class:active=active.clone()
                aria-pressed=move || active().to_string()
                on:click=choose>
                {label}
                {move || count(&counted).map(|n| view! { " "<span class="count">{n}</span> })}
            </button>
        }
    };
    let titles = type_titles();
    let kind_options = move || {
        let chosen = current().kind;
        let mut kinds: Vec<(String, u64)> = match facets.get() {
            Some(Ok(f)) => f["kinds"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(kind, n)| (kind.clone(), n.as_u64().unwrap_or_default()))
                .collect(),
            _ => vec![],
        };
        kinds.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        if !chosen.is_empty() && !kinds.iter().any(|(k, _)| *k == chosen) {
            kinds.push((chosen.clone(), 0));
        }
        kinds
            .into_iter()
            .map(|(kind, n)| {
                let selected = kind == chosen;
                view! { <option value=kind.clone() selected=selected>{format!("{kind} ({n})")}</option> }
            })
            .collect_view()
    };
    view! {
        <div class="search-page" id="search-page">
            <h1>"Search"</h1>
            <p class="subtitle">"The catalog (names, titles, descriptions, tags, owners) and every docs page."</p>
            <input type="search" id="search-input" placeholder="Search…"
                autocomplete="off" aria-label="Search" prop:value=move || shown.get()
                on:input=on_input on:keydown=on_enter/>
            <div class="search-filters">
                <div class="search-types" id="search-types" role="group" aria-label="Result type">
                    {tab(String::new(), "All".into())}
                    // The types the server searches, as its registry lists them.
                    {move || titles.get().unwrap_or_default().into_iter()
                        .map(|(value, title)| tab(value, title))
                        .collect_view()}
                </div>
                <label class="search-kind">"Kind"
                    <select id="search-kind" prop:value=move || current().kind
                        on:change=move |ev| { let kind = event_target_value(&ev); go.run(current().with(|s| s.kind = kind)) }>
                        <option value="" selected=move || current().kind.is_empty()>"All kinds"</option>
                        {kind_options}
                    </select>
                </label>
                {move || facets.get().and_then(|f| f.err()).map(|message| view! { <div class="error small">{message}</div> })}
            </div>
            <Transition fallback=|| view! { <p class="loading">"Searching…"</p> }>
                {move || results.get().map(|result| match result {
                    Err(message) => view! { <div class="error" id="search-error">{message}</div> }.into_any(),
                    Ok(page) => results_view(&page, current(), go, &titles.get().unwrap_or_default()).into_any(),
                })}
            </Transition>
        </div>
    }
}

fn results_view(
    page: &Value,
    current: Search,
    go: Callback<Search>,
    titles: &[(String, String)],
) -> impl IntoView + use<> {
    let found = hits(page);
    let total = page["numberOfResults"]
        .as_u64()
        .unwrap_or(found.len() as u64);
    let next = page["nextPageCursor"].as_str().map(str::to_string);
    let prev = page["previousPageCursor"].as_str().map(str::to_string);
    let empty = found.is_empty().then(|| {
        let message = if current.query.trim().is_empty() {
            "No results.".to_string()
        } else {
            format!("No results for “{}”.", current.query)
        };
        view! { <p class="empty" id="search-empty">{message}</p> }
    });
    let items = found
        .into_iter()
        .map(|hit| {
            let label = type_label(titles, &hit.result_type);
            result_item(hit, label)
        })
        .collect_view();
    let page_to = move |cursor: Option<String>| {
        let next = current.with(|s| s.cursor = cursor.clone());
        move |_| go.run(next.clone())
    };
    view! {
        <p class="search-summary muted">
            <span id="search-total">{format!("{total} result{}", if total == 1 { "" } else { "s" })}</span>
        </p>
        <ul class="search-results" id="search-results">{items}</ul>
        {empty}
        <div class="pager">
            <button id="search-prev" disabled=prev.is_none() on:click=page_to(prev.clone())>"Previous"</button>
            <button id="search-next" disabled=next.is_none() on:click=page_to(next.clone())>"Next"</button>
        </div>
    }
}

fn result_item(hit: Hit, label: String) -> impl IntoView {
    let badge = if hit.result_type == "techdocs" {
        "badge info"
    } else {
        "badge"
    };
    let title = match hit.href {
        Some(href) => {
            // Another site's page is not told where the reader came from.
            let rel = (!is_site_path(&href)).then_some("noopener noreferrer");
            view! { <a class="result-title" href=href rel=rel>{marked(hit.title)}</a> }.into_any()
        }
        None => view! { <span class="result-title">{marked(hit.title)}</span> }.into_any(),
    };
    let details = hit
        .details
        .into_iter()
        .enumerate()
        .map(|(i, detail)| view! { {(i > 0).then_some(" · ")}<span>{detail}</span> })
        .collect_view();
    view! {
        <li class="search-result" data-type=hit.result_type>
            <div class="result-heading">{title}" "<span class=badge>{label}</span></div>
            <p class="result-text">{marked(hit.text)}</p>
            <p class="result-meta muted">{details}</p>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn highlights_split_into_plain_and_marked_text() {
        let pre = "<a1b2>";
        let post = "</a1b2>";
        assert_eq!(
            segments("<a1b2>Check</a1b2>out <a1b2>Serv</a1b2>ice", pre, post),
            vec![
                (true, "Check".to_string()),
                (false, "out ".to_string()),
                (true, "Serv".to_string()),
                (false, "ice".to_string()),
            ]
        );
        // Markup in the text stays text; unclosed or stray tags vanish.
        assert_eq!(
            segments("<img src=x> <a1b2>a", pre, post),
            vec![(false, "<img src=x> a".to_string())]
        );
        assert_eq!(
            segments("a</a1b2>b", pre, post),
            vec![(false, "ab".to_string())]
        );
        assert_eq!(
            segments("plain", "", ""),
            vec![(false, "plain".to_string())]
        );
    }

    #[test]
    fn only_site_paths_and_http_links() {
        assert!(is_linkable("/catalog/default/component/checkout"));
        assert!(is_linkable("https://example.com/x"));
        assert!(is_linkable("HTTP://example.com"));
        assert!(!is_linkable("javascript:alert(1)"));
        assert!(!is_linkable(" javascript:alert(1)"));
        assert!(!is_linkable("data:text/html,x"));
        assert!(!is_linkable("//evil.example"));
        assert!(!is_linkable("/\\evil.example"));
        assert!(!is_linkable("/\tjavascript:x"));
        assert!(!is_linkable(""));
    }

    #[test]
    fn reads_a_result() {
        let hit = Hit::read(&json!({
            "type": "software-catalog",
            "document": {"title": "Checkout Service", "text": "Takes payment.", "location": "/catalog/default/component/checkout",
                "kind": "Component", "owner": "group:default/payments", "lifecycle": "production"},
            "highlight": {"preTag": "<x>", "postTag": "</x>", "fields": {"title": "<x>Checkout</x> Service"}},
        }));
        assert_eq!(
            hit.title,
            vec![(true, "Checkout".into()), (false, " Service".into())]
        );
        assert_eq!(hit.text, vec![(false, "Takes payment.".into())]);
        assert_eq!(
            hit.href.as_deref(),
            Some("/catalog/default/component/checkout")
        );
        assert_eq!(
            hit.details,
            ["Component", "group:default/payments", "production"]
        );
        let unsafe_link = Hit::read(
            &json!({"type": "techdocs", "document": {"title": "T", "location": "javascript:x", "name": "checkout"}}),
        );
        assert_eq!(unsafe_link.href, None);
        assert_eq!(unsafe_link.details, ["checkout"]);
        // A docs section shows its page before its heading; a page's opening does not.
        let section = |title: &str| {
            Hit::read(&json!({"type": "techdocs", "document": {"title": title, "pageTitle": "Setting up", "location": "/docs/default/component/shop/setup/#install"},
                "highlight": {"preTag": "<m>", "postTag": "</m>", "fields": {"title": format!("<m>{title}</m>")}}}))
            .title
        };
        assert_eq!(
            section("Install"),
            vec![(false, "Setting up › ".into()), (true, "Install".into())]
        );
        assert_eq!(section("Setting up"), vec![(true, "Setting up".into())]);
    }

    #[test]
    fn urls() {
        assert_eq!(
            query_url(
                "a b",
                &["techdocs"],
                &[("kind", "component")],
                8,
                Some("c/d")
            ),
            "/api/search/query?term=a%20b&types[0]=techdocs&filters[kind]=component&pageLimit=8&pageCursor=c%2Fd"
        );
        let search = Search {
            query: "x".into(),
            kind: "api".into(),
            ..Default::default()
        };
        assert_eq!(search.url(), "/search?query=x&kind=api");
        assert_eq!(
            search.api_url(),
            "/api/search/query?term=x&filters[kind]=api&pageLimit=25"
        );
    }
}
