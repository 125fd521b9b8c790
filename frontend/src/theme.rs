//! Light and dark themes: the operating system's choice until the user picks one, which is
//! remembered in local storage and set as `data-theme` on the document.

const KEY: &str = "greenroom-theme";

fn root() -> Option<web_sys::Element> {
    web_sys::window()?.document()?.document_element()
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// Applies the theme the user chose earlier, if any.
pub fn apply_saved() {
    if let (Some(theme), Some(root)) = (storage().and_then(|s| s.get_item(KEY).ok()?), root()) {
        let _ = root.set_attribute("data-theme", &theme);
    }
}

/// Whether the dark theme is showing: chosen, or the system's preference.
pub fn is_dark() -> bool {
    match root().and_then(|r| r.get_attribute("data-theme")) {
        Some(theme) => theme == "dark",
        None => web_sys::window()
            .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok()?)
            .is_some_and(|m| m.matches()),
    }
}

/// Switches theme, remembers the choice, and returns whether it is now dark.
pub fn toggle() -> bool {
    let theme = if is_dark() { "light" } else { "dark" };
    if let Some(root) = root() {
        let _ = root.set_attribute("data-theme", theme);
    }
    if let Some(storage) = storage() {
        let _ = storage.set_item(KEY, theme);
    }
    theme == "dark"
}
